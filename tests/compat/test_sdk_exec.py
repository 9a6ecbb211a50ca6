"""``exec_run`` through the docker SDK against hakod: exit codes, output (joined, demultiplexed,
streamed, over a socket with stdin), and the options that shape the exec'd process."""

from __future__ import annotations

import socket
import struct
import time

import docker
import pytest

from tests.conftest import needs_root

pytestmark = needs_root


@pytest.fixture
def box(hakod):
    """A long-running container to exec into, with one variable of its own."""
    client = hakod.sdk()
    container = client.containers.run("busybox", ["sleep", "60"], detach=True, environment={"FROM_RUN": "1"})
    return container


def read_frames(sock: socket.socket, timeout: float = 10.0) -> dict[int, bytes]:
    """Every multiplexed frame until the stream ends: {1: stdout, 2: stderr}."""
    sock.settimeout(timeout)
    buffer, out = b"", {1: b"", 2: b""}
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buffer += chunk
    while len(buffer) >= 8:
        kind, size = struct.unpack(">BxxxL", buffer[:8])
        out[kind] += buffer[8:8 + size]
        buffer = buffer[8 + size:]
    assert buffer == b"", "a truncated frame"
    return out


def test_exit_code_and_joined_output(box):
    result = box.exec_run(["sh", "-c", "echo out; echo err >&2; exit 5"])
    assert result.exit_code == 5
    assert sorted(result.output.splitlines()) == [b"err", b"out"]


def test_stdout_only(box):
    result = box.exec_run(["sh", "-c", "echo out; echo err >&2"], stderr=False)
    assert result.output == b"out\n"


def test_demux_splits_the_streams(box):
    result = box.exec_run(["sh", "-c", "echo out1; echo err1 >&2; echo out2; echo err2 >&2"], demux=True)
    assert result.exit_code == 0
    stdout, stderr = result.output
    assert stdout == b"out1\nout2\n"
    assert stderr == b"err1\nerr2\n"


def test_demux_with_nothing_on_a_stream(box):
    stdout, stderr = box.exec_run(["echo", "only-out"], demux=True).output
    assert stdout == b"only-out\n"
    assert stderr is None


def test_stream_yields_output_while_it_runs(box):
    result = box.exec_run(["sh", "-c", "echo a; sleep 0.3; echo b"], stream=True)
    assert result.exit_code is None      # not known until the stream ends
    chunks = list(result.output)
    assert b"".join(chunks) == b"a\nb\n"
    assert len(chunks) >= 2


def test_stream_with_demux(box):
    result = box.exec_run(["sh", "-c", "echo o; echo e >&2"], stream=True, demux=True)
    pairs = list(result.output)
    assert b"".join(p[0] or b"" for p in pairs) == b"o\n"
    assert b"".join(p[1] or b"" for p in pairs) == b"e\n"


def test_environment_adds_to_the_containers(box):
    out = box.exec_run(["sh", "-c", 'echo "$FROM_RUN $FROM_EXEC $PATH"'], environment={"FROM_EXEC": "2"}).output
    assert out == b"1 2 /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
    out = box.exec_run(["sh", "-c", 'echo "$FROM_RUN"'], environment=["FROM_RUN=overridden"]).output
    assert out == b"overridden\n"


@pytest.mark.parametrize("user, expected", [("nobody", b"65534 65534\n"), ("1000:1001", b"1000 1001\n"),
                                            ("", b"0 0\n")])
def test_user(box, user, expected):
    assert box.exec_run(["sh", "-c", "echo $(id -u) $(id -g)"], user=user).output == expected


def test_unknown_user_fails_on_the_stream_with_126(box):
    result = box.exec_run(["true"], user="no-such-user")
    assert result.exit_code == 126
    assert b"no-such-user" in result.output


def test_workdir(box):
    assert box.exec_run(["pwd"], workdir="/etc").output == b"/etc\n"
    assert box.exec_run(["pwd"]).output == b"/\n"


def test_tty(box):
    result = box.exec_run(["sh", "-c", "[ -t 1 ] && echo is-a-tty; echo err >&2"], tty=True)
    # With a tty there is one stream, and the terminal turns \n into \r\n.
    assert result.output == b"is-a-tty\r\nerr\r\n"
    assert box.exec_run(["sh", "-c", "[ -t 1 ] || echo not-a-tty"]).output == b"not-a-tty\n"


def test_exec_has_the_containers_capabilities_and_privileged_more(box):
    default = int(box.exec_run(["grep", "CapEff", "/proc/self/status"]).output.split()[1], 16)
    assert default == 0x00000000A80425FB
    result = box.exec_run(["grep", "CapEff", "/proc/self/status"], privileged=True)
    assert result.exit_code == 0, result.output
    assert int(result.output.split()[1], 16) & (1 << 21)      # CAP_SYS_ADMIN


def test_missing_binary(box):
    result = box.exec_run(["no-such-binary"])
    assert result.exit_code == 127
    assert b"no-such-binary" in result.output
    assert b"executable file not found" in result.output


def test_missing_binary_message_is_dockers(box):
    result = box.exec_run(["no-such-binary"])
    assert result.output == (b'OCI runtime exec failed: exec failed: unable to start container process: '
                             b'exec: "no-such-binary": executable file not found in $PATH: unknown\r\n')


def test_detach_runs_in_the_background(box):
    result = box.exec_run(["sh", "-c", "sleep 0.2; echo done > /tmp/marker"], detach=True)
    assert result.exit_code is None and not result.output
    deadline = time.monotonic() + 10
    while box.exec_run(["cat", "/tmp/marker"]).output != b"done\n":
        assert time.monotonic() < deadline, "the detached exec never ran"
        time.sleep(0.05)


def test_socket_with_stdin(box):
    sock = box.exec_run(["sh", "-c", "read line; echo \"got:$line\"; echo fin >&2"], stdin=True, socket=True).output
    raw = sock._sock
    try:
        raw.sendall(b"hello\n")
        out = read_frames(raw)
    finally:
        raw.close()
    assert out == {1: b"got:hello\n", 2: b"fin\n"}


def test_exec_inspect_after_the_process_ends(hakod, box):
    client = hakod.sdk()
    exec_id = client.api.exec_create(box.id, ["sh", "-c", "exit 9"], user="nobody", workdir="/tmp")["Id"]
    before = client.api.exec_inspect(exec_id)
    assert before["Running"] is False and before["ExitCode"] is None
    assert before["ContainerID"] == box.id
    client.api.exec_start(exec_id)
    after = client.api.exec_inspect(exec_id)
    assert after["ExitCode"] == 9
    assert after["Running"] is False
    assert after["ProcessConfig"]["entrypoint"] == "sh"
    assert after["ProcessConfig"]["arguments"] == ["-c", "exit 9"]
    assert after["ProcessConfig"]["user"] == "nobody"
    box.reload()
    assert exec_id in box.attrs["ExecIDs"]


def test_exec_inspect_keeps_the_pid(hakod, box):
    client = hakod.sdk()
    exec_id = client.api.exec_create(box.id, ["true"])["Id"]
    client.api.exec_start(exec_id)
    assert client.api.exec_inspect(exec_id)["Pid"] > 0


def test_exec_in_a_stopped_container_is_a_409(hakod):
    client = hakod.sdk()
    container = client.containers.create("busybox", ["true"])
    with pytest.raises(docker.errors.APIError) as info:
        container.exec_run(["true"])
    assert info.value.status_code == 409


def test_exec_in_a_paused_container_is_a_409(box):
    box.pause()
    try:
        with pytest.raises(docker.errors.APIError) as info:
            box.exec_run(["true"])
        assert info.value.status_code == 409
    finally:
        box.unpause()


def test_exec_start_of_a_missing_exec_is_not_found(hakod):
    client = hakod.sdk()
    with pytest.raises(docker.errors.NotFound):
        client.api.exec_start("0" * 64)
