"""Waiting for a condition in compat tests (see tests.polling)."""

from __future__ import annotations

from tests import polling


def poll(predicate, timeout: float = 15.0, interval: float = 0.05):
    return polling.wait_for(predicate, timeout, interval)
