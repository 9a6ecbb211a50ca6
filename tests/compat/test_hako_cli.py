"""hako's own CLI against a real hakod: the commands a user starts with, and a real terminal."""

from __future__ import annotations

import os
import re
import sys

from tests.compat.polling import poll
from tests.compat.test_docker_cli_interactive import PROMPT, terminal  # noqa: F401 - the fixture
from tests.conftest import needs_root
from tests.daemon import ROOT

pytestmark = needs_root

HAKO = [sys.executable, "-c",
        f"import sys; sys.path.insert(0, {os.path.join(ROOT, 'src')!r}); "
        "from hako.cli.main import main; sys.exit(main())"]


def test_run_rm_prints_and_passes_the_exit_code(hakod):
    result = hakod.hako("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 4")
    assert result.returncode == 4
    assert result.stdout == "out\n"
    assert "err\n" in result.stderr
    assert hakod.hako("ps", "-aq").stdout == ""


def test_detached_container_through_ps_logs_exec_stop_rm(hakod):
    cid = hakod.hako("run", "-d", "--name", "hk-web", "busybox", "sh", "-c",
                     "echo started; while true; do sleep 1; done").stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    ps = hakod.hako("ps").stdout.splitlines()
    assert ps[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert any(line.startswith(cid[:12]) and line.endswith("hk-web") for line in ps[1:])
    poll(lambda: hakod.hako("logs", "hk-web").stdout == "started\n")
    assert hakod.hako("exec", "hk-web", "cat", "/etc/hostname").stdout == cid[:12] + "\n"
    assert hakod.hako("exec", "hk-web", "sh", "-c", "exit 9").returncode == 9
    assert hakod.hako("inspect", "-f", "{{.State.Status}} {{.Name}}", "hk-web").stdout == "running /hk-web\n"
    assert hakod.hako("stop", "-t", "1", "hk-web").returncode == 0
    assert hakod.hako("inspect", "-f", "{{.State.ExitCode}}", "hk-web").stdout == "137\n"
    assert hakod.hako("rm", "hk-web").stdout == "hk-web\n"


def test_errors_and_exit_codes_are_dockers(hakod):
    missing = hakod.hako("run", "--rm", "busybox", "no-such-binary")
    assert missing.returncode == 127
    assert "executable file not found" in missing.stderr
    unknown = hakod.hako("logs", "nope")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "Error response from daemon: No such container: nope"
    assert hakod.hako("run", "--rm", "-m", "1k", "busybox", "true").returncode == 125


def test_stdin_is_piped_through(hakod):
    assert hakod.hako("run", "-i", "--rm", "busybox", "cat", input="piped\n").stdout == "piped\n"


def test_run_it_is_a_real_shell_with_resize_and_detach(hakod, terminal):
    term = terminal(HAKO)
    term.start("run", "-it", "--name", "hk-tty", "busybox", "sh")
    term.wait_for(re.escape(PROMPT))
    term.run("stty size", r"^40 120\s*$")
    term.resize(100, 30)
    term.run("stty size", r"^30 100\s*$")
    term.keys("C-p", "C-q")
    term.wait_for(r"EXITED=0\s*$")
    assert hakod.hako("inspect", "-f", "{{.State.Running}}", "hk-tty").stdout == "true\n"
    again = terminal(HAKO)
    again.start("attach", "hk-tty")
    again.type("")
    again.wait_for(re.escape(PROMPT))
    again.type("exit 3")
    again.wait_for(r"EXITED=3\s*$")
