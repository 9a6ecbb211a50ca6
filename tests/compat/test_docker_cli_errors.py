"""The real docker CLI against hakod: what a user sees when something is wrong.

The CLI prints `Error response from daemon: <message>` from the `{"message"}` of a 4xx/5xx reply,
exits 1 (125 for `docker run`, whose own exit code is the container's), and relies on 404 for
"not found". The messages checked here are dockerd's, word for word where users script on them.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

from tests.conftest import needs_root

pytestmark = needs_root

NAME_RULE = "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"


def ok(hakod, *args, **kwargs):
    return hakod.docker(*args, check=True, **kwargs).stdout


def daemon_error(result) -> str:
    """The first `Error response from daemon:` line of stderr, without the prefix."""
    for line in result.stderr.splitlines():
        for prefix in ("docker: Error response from daemon: ", "Error response from daemon: "):
            if line.startswith(prefix):
                return line[len(prefix):]
    raise AssertionError(f"no daemon error in {result.stderr!r}")


# --- not found ------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ["start"], ["stop"], ["restart"], ["kill"], ["pause"], ["unpause"], ["rm"], ["logs"],
    ["wait"], ["top"], ["exec", "-i"], ["attach"], ["update", "-m", "10m"], ["export"], ["diff"],
    ["container", "inspect"], ["stats", "--no-stream"],
])
def test_unknown_container(hakod, command):
    args = [*command, "nope"] + (["true"] if command[0] == "exec" else [])
    result = hakod.docker(*args)
    assert result.returncode == 1, result
    assert "No such container: nope" in result.stderr


def test_rm_force_of_an_unknown_container_is_not_a_failure(hakod):
    # docker 28: `rm -f` prints the daemon's 404 and carries on, exit status 0.
    result = hakod.docker("rm", "-f", "nope")
    assert (result.returncode, result.stderr) == (0, "Error response from daemon: No such container: nope\n")


def test_inspect_of_an_unknown_object(hakod):
    result = hakod.docker("inspect", "nope")
    assert (result.returncode, result.stdout.strip(), result.stderr.strip()) == (1, "[]", "Error: No such object: nope")


def test_unknown_image(hakod):
    for command in (["rmi"], ["image", "inspect"], ["history"], ["tag"]):
        args = [*command, "no-such-image"] + (["x:y"] if command == ["tag"] else [])
        result = hakod.docker(*args)
        assert result.returncode == 1, args
        assert "No such image: no-such-image" in result.stderr, args


def test_run_of_an_unknown_image_tries_to_pull_and_fails(hakod):
    result = hakod.docker("run", "--rm", "no-such-image")
    assert result.returncode == 125
    assert "Unable to find image 'no-such-image:latest' locally" in result.stderr
    # Test daemons point Docker Hub at a closed port on loopback (tests/daemon.py): the pull fails there.
    assert "docker: Error response from daemon:" in result.stderr and "127.0.0.1:9" in result.stderr
    assert ok(hakod, "ps", "-aq") == ""


def test_stop_of_several_reports_the_missing_one_and_stops_the_rest(hakod):
    ok(hakod, "run", "-d", "--name", "real", "busybox", "sleep", "300")
    result = hakod.docker("stop", "-t", "1", "nope", "real")
    assert result.returncode == 1
    assert result.stdout == "real\n"
    assert "No such container: nope" in result.stderr
    assert ok(hakod, "inspect", "-f", "{{.State.Status}}", "real") == "exited\n"


# --- names ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bad name", "-leading-dash", "a/b", "ünïcode"])
def test_invalid_container_names(hakod, name):
    result = hakod.docker("run", "--name", name, "busybox", "true")
    assert result.returncode == 125
    assert daemon_error(result) == f"Invalid container name ({name}), {NAME_RULE}"
    assert ok(hakod, "ps", "-aq") == ""


def test_a_name_in_use(hakod):
    cid = ok(hakod, "create", "--name", "taken", "busybox", "true").strip()
    result = hakod.docker("create", "--name", "taken", "busybox", "true")
    assert result.returncode == 1
    assert daemon_error(result) == (
        f'Conflict. The container name "/taken" is already in use by container "{cid}". '
        "You have to remove (or rename) that container to be able to reuse that name.")
    result = hakod.docker("run", "--name", "taken", "busybox", "true")
    assert result.returncode == 125
    ok(hakod, "create", "--name", "other", "busybox", "true")
    result = hakod.docker("rename", "other", "taken")
    assert result.returncode == 1
    assert 'The container name "/taken" is already in use' in result.stderr
    assert len(ok(hakod, "ps", "-aq").split()) == 2


def test_rename_to_an_invalid_or_the_same_name(hakod):
    ok(hakod, "create", "--name", "same", "busybox", "true")
    result = hakod.docker("rename", "same", "same")
    assert result.returncode == 1
    assert daemon_error(result) == "Renaming a container with the same name as its current name"
    result = hakod.docker("rename", "same", "bad name")
    assert result.returncode == 1
    assert daemon_error(result) == f"Invalid container name (bad name), {NAME_RULE}"


# --- limits and options ---------------------------------------------------------------------------

@pytest.mark.parametrize("flags, message", [
    (["-m", "1k"], "Minimum memory limit allowed is 6MB"),
    (["-m", "20m", "--memory-swap", "10m"], "Minimum memoryswap limit should be larger than memory limit, see usage"),
    (["--cpus", "1000"], None),     # "Range of CPUs is from 0.01 to N.00, as there are only N CPUs available"
    (["--log-driver", "bogus"], None),
])
def test_impossible_options_are_refused_at_create(hakod, flags, message):
    result = hakod.docker("run", "--rm", *flags, "busybox", "true")
    assert result.returncode == 125
    if message:
        assert daemon_error(result) == message
    elif flags[0] == "--cpus":
        assert re.fullmatch(r"Range of CPUs is from 0\.01 to \d+\.00, as there are only \d+ CPUs available",
                            daemon_error(result))
    assert ok(hakod, "ps", "-aq") == ""


def test_update_with_an_impossible_limit(hakod):
    ok(hakod, "run", "-d", "--name", "up", "busybox", "sleep", "300")
    result = hakod.docker("update", "-m", "1k", "up")
    assert result.returncode == 1
    assert "Minimum memory limit allowed is 6MB" in result.stderr


def test_restart_and_rm_conflict_is_caught_by_the_cli(hakod):
    result = hakod.docker("run", "--rm", "--restart", "always", "busybox", "true")
    assert result.returncode == 125
    assert "conflicting options: cannot specify both --restart and --rm" in result.stderr


def test_cpu_shares_below_the_kernel_minimum_is_clamped_not_refused(hakod):
    assert ok(hakod, "run", "--rm", "--cpu-shares", "1", "busybox", "echo", "ran") == "ran\n"


# --- state conflicts ------------------------------------------------------------------------------

def test_rm_of_a_running_container_needs_force(hakod):
    cid = ok(hakod, "run", "-d", "--name", "busy", "busybox", "sleep", "300").strip()
    result = hakod.docker("rm", "busy")
    assert result.returncode == 1
    assert daemon_error(result) == (f"You cannot remove a running container {cid}. Stop the container before "
                                    "attempting removal or force remove")
    assert ok(hakod, "inspect", "-f", "{{.State.Status}}", "busy") == "running\n"


def test_state_conflicts(hakod):
    cid = ok(hakod, "create", "--name", "idle", "busybox", "true").strip()
    result = hakod.docker("kill", "idle")
    assert result.returncode == 1
    # dockerd's router wraps with the name as typed ("Cannot kill container: idle: ..."); the id is
    # accepted too.
    assert re.fullmatch(f"Cannot kill container: (idle|{cid}): Container {cid} is not running", daemon_error(result))
    for command, message in [("pause", f"Container {cid} is not running"),
                             ("unpause", f"Container {cid} is not paused")]:
        result = hakod.docker(command, "idle")
        assert (result.returncode, daemon_error(result)) == (1, message), command
    ok(hakod, "start", "idle")
    ok(hakod, "wait", "idle")
    assert ok(hakod, "start", "idle") == "idle\n"        # starting an exited container again is fine
    ok(hakod, "run", "-d", "--name", "up", "busybox", "sleep", "300")
    assert ok(hakod, "start", "up") == "up\n"            # 304 from the daemon: nothing to do, exit 0
    ok(hakod, "pause", "up")
    result = hakod.docker("pause", "up")
    up = ok(hakod, "inspect", "-f", "{{.Id}}", "up").strip()
    assert (result.returncode, daemon_error(result)) == (1, f"Container {up} is already paused")
    result = hakod.docker("exec", "up", "true")
    assert result.returncode == 1
    assert daemon_error(result) == f"Container {up} is paused, unpause the container before exec"


def test_kill_with_an_invalid_signal(hakod):
    ok(hakod, "run", "-d", "--name", "sig", "busybox", "sleep", "300")
    result = hakod.docker("kill", "-s", "NOPE", "sig")
    assert result.returncode == 1
    assert daemon_error(result) == "Invalid signal: NOPE"


def test_logs_of_a_container_without_a_log(hakod):
    hakod.docker("run", "--log-driver", "none", "--name", "nolog", "busybox", "echo", "x", check=True)
    result = hakod.docker("logs", "nolog")
    assert result.returncode == 1
    assert daemon_error(result) == "configured logging driver does not support reading"


# --- the raw API ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1.44/containers/create", "/containers/create"])
def test_malformed_json_is_a_400_with_a_json_message(hakod, path):
    resp = hakod.api("POST", path, body=b'{"Image": "busybox",', headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json()["message"].startswith("invalid JSON")


def test_malformed_json_elsewhere(hakod):
    ok(hakod, "run", "-d", "--name", "j", "busybox", "sleep", "300")
    for path in ("/v1.44/containers/j/exec", "/v1.44/containers/j/update"):
        resp = hakod.api("POST", path, body=b"{not json", headers={"Content-Type": "application/json"})
        assert resp.status == 400, path
        assert isinstance(resp.json()["message"], str)


def test_wrong_json_types_are_400s_naming_the_field(hakod):
    resp = hakod.api("POST", "/v1.44/containers/create", body={"Image": "busybox", "HostConfig": {"Memory": "lots"}})
    assert resp.status == 400
    assert resp.json()["message"] == ("json: cannot unmarshal string into Go struct field HostConfig.Memory "
                                      "of type int64")
    resp = hakod.api("POST", "/v1.44/containers/create", body={"Image": "busybox", "Env": [1]})
    assert resp.status == 400
    assert "Config.Env" in resp.json()["message"]


def test_unknown_routes_and_versions(hakod):
    resp = hakod.api("GET", "/v1.44/no/such/route")
    assert (resp.status, resp.json()) == (404, {"message": "page not found"})
    resp = hakod.api("GET", "/v1.99/info")
    assert resp.status == 400
    assert resp.json()["message"].startswith("client version 1.99 is too new")
    resp = hakod.api("GET", "/v1.44/containers/nope/json")
    assert (resp.status, resp.json()) == (404, {"message": "No such container: nope"})
    assert resp.headers["Api-Version"] == "1.44"


def test_bad_query_values(hakod):
    resp = hakod.api("GET", "/v1.44/containers/json?filters=" + "not-json")
    assert resp.status == 400
    resp = hakod.api("GET", "/v1.44/containers/json?filters=" + quote(json.dumps({"bogus": ["1"]})))
    assert (resp.status, resp.json()) == (400, {"message": "invalid filter 'bogus'"})
    result = hakod.docker("ps", "-f", "status=sleepy")
    assert result.returncode == 1
    assert daemon_error(result) == "Invalid filter 'status=sleepy'"
