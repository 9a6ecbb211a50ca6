"""The user's terminal during an interactive session: raw mode, size, and signals.

Raw mode is what docker sets (Go's term.MakeRaw, i.e. cfmakeraw): no echo, no line editing, no
signal keys, no output post-processing, so every keystroke — Ctrl-C included — goes to the
container's pty, whose own line discipline does the work. The terminal must be restored however
the session ends; `RawTerminal` is a context manager for that.

`SignalPipe` turns signals into readable bytes on a pipe (``signal.set_wakeup_fd``), so a `select`
loop can handle SIGWINCH and forwarded signals between reads instead of inside a handler. It uses
`_signal` rather than `signal` to keep `enum` out of the CLI's start-up.
"""

from __future__ import annotations

import os

import _signal

# Signals docker's sig-proxy forwards that matter in practice; SIGCHLD, SIGPIPE and SIGURG are
# never forwarded, and SIGWINCH is handled as a resize.
PROXIED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


def terminal_size(fd: int) -> tuple[int, int]:
    """``(height, width)`` of the terminal on ``fd``; (0, 0) when it is not a terminal."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return 0, 0
    return size.lines, size.columns


class RawTerminal:
    """``with RawTerminal(fd): …`` puts a terminal in raw mode and always restores it.
    Does nothing when ``fd`` is not a terminal."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.saved = None

    def __enter__(self) -> "RawTerminal":
        if not os.isatty(self.fd):
            return self
        import termios
        self.saved = termios.tcgetattr(self.fd)
        attrs = list(self.saved)
        iflag, oflag, cflag, lflag = attrs[0], attrs[1], attrs[2], attrs[3]
        iflag &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP
                   | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON)
        oflag &= ~termios.OPOST
        lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
        cflag = (cflag & ~(termios.CSIZE | termios.PARENB)) | termios.CS8
        attrs[0:4] = [iflag, oflag, cflag, lflag]
        cc = list(attrs[6])
        cc[termios.VMIN], cc[termios.VTIME] = 1, 0
        attrs[6] = cc
        termios.tcsetattr(self.fd, termios.TCSAFLUSH, attrs)
        return self

    def restore(self) -> None:
        if self.saved is not None:
            import termios
            termios.tcsetattr(self.fd, termios.TCSAFLUSH, self.saved)
            self.saved = None

    def __exit__(self, *exc) -> None:
        self.restore()


class SignalPipe:
    """Catch the named signals and report them as bytes on ``fd`` (one byte per signal, its
    number). Read them with `pending`; `close` restores the previous handlers."""

    def __init__(self, names) -> None:
        self.rfd, self.wfd = os.pipe()
        os.set_blocking(self.rfd, False)
        os.set_blocking(self.wfd, False)
        self.previous_fd = _signal.set_wakeup_fd(self.wfd, warn_on_full_buffer=False)
        self.previous = {}
        for name in names:
            signum = getattr(_signal, name, None)
            if signum is None:
                continue
            # A Python-level handler is what makes the interpreter write to the wake-up fd.
            self.previous[signum] = _signal.signal(signum, _ignore)

    @property
    def fd(self) -> int:
        return self.rfd

    def pending(self) -> list[int]:
        """The signals received since the last call, in order."""
        got = []
        while True:
            try:
                data = os.read(self.rfd, 256)
            except (BlockingIOError, InterruptedError):
                break
            if not data:
                break
            got.extend(data)
        return got

    def close(self) -> None:
        for signum, handler in self.previous.items():
            _signal.signal(signum, handler)
        _signal.set_wakeup_fd(self.previous_fd)
        os.close(self.rfd)
        os.close(self.wfd)


def _ignore(signum, frame) -> None:
    return None


def signal_name(signum: int) -> str:
    """``2`` -> ``"INT"``, the form the kill endpoint takes."""
    for name in dir(_signal):
        if name.startswith("SIG") and not name.startswith("SIG_") and getattr(_signal, name) == signum:
            if name in ("SIGIOT", "SIGPOLL", "SIGCLD"):  # prefer the common aliases
                continue
            return name[3:]
    return str(signum)
