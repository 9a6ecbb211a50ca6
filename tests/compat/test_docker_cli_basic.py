"""The real docker CLI against hakod: the everyday commands."""

from __future__ import annotations

from tests.conftest import needs_root

pytestmark = needs_root


def test_run_rm_prints_and_exits_with_the_containers_code(hakod):
    result = hakod.docker("run", "--rm", "busybox", "sh", "-c", "echo hello; exit 3")
    assert result.stdout == "hello\n"
    assert result.returncode == 3
    assert hakod.docker("ps", "-aq").stdout == ""


def test_missing_binary_is_127_and_leaves_nothing(hakod):
    result = hakod.docker("run", "--rm", "busybox", "no-such-binary")
    assert result.returncode == 127
    assert "executable file not found" in result.stderr
    assert hakod.docker("ps", "-aq").stdout == ""
