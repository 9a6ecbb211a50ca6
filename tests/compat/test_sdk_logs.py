"""Logs and attach through the docker SDK against hakod: the stdout/stderr split of the
multiplexed stream, follow, timestamps, tail, since/until, and a hijacked attach with stdin."""

from __future__ import annotations

import datetime
import math
import re
import socket
import struct
import time

import pytest

from tests.conftest import needs_root
from tests.compat.polling import poll

pytestmark = needs_root

RFC3339_NANO = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z ")


def finished(client, command, **kwargs):
    container = client.containers.run("busybox", command, detach=True, **kwargs)
    assert container.wait(timeout=15)["StatusCode"] == 0
    return container


def read_frames(sock: socket.socket, until: bytes, timeout: float = 10.0) -> dict[int, bytes]:
    """Read Docker's multiplexed frames (1 byte stream, 3 zero bytes, 4 bytes big-endian length)
    until ``until`` has appeared on stdout or the stream ends."""
    sock.settimeout(timeout)
    buffer, out = b"", {1: b"", 2: b""}
    deadline = time.monotonic() + timeout
    while until not in out[1] and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buffer += chunk
        while len(buffer) >= 8:
            kind, size = struct.unpack(">BxxxL", buffer[:8])
            if len(buffer) < 8 + size:
                break
            out[kind] += buffer[8:8 + size]
            buffer = buffer[8 + size:]
    return out


# --- logs -------------------------------------------------------------------------------------

def test_logs_split_stdout_and_stderr(hakod):
    client = hakod.sdk()
    container = finished(client, ["sh", "-c", "echo o1; echo e1 >&2; echo o2; echo e2 >&2"])
    assert container.logs(stdout=True, stderr=False) == b"o1\no2\n"
    assert container.logs(stdout=False, stderr=True) == b"e1\ne2\n"
    both = container.logs()
    assert sorted(both.splitlines()) == [b"e1", b"e2", b"o1", b"o2"]


def test_logs_without_a_trailing_newline_and_binary_bytes(hakod):
    """As Docker's json-file driver does: the last partial line gets its newline, and bytes that
    are not UTF-8 become U+FFFD (log lines are JSON strings)."""
    client = hakod.sdk()
    container = finished(client, ["printf", "no-newline\\001\\377"])
    assert container.logs() == b"no-newline\x01\xef\xbf\xbd\n"


def test_large_output_survives_the_framing(hakod):
    client = hakod.sdk()
    container = finished(client, ["seq", "1", "50000"])
    expected = b"".join(b"%d\n" % i for i in range(1, 50001))
    assert container.logs() == expected
    assert b"".join(container.logs(stream=True)) == expected


def test_logs_of_a_tty_container_are_raw(hakod):
    client = hakod.sdk()
    container = finished(client, ["sh", "-c", "echo out; echo err >&2"], tty=True)
    # One stream, no frames; the terminal turns \n into \r\n as a real one does.
    assert container.logs() == b"out\r\nerr\r\n"


def test_logs_tail(hakod):
    client = hakod.sdk()
    container = finished(client, ["seq", "1", "10"])
    assert container.logs(tail=3) == b"8\n9\n10\n"
    assert container.logs(tail=0) == b""
    assert container.logs(tail="all") == b"".join(b"%d\n" % i for i in range(1, 11))


def test_logs_timestamps(hakod):
    client = hakod.sdk()
    before = datetime.datetime.now(datetime.timezone.utc)
    container = finished(client, ["sh", "-c", "echo one; echo two"])
    lines = container.logs(timestamps=True).splitlines()
    assert len(lines) == 2
    for line, text in zip(lines, (b"one", b"two")):
        assert RFC3339_NANO.match(line), line
        stamp, _, rest = line.partition(b" ")
        assert rest == text
        when = datetime.datetime.fromisoformat(stamp.decode()[:26].rstrip("Z") + "+00:00")
        assert abs((when - before).total_seconds()) < 60


def stamp_seconds(line: bytes) -> float:
    """Unix seconds of a log line's RFC 3339 timestamp (microseconds are precise enough here)."""
    stamp = line.split(b" ")[0].decode()
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    when = datetime.datetime.fromisoformat(whole + "+00:00")
    return when.timestamp() + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


def test_logs_since_and_until(hakod):
    client = hakod.sdk()
    container = finished(client, ["sh", "-c", "echo early; sleep 1.1; echo late"])
    early, late = (stamp_seconds(line) for line in container.logs(timestamps=True).splitlines())
    assert late - early >= 1.0
    between = (early + late) / 2
    # Floats go on the wire as fractional unix seconds; since is inclusive, until exclusive-ish.
    assert container.logs(since=between) == b"late\n"
    assert container.logs(until=between) == b"early\n"
    # A float unix time keeps only ~0.1 µs at today's magnitude, so "since exactly late" may round
    # past it; a millisecond before is still a second after `early`.
    assert container.logs(since=late - 0.001) == b"late\n"
    # The SDK sends a datetime as whole seconds: pick a whole second between the two lines.
    whole = math.ceil(early)
    assert early < whole < late
    assert container.logs(since=datetime.datetime.fromtimestamp(whole, datetime.timezone.utc)) == b"late\n"
    assert container.logs(since=int(time.time()) + 3600) == b""


def test_logs_follow_streams_until_the_container_exits(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sh", "-c", "for i in 1 2 3 4 5; do echo line$i; sleep 0.1; done"],
                                      detach=True)
    received = b"".join(container.logs(stream=True, follow=True))
    assert received == b"".join(b"line%d\n" % i for i in range(1, 6))
    container.reload()
    assert container.status == "exited"


def test_logs_follow_delivers_lines_as_they_are_written(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sh", "-c", "echo first; sleep 30"], detach=True)
    stream = container.logs(stream=True, follow=True)
    assert next(stream) == b"first\n"      # arrives while the container still runs
    container.exec_run(["sh", "-c", "echo second > /proc/1/fd/1"])
    assert next(stream) == b"second\n"
    container.kill()
    assert list(stream) == []


def test_logs_follow_with_tail_skips_the_backlog(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sh", "-c", "seq 1 5; sleep 30"], detach=True)
    poll(lambda: container.logs().endswith(b"5\n"))
    stream = container.logs(stream=True, follow=True, tail=1)
    assert next(stream) == b"5\n"
    container.exec_run(["sh", "-c", "echo 6 > /proc/1/fd/1"])
    assert next(stream) == b"6\n"
    container.kill()


# --- attach ----------------------------------------------------------------------------------

def test_attach_stream_gets_the_output_as_it_comes(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sh", "-c", "read go; echo out; echo err >&2"],
                                      detach=True, stdin_open=True)
    stream = container.attach(stdout=True, stderr=True, stream=True, logs=True)
    sock = container.attach_socket(params={"stdin": 1, "stream": 1})
    sock._sock.sendall(b"go\n")
    received = b"".join(stream)
    sock._sock.close()
    assert sorted(received.splitlines()) == [b"err", b"out"]


def raw_attach(hakod, container_id: str, query: str) -> tuple[bytes, bytes]:
    """POST /attach by hand, reading the 101 head and the stream from one buffer, as the docker
    CLI does (Go's bufio keeps bytes that came with the head); returns (head, stream)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(hakod.socket)
    try:
        sock.sendall(f"POST /v1.44/containers/{container_id}/attach?{query} HTTP/1.1\r\nHost: docker\r\n"
                     "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    head, _, stream = data.partition(b"\r\n\r\n")
    return head, stream


def demux(stream: bytes) -> dict[int, bytes]:
    out = {1: b"", 2: b""}
    while stream:
        kind, size = struct.unpack(">BxxxL", stream[:8])
        out[kind] += stream[8:8 + size]
        stream = stream[8 + size:]
    return out


def test_attach_with_logs_to_an_exited_container_replays_them(hakod):
    client = hakod.sdk()
    container = finished(client, ["sh", "-c", "echo out; echo err >&2"])
    head, stream = raw_attach(hakod, container.id, "logs=1&stream=0&stdout=1&stderr=1")
    assert head.startswith(b"HTTP/1.1 101")
    assert b"application/vnd.docker.multiplexed-stream" in head
    assert demux(stream) == {1: b"out\n", 2: b"err\n"}
    assert demux(raw_attach(hakod, container.id, "logs=1&stream=0&stderr=1")[1]) == {1: b"", 2: b"err\n"}


@pytest.mark.xfail(reason=(
    "a docker SDK race that hakod makes likely: the SDK parses the 101 head through http.client's "
    "buffered reader, then reads the stream from the raw socket (docker-py issues #2042/#3332), so frames "
    "that arrive in the same recv() as the head are lost. api/container_streams.py attach() writes the log replay "
    "right after the head, so attach(logs=True) of an exited container returns b'' about half the time; "
    "dockerd's replay comes later (separate goroutines), which mostly hides the race"), strict=False)
def test_sdk_attach_with_logs_is_reliable(hakod):
    client = hakod.sdk()
    container = finished(client, ["sh", "-c", "echo out; echo err >&2"])
    results = [container.attach(stdout=True, stderr=True, logs=True, stream=False) for _ in range(10)]
    assert results == [b"out\nerr\n"] * 10


def test_attach_socket_sends_stdin_and_reads_split_output(hakod):
    client = hakod.sdk()
    container = client.containers.run(
        "busybox", ["sh", "-c", "while read line; do echo \"out:$line\"; echo \"err:$line\" >&2; done; echo bye"],
        detach=True, stdin_open=True)
    sock = container.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
    raw = sock._sock
    try:
        raw.sendall(b"hello\n")
        out = read_frames(raw, b"out:hello\n")
        assert out[1] == b"out:hello\n"
        raw.sendall(b"again\n")
        out = read_frames(raw, b"out:again\n")
        assert out[1] == b"out:again\n"
    finally:
        raw.close()
    # stdin stays open without stdin_once: the container still runs after the client leaves
    container.reload()
    assert container.status == "running"
    assert container.logs(stdout=False, stderr=True) == b"err:hello\nerr:again\n"


def test_attach_stdin_eof_ends_a_stdin_once_container(hakod):
    client = hakod.sdk()
    # The SDK cannot set StdinOnce (docker run -i sets it when attaching stdin): create it raw.
    created = hakod.api("POST", "/containers/create", {"Image": "busybox", "Cmd": ["cat"], "OpenStdin": True,
                                                        "StdinOnce": True, "AttachStdin": True})
    assert created.status == 201, created.body
    container = client.containers.get(created.json()["Id"])
    sock = container.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
    raw = sock._sock
    try:
        container.start()
        raw.sendall(b"echoed back\n")
        assert read_frames(raw, b"echoed back\n")[1] == b"echoed back\n"
        raw.shutdown(socket.SHUT_WR)
        assert container.wait(timeout=15)["StatusCode"] == 0
    finally:
        raw.close()
    assert container.logs() == b"echoed back\n"


def test_attach_tty_is_a_raw_stream(hakod):
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sh"], detach=True, stdin_open=True, tty=True)
    sock = container.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
    raw = sock._sock
    raw.settimeout(10)
    try:
        raw.sendall(b"echo $((6 * 7))\n")
        received = b""
        deadline = time.monotonic() + 10
        while b"42\r\n" not in received and time.monotonic() < deadline:
            chunk = raw.recv(4096)
            if not chunk:
                break
            received += chunk
        assert b"42\r\n" in received
        assert not received.startswith(b"\x01\x00\x00\x00")    # no multiplexing with a tty
        raw.sendall(b"exit 3\n")
        assert container.wait(timeout=15)["StatusCode"] == 3
    finally:
        raw.close()
