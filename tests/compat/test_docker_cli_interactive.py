"""The real docker CLI against hakod in a real terminal: `run -it`, `exec -it`, `attach`.

tmux gives the CLI a terminal it can put in raw mode (as scripts/check-dockerd-dropin does): the
test types into it with send-keys and reads the screen with capture-pane. A private tmux server
(`-L`) keeps the user's own sessions out of reach; it is killed at the end of each test.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
import uuid

import pytest

from tests.conftest import needs_root
from tests.daemon import DOCKER

pytestmark = [needs_root, pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]

PROMPT = "/ # "


class Terminal:
    """One tmux window running one command, 120x40 to start with."""

    def __init__(self, hakod, program: list[str] | None = None):
        self.hakod = hakod
        self.program = program or [DOCKER]
        self.server = f"hako-test-{uuid.uuid4().hex[:8]}"
        self.session = "t"

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.server, *args], capture_output=True, text=True,
                              check=True, timeout=20).stdout

    def start(self, *docker_args: str) -> None:
        """Run `docker ...` (or the program given); when it ends the window prints EXITED=<status>
        and stays for reading."""
        command = (f"DOCKER_HOST={shlex.quote(self.hakod.host)} DOCKER_CLI_HINTS=false "
                   f"{shlex.join(self.program)} {shlex.join(docker_args)}; echo EXITED=$?; sleep 600")
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", self.session, "-x", "120", "-y", "40", command)
        # The window keeps the size it was made with, whatever clients come and go.
        self.tmux("set-option", "-t", self.session, "window-size", "manual")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-t", self.session)

    def wait_for(self, pattern: str, timeout: float = 20.0, after: int = 0) -> re.Match:
        """Poll the screen until ``pattern`` (a regex) appears at or after character ``after``."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            found = re.compile(pattern, re.M).search(text, after)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not on screen within {timeout}s:\n{text}")
            time.sleep(0.05)

    def type(self, line: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", line)
        self.tmux("send-keys", "-t", self.session, "Enter")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def resize(self, width: int, height: int) -> None:
        self.tmux("resize-window", "-t", self.session, "-x", str(width), "-y", str(height))

    def run(self, line: str, expect: str, timeout: float = 20.0) -> re.Match:
        """Type a line and wait for ``expect`` in what comes after it on the screen."""
        start = len(self.screen().rstrip())
        self.type(line)
        return self.wait_for(expect, timeout, after=max(start - 1, 0))

    def close(self) -> None:
        """Stop this test's tmux server and remove its socket, which kill-server leaves behind."""
        found = subprocess.run(["tmux", "-L", self.server, "display-message", "-p", "#{socket_path}"],
                               capture_output=True, text=True, timeout=20)
        subprocess.run(["tmux", "-L", self.server, "kill-server"], capture_output=True, timeout=20)
        socket_path = found.stdout.strip()
        if found.returncode == 0 and os.path.basename(socket_path) == self.server:
            try:
                os.unlink(socket_path)
            except FileNotFoundError:
                pass


@pytest.fixture
def terminal(hakod):
    terms: list[Terminal] = []

    def make(program: list[str] | None = None) -> Terminal:
        term = Terminal(hakod, program)
        terms.append(term)
        return term

    yield make
    for term in terms:
        term.close()


def ok(hakod, *args, **kwargs):
    return hakod.docker(*args, check=True, **kwargs).stdout


def test_run_it_rm_sees_a_tty_its_size_a_resize_and_passes_the_exit_code(hakod, terminal):
    term = terminal()
    term.start("run", "-it", "--rm", "--name", "itrm", "busybox", "sh")
    term.wait_for(re.escape(PROMPT))
    term.run("tty; stty size", r"^/dev/pts/0\s*\n40 120\s*$")
    term.resize(100, 30)
    term.run("stty size", r"^30 100\s*$")
    # Ctrl-C goes through the pty to the foreground job, not to the CLI.
    term.type("sleep 100")
    time.sleep(0.3)
    term.keys("C-c")
    term.run("echo still-here", r"^still-here\s*$")
    term.type("exit 6")
    term.wait_for(r"EXITED=6\s*$")
    assert ok(hakod, "ps", "-aq") == ""


def test_exec_it_with_a_resize(hakod, terminal):
    ok(hakod, "run", "-d", "--name", "ex", "busybox", "sleep", "300")
    term = terminal()
    term.start("exec", "-it", "ex", "sh")
    term.wait_for(re.escape(PROMPT))
    term.run("stty size; cat /proc/1/comm", r"^40 120\s*\nsleep\s*$")
    term.resize(90, 25)
    term.run("stty size", r"^25 90\s*$")
    term.type("exit 9")
    term.wait_for(r"EXITED=9\s*$")
    assert ok(hakod, "inspect", "-f", "{{.State.Status}}", "ex") == "running\n"


def test_attach_detach_with_ctrl_p_ctrl_q_then_attach_again(hakod, terminal):
    ok(hakod, "run", "-d", "-it", "--name", "tt", "busybox", "sh")
    first = terminal()
    first.start("attach", "tt")
    # attach has nothing to draw until something is typed, and no sign that it is connected:
    # type until the shell answers.
    deadline = time.monotonic() + 20
    while "one-1" not in first.screen():
        assert time.monotonic() < deadline, first.screen()
        first.type("echo one-$((0+1))")
        time.sleep(0.3)
    first.keys("C-p", "C-q")
    first.wait_for(r"read escape sequence")
    first.wait_for(r"EXITED=1\s*$")
    assert ok(hakod, "inspect", "-f", "{{.State.Status}}", "tt") == "running\n"

    second = terminal()
    second.start("attach", "tt")
    deadline = time.monotonic() + 20
    while "two-2" not in second.screen():
        assert time.monotonic() < deadline, second.screen()
        second.type("echo two-$((1+1))")
        time.sleep(0.3)
    second.run("stty size", r"^40 120\s*$")
    second.type("exit 3")
    second.wait_for(r"EXITED=3\s*$")
    assert ok(hakod, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "tt") == "exited 3\n"


def test_run_it_detach_and_custom_detach_keys(hakod, terminal):
    term = terminal()
    term.start("run", "-it", "--name", "dk", "--detach-keys", "ctrl-x,x", "busybox", "sh")
    term.wait_for(re.escape(PROMPT))
    term.run("echo before", r"^before\s*$")
    # Not the detach keys here: they reach the shell (whose line editor recalls the last
    # command on C-p; C-c drops that line).
    term.keys("C-p", "C-q", "C-c")
    term.run("echo still-attached", r"^still-attached\s*$")
    term.keys("C-x", "x")
    # `run` detaches quietly and exits 0 (`attach` says "read escape sequence" and exits 1).
    term.wait_for(r"EXITED=0\s*$")
    assert ok(hakod, "inspect", "-f", "{{.State.Status}}", "dk") == "running\n"
    assert ok(hakod, "exec", "dk", "echo", "alive") == "alive\n"


def test_exit_codes_through_a_terminal(hakod, terminal):
    term = terminal()
    term.start("run", "-it", "--rm", "busybox", "sh", "-c", "exit 42")
    term.wait_for(r"EXITED=42\s*$")
    term2 = terminal()
    term2.start("run", "-it", "--rm", "busybox", "no-such-binary")
    term2.wait_for(r"EXITED=127\s*$")
    assert "executable file not found" in term2.screen()
    assert ok(hakod, "ps", "-aq") == ""


def test_run_it_detach_with_ctrl_p_ctrl_q_then_reattach(hakod, terminal):
    term = terminal()
    term.start("run", "-it", "--name", "rd", "busybox", "sh")
    term.wait_for(re.escape(PROMPT))
    term.run("echo marker > /tmp/m", re.escape(PROMPT) + r"\s*$")
    term.keys("C-p", "C-q")
    term.wait_for(r"EXITED=0\s*$")
    assert ok(hakod, "inspect", "-f", "{{.State.Status}}", "rd") == "running\n"
    again = terminal()
    again.start("attach", "rd")
    deadline = time.monotonic() + 20
    while "marker-seen" not in again.screen():
        assert time.monotonic() < deadline, again.screen()
        again.type("echo $(cat /tmp/m)-seen")
        time.sleep(0.3)
    again.type("exit 5")
    again.wait_for(r"EXITED=5\s*$")
    assert ok(hakod, "wait", "rd") == "5\n"
