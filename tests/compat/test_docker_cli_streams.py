"""The real docker CLI against hakod: the commands that carry a process's streams.

`logs` reads the json-file log (multiplexed frames for a non-TTY container), `exec`, `attach` and
`start -a` ride hijacked connections (docker-api-notes.md section 3): output must arrive whole, in
the right stream, stdin EOF must reach the process, and the exit code must come back.
"""

from __future__ import annotations

import datetime
import re
import subprocess
import time

import pytest

from tests.conftest import needs_root
from tests.daemon import DOCKER

pytestmark = needs_root

RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z ")


def ok(hakod, *args, **kwargs):
    return hakod.docker(*args, check=True, **kwargs).stdout


def inspect(hakod, fmt: str, name: str) -> str:
    return ok(hakod, "inspect", "-f", fmt, name).strip()


def without_warnings(stderr: str) -> str:
    """stderr minus the create warnings the CLI prints ("WARNING: ..."), as Docker's does."""
    return "".join(line for line in stderr.splitlines(keepends=True) if not line.startswith("WARNING: "))


def finished(hakod, name: str) -> str:
    """Wait for ``name`` to end and return its exit code as `docker wait` prints it."""
    return ok(hakod, "wait", name).strip()


# --- logs ----------------------------------------------------------------------------------------

@pytest.fixture
def logger(hakod):
    """A finished container that wrote to both streams."""
    ok(hakod, "run", "-d", "--name", "logger", "busybox", "sh", "-c",
       "echo out1; echo err1 >&2; echo out2; echo err2 >&2; echo out3")
    assert finished(hakod, "logger") == "0"
    return "logger"


def test_logs_keeps_stdout_and_stderr_apart(hakod, logger):
    result = hakod.docker("logs", logger)
    assert result.returncode == 0
    assert result.stdout == "out1\nout2\nout3\n"
    assert result.stderr == "err1\nerr2\n"


def test_logs_tail(hakod):
    # One stream only: lines of stdout and stderr come through two pipes, and their order
    # relative to each other is not defined (with dockerd either).
    ok(hakod, "run", "-d", "--name", "tail", "busybox", "sh", "-c", "for i in 1 2 3 4 5; do echo l$i; done")
    finished(hakod, "tail")
    assert ok(hakod, "logs", "--tail", "2", "tail") == "l4\nl5\n"
    assert ok(hakod, "logs", "-n", "0", "tail") == ""
    assert ok(hakod, "logs", "--tail", "all", "tail") == "l1\nl2\nl3\nl4\nl5\n"


def test_logs_timestamps(hakod, logger):
    lines = ok(hakod, "logs", "-t", logger).splitlines()
    assert len(lines) == 3
    for line, text in zip(lines, ["out1", "out2", "out3"]):
        assert RFC3339_NANO.match(line), line
        assert line.endswith(" " + text)
    stamp = lines[0].split()[0]
    when = datetime.datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00")
    assert abs(when.timestamp() - time.time()) < 600


def test_logs_since_and_until(hakod, logger):
    assert ok(hakod, "logs", "--since", "10m", logger) == "out1\nout2\nout3\n"
    future = str(int(time.time()) + 3600)
    assert ok(hakod, "logs", "--since", future, logger) == ""
    assert ok(hakod, "logs", "--until", "2000-01-01T00:00:00Z", logger) == ""
    assert ok(hakod, "logs", "--since", "2000-01-01T00:00:00Z", "--until", future, logger) == "out1\nout2\nout3\n"


def test_logs_follow_streams_until_the_container_exits(hakod):
    ok(hakod, "run", "-d", "--name", "ticker", "busybox", "sh", "-c",
       "for i in 1 2 3 4 5; do echo line$i; sleep 0.2; done")
    result = hakod.docker("logs", "-f", "ticker", timeout=30)
    assert result.returncode == 0
    assert result.stdout == "".join(f"line{i}\n" for i in range(1, 6))
    assert ok(hakod, "logs", "-f", "--tail", "2", "ticker", timeout=30) == "line4\nline5\n"


def test_logs_follow_sees_lines_written_after_it_started(hakod):
    ok(hakod, "run", "-d", "--name", "later", "busybox", "sh", "-c",
       "echo early; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo late; sleep 60")
    follower = subprocess.Popen([DOCKER, "logs", "-f", "later"], env=hakod.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        assert follower.stdout.readline() == "early\n"
        ok(hakod, "exec", "later", "touch", "/tmp/go")
        assert follower.stdout.readline() == "late\n"
        assert follower.poll() is None            # still following a running container
        ok(hakod, "kill", "later")
        assert follower.wait(timeout=20) == 0     # ...and done once it has exited
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()


def test_logs_of_a_tty_container_are_raw(hakod):
    ok(hakod, "run", "-d", "-t", "--name", "ttylog", "busybox", "sh", "-c", "echo on-a-tty; echo err >&2")
    finished(hakod, "ttylog")
    result = hakod.docker("logs", "ttylog", input=b"")
    assert result.stdout == b"on-a-tty\r\nerr\r\n"     # one pty: stderr is merged, line ends are CRLF
    assert result.stderr == b""


# --- exec ----------------------------------------------------------------------------------------

@pytest.fixture
def box(hakod):
    ok(hakod, "run", "-d", "--name", "box", "busybox", "sleep", "300")
    return "box"


def test_exec_output_and_exit_code(hakod, box):
    result = hakod.docker("exec", box, "sh", "-c", "echo to-out; echo to-err >&2; exit 7")
    assert (result.stdout, result.stderr, result.returncode) == ("to-out\n", "to-err\n", 7)


def test_exec_env_user_workdir(hakod, box):
    out = ok(hakod, "exec", "-e", "GREETING=hi", "-u", "1000:1000", "-w", "/tmp", box,
             "sh", "-c", 'echo "$GREETING $(id -u):$(id -g) $(pwd)"')
    assert out == "hi 1000:1000 /tmp\n"
    assert ok(hakod, "container", "exec", box, "cat", "/proc/1/comm") == "sleep\n"


def test_exec_detached_runs_in_the_background(hakod, box):
    assert ok(hakod, "exec", "-d", box, "sh", "-c", "sleep 0.2; echo done > /tmp/bg") == ""
    deadline = time.monotonic() + 15
    while hakod.docker("exec", box, "cat", "/tmp/bg").stdout != "done\n":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_exec_interactive_reads_stdin_to_eof(hakod, box):
    script = "read a; echo got:$a; cat; exit 4\n"
    result = hakod.docker("exec", "-i", box, "sh", "-c", script, input="first\nrest1\nrest2\n")
    assert result.stdout == "got:first\nrest1\nrest2\n"
    assert result.returncode == 4


def test_exec_tty_without_stdin(hakod, box):
    result = hakod.docker("exec", "-t", box, "sh", "-c", "tty; echo x >&2", input=b"")
    assert result.stdout == b"/dev/pts/0\r\nx\r\n"
    assert result.returncode == 0


def test_exec_of_a_missing_binary_is_127_with_dockers_message(hakod, box):
    # dockerd can only report it on the hijacked stream, and writes it to stdout with CRLF
    # (api/server/router/container/exec.go); the CLI then takes 127 from the exec's inspect.
    result = hakod.docker("exec", box, "no-such-binary", input=b"")
    assert result.returncode == 127
    assert result.stdout == (
        b'OCI runtime exec failed: exec failed: unable to start container process: exec: "no-such-binary": '
        b"executable file not found in $PATH: unknown\r\n")


def test_exec_as_an_unknown_user_fails_on_the_stream_with_126(hakod, box):
    result = hakod.docker("exec", "-u", "nope", box, "true")
    assert result.returncode == 126
    assert "unable to find user nope" in result.stdout


def test_exec_in_a_stopped_container_is_refused(hakod):
    ok(hakod, "create", "--name", "idle", "busybox", "true")
    result = hakod.docker("exec", "idle", "true")
    assert result.returncode == 1
    assert re.search(r"Error response from daemon: container [0-9a-f]{64} is not running", result.stderr) or \
        re.search(r"Error response from daemon: Container [0-9a-f]{64} is not running", result.stderr), result.stderr


# --- start -a, attach ------------------------------------------------------------------------------

def test_start_attached_prints_output_and_returns_the_code(hakod):
    ok(hakod, "create", "--name", "sa", "busybox", "sh", "-c", "echo started; echo oops >&2; exit 5")
    result = hakod.docker("start", "-a", "sa")
    assert (result.stdout, result.stderr, result.returncode) == ("started\n", "oops\n", 5)


def test_start_attached_interactive_feeds_stdin(hakod):
    ok(hakod, "create", "--name", "sai", "-i", "busybox", "sh", "-c", "read x; echo got $x; exit 2")
    result = hakod.docker("start", "-a", "-i", "sai", input="hello\n")
    assert (result.stdout, result.returncode) == ("got hello\n", 2)


def test_attach_to_a_running_container(hakod):
    # stdin is open and the process waits for it, so nothing is missed before attach connects.
    # `create -i` makes it StdinOnce: the client's EOF closes the process's stdin and the output
    # keeps coming (for a `run -d -i` container dockerd would end the session at the EOF instead).
    ok(hakod, "create", "-i", "--name", "att", "busybox", "sh", "-c",
       "read x; echo got $x; cat; echo on-err >&2; exit 3")
    ok(hakod, "start", "att")
    result = hakod.docker("attach", "att", input="hello\n", timeout=30)
    assert result.stdout == "got hello\n"
    assert result.stderr == "on-err\n"
    assert result.returncode == 3
    assert inspect(hakod, "{{.State.Status}} {{.State.ExitCode}}", "att") == "exited 3"


def test_attach_no_stdin_sees_output_only(hakod):
    ok(hakod, "run", "-d", "-i", "--name", "att2", "busybox", "sh", "-c",
       "while [ ! -e /tmp/go ]; do sleep 0.05; done; echo after-go; exit 6")
    proc = subprocess.Popen([DOCKER, "attach", "--no-stdin", "att2"], env=hakod.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        # attach has no "I am connected" signal: nudge the container until the output arrives.
        time.sleep(0.5)
        ok(hakod, "exec", "att2", "touch", "/tmp/go")
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (out, proc.returncode) == ("after-go\n", 6), err


def test_run_attached_keeps_output_after_stdin_eof(hakod):
    # The CLI half-closes at once (stdin is empty); the output written later must still arrive.
    result = hakod.docker("run", "--rm", "-i", "busybox", "sh", "-c", "cat; sleep 0.3; echo late", input="")
    assert (result.stdout, result.returncode) == ("late\n", 0)


def test_large_output_arrives_whole(hakod):
    result = hakod.docker("run", "--rm", "busybox", "sh", "-c", "seq 1 50000; seq 1 20000 >&2")
    assert result.stdout == "".join(f"{i}\n" for i in range(1, 50001))
    assert without_warnings(result.stderr) == "".join(f"{i}\n" for i in range(1, 20001))


def test_large_stdin_arrives_whole_through_run_and_exec(hakod):
    data = bytes(range(256)) * 8192 + b"tail"          # 2 MiB and a bit, every byte value
    assert hakod.docker("run", "--rm", "-i", "busybox", "cat", input=data).stdout == data
    ok(hakod, "run", "-d", "--name", "sink", "busybox", "sleep", "300")
    result = hakod.docker("exec", "-i", "sink", "sh", "-c", "cat > /tmp/in; wc -c < /tmp/in", input=data)
    assert result.stdout.strip() == str(len(data)).encode()


def test_run_attach_selects_the_streams(hakod):
    result = hakod.docker("run", "--rm", "-a", "stderr", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert (result.stdout, without_warnings(result.stderr), result.returncode) == ("", "err\n", 0)
    result = hakod.docker("run", "--rm", "-a", "stdout", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert (result.stdout, without_warnings(result.stderr)) == ("out\n", "")
