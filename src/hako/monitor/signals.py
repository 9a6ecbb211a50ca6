"""How the monitor receives signals: through a wakeup pipe its selector loop watches.

SIGCHLD (a process to reap) wakes the loop. TERM, INT, HUP and PIPE must not end the monitor,
but they must not be *ignored* either, for the sake of the container's process (see `install`).
"""

from __future__ import annotations

import os
import signal


def install() -> int:
    """Install the monitor's handlers; returns the read end of the wakeup pipe, which becomes
    readable whenever a signal arrives (signal.set_wakeup_fd)."""
    rfd, wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wfd)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    # The monitor must survive TERM, INT, HUP and PIPE, but it must not *ignore* them: an
    # ignored signal stays ignored across execve (signal(7)), so the container's process
    # would inherit it, and a shell cannot even trap a signal ignored at entry (POSIX) -
    # `docker stop` would never reach it. A caught signal is reset to its default by execve,
    # so a no-op handler protects the monitor and leaves the container Docker's defaults.
    # The same goes for whatever Python or our launcher left ignored (SIGPIPE, SIGXFSZ,
    # SIGQUIT from a background shell).
    for sig in _ignorable_signals():
        if sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE) \
                or signal.getsignal(sig) == signal.SIG_IGN:
            signal.signal(sig, _ignore)
    return rfd


def _ignore(_signum, _frame) -> None:
    """A handler that does nothing: the signal is caught, so execve resets it to its default."""


def _ignorable_signals() -> list[int]:
    """Every signal a handler may be installed for: all but KILL and STOP (valid_signals() already
    leaves out the real-time signals glibc keeps for itself)."""
    return sorted(int(s) for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP))
