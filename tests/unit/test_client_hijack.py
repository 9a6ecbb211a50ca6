"""The attach/exec byte pump over a real socket pair: demultiplexing, stdin forwarding with
half-close, raw TTY output, detach keys, in-stream daemon errors and the wake-up fd."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from hako.client.detach import Detached, EscapeMatcher
from hako.client.hijack import StreamError, pump
from hako.client.mux import frame


class Files:
    def __init__(self, tmp_path):
        self.out_path, self.err_path = tmp_path / "out", tmp_path / "err"
        self.out = os.open(self.out_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
        self.err = os.open(self.err_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC)

    def read(self):
        os.close(self.out)
        os.close(self.err)
        return self.out_path.read_bytes(), self.err_path.read_bytes()


def serve(sock, script):
    t = threading.Thread(target=script, args=(sock,), daemon=True)
    t.start()
    return t


def test_demultiplexes_to_stdout_and_stderr_and_half_closes_without_stdin(tmp_path):
    ours, theirs = socket.socketpair()
    seen = {}

    def daemon(s):
        seen["stdin"] = s.recv(10)  # b"" at once: the client shut down its write side
        s.sendall(frame(1, b"out\n") + frame(2, b"err\n")[:5])
        s.sendall(frame(2, b"err\n")[5:] + frame(1, b"end\n"))
        s.close()

    t = serve(theirs, daemon)
    files = Files(tmp_path)
    pump(ours, frame(1, b"early\n"), out_fd=files.out, err_fd=files.err, tty=False)
    t.join(5)
    assert seen["stdin"] == b""
    assert files.read() == (b"early\nout\nend\n", b"err\n")


def test_stdin_is_forwarded_then_eof_and_output_is_read_to_the_end(tmp_path):
    ours, theirs = socket.socketpair()
    stdin_path = tmp_path / "stdin"
    stdin_path.write_bytes(b"x" * 300000)  # more than a socket buffer

    def daemon(s):
        received = b""
        while True:
            data = s.recv(65536)
            if not data:
                break
            received += data
        # output after the client's EOF must still arrive (docker-api-notes.md section 3)
        s.sendall(frame(1, b"%d bytes\n" % len(received)))
        s.close()

    t = serve(theirs, daemon)
    files = Files(tmp_path)
    stdin_fd = os.open(stdin_path, os.O_RDONLY)
    try:
        pump(ours, b"", out_fd=files.out, err_fd=files.err, tty=False, stdin_fd=stdin_fd)
    finally:
        os.close(stdin_fd)
    t.join(5)
    assert files.read() == (b"300000 bytes\n", b"")


def test_tty_output_is_raw(tmp_path):
    ours, theirs = socket.socketpair()

    def daemon(s):
        s.sendall(b"\x01\0\0\0 not a frame\r\n")
        s.close()

    serve(theirs, daemon)
    files = Files(tmp_path)
    pump(ours, b"", out_fd=files.out, err_fd=files.err, tty=True)
    assert files.read() == (b"\x01\0\0\0 not a frame\r\n", b"")


def test_detach_keys_end_the_pump_without_sending_them(tmp_path):
    ours, theirs = socket.socketpair()
    got = []
    t = serve(theirs, lambda s: got.append(s.recv(100)))
    files = Files(tmp_path)
    reader, writer = os.pipe()

    def keystrokes():  # one read per key, as from a terminal in raw mode
        for key in (b"ls\r", b"\x10", b"\x11"):
            os.write(writer, key)
            threading.Event().wait(0.05)

    threading.Thread(target=keystrokes, daemon=True).start()
    try:
        with pytest.raises(Detached):
            pump(ours, b"", out_fd=files.out, err_fd=files.err, tty=True, stdin_fd=reader,
                 escape=EscapeMatcher(b"\x10\x11"))
    finally:
        ours.close()
        os.close(reader)
        os.close(writer)
    t.join(5)
    assert got == [b"ls\r"]
    files.read()


def test_system_error_frame_raises(tmp_path):
    ours, theirs = socket.socketpair()

    def daemon(s):
        s.sendall(frame(1, b"partial\n") + frame(3, b"container died"))
        s.close()

    serve(theirs, daemon)
    files = Files(tmp_path)
    with pytest.raises(StreamError, match="error from daemon in stream: container died"):
        pump(ours, b"", out_fd=files.out, err_fd=files.err, tty=False)
    assert files.read() == (b"partial\n", b"")


def test_wakeup_fd_calls_back_between_reads(tmp_path):
    ours, theirs = socket.socketpair()
    r, w = os.pipe()
    calls = []
    done = threading.Event()

    def on_wakeup():
        calls.append(os.read(r, 10))
        done.set()

    def daemon(s):
        os.write(w, b"\x1c")  # as a SIGWINCH would through set_wakeup_fd
        done.wait(5)
        s.sendall(b"after\n")
        s.close()

    serve(theirs, daemon)
    files = Files(tmp_path)
    pump(ours, b"", out_fd=files.out, err_fd=files.err, tty=True, wakeup_fd=r, on_wakeup=on_wakeup)
    assert calls == [b"\x1c"]
    assert files.read() == (b"after\n", b"")
    os.close(r)
    os.close(w)
