"""The local terminal during interactive sessions, on a real pseudo-terminal: raw mode and its
restoration, the size docker sends in resize calls, and signals turned into readable bytes."""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import termios

import pytest

from hako.cli.terminal import RawTerminal, SignalPipe, signal_name, terminal_size


@pytest.fixture
def pty_pair():
    master, slave = pty.openpty()
    yield master, slave
    os.close(master)
    os.close(slave)


def test_raw_mode_is_set_and_always_restored(pty_pair):
    _, slave = pty_pair
    before = termios.tcgetattr(slave)
    with pytest.raises(RuntimeError):
        with RawTerminal(slave):
            lflag = termios.tcgetattr(slave)[3]
            assert not lflag & (termios.ECHO | termios.ICANON | termios.ISIG)
            assert not termios.tcgetattr(slave)[1] & termios.OPOST
            raise RuntimeError("session ended badly")
    assert termios.tcgetattr(slave) == before


def test_raw_mode_is_a_no_op_off_a_terminal(tmp_path):
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        with RawTerminal(fd) as raw:
            assert raw.saved is None
    finally:
        os.close(fd)


def test_terminal_size(pty_pair, tmp_path):
    _, slave = pty_pair
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    assert terminal_size(slave) == (40, 120)
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        assert terminal_size(fd) == (0, 0)
    finally:
        os.close(fd)


def test_signal_pipe_reports_signals_and_restores_handlers():
    previous = signal.getsignal(signal.SIGUSR1)
    pipe = SignalPipe(["SIGUSR1", "SIGWINCH"])
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGWINCH)
        assert pipe.pending() == [signal.SIGUSR1, signal.SIGWINCH]
        assert pipe.pending() == []
    finally:
        pipe.close()
    assert signal.getsignal(signal.SIGUSR1) == previous


def test_signal_names_are_what_the_kill_endpoint_takes():
    assert [signal_name(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGWINCH, signal.SIGABRT)] == \
        ["INT", "TERM", "WINCH", "ABRT"]
