"""Waiting for a condition in compat tests: poll with a deadline, never a fixed sleep."""

from __future__ import annotations

import time


def poll(predicate, timeout: float = 15.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)
