"""Bad input gets a clear 4xx and changes nothing (DESIGN.md, security model).

"Nothing" is checked on the host, not only in the API: no container row, no writable snapshot,
no container directory under the data or exec root, no mount, no cgroup, no monitor process.
"""

from __future__ import annotations

import concurrent.futures
from urllib.parse import quote

import pytest

from tests.conftest import needs_root
from tests.integration.hakod_helpers import create, footprint, inspect, start, state, wait_for

pytestmark = needs_root


def _refused(daemon, body, name: str | None = None, raw: bytes | None = None) -> tuple[int, str]:
    before = footprint(daemon)
    path = "/containers/create" + (f"?name={quote(name)}" if name is not None else "")
    if raw is not None:
        resp = daemon.api("POST", path, raw, headers={"Content-Type": "application/json"})
    else:
        resp = daemon.api("POST", path, {"Image": "busybox", "Cmd": ["true"], **body})
    assert 400 <= resp.status < 500, (resp.status, resp.body)
    message = resp.json()["message"]
    assert message
    assert footprint(daemon) == before
    return resp.status, message


def test_an_image_that_does_not_exist(hakod):
    status, message = _refused(hakod, {"Image": "no-such-image:1.0"})
    assert status == 404 and "no-such-image" in message


@pytest.mark.parametrize("name", ["bad name", "-leading-dash", "a/b", "é"])
def test_an_invalid_name(hakod, name):
    status, message = _refused(hakod, {}, name=name)
    assert status == 400 and "Invalid container name" in message


def test_a_name_in_use(hakod):
    cid = create(hakod, {"Cmd": ["true"]}, name="taken")
    status, message = _refused(hakod, {}, name="taken")
    assert status == 409 and cid in message


@pytest.mark.parametrize("host_config, words", [
    ({"Memory": 1024}, "Minimum memory limit allowed is 6MB"),
    ({"NanoCpus": 1000 * 10**9}, "Range of CPUs"),
    ({"CpusetCpus": "99"}, "Requested CPUs are not available"),
    ({"Binds": ["/tmp:relative/dest"]}, "must be absolute"),
    ({"RestartPolicy": {"Name": "sometimes"}}, "invalid restart policy"),
    ({"CapAdd": ["CAP_NOT_A_THING"]}, "unknown capability"),
], ids=["memory-1k", "cpus-1000", "cpuset-99", "relative-bind", "restart-policy", "capability"])
def test_impossible_host_config(hakod, host_config, words):
    status, message = _refused(hakod, {"HostConfig": host_config})
    assert status == 400 and words in message


def test_malformed_json(hakod):
    status, message = _refused(hakod, None, raw=b'{"Image": "busybox", "Cmd": [')
    assert status == 400


def test_a_field_of_the_wrong_type(hakod):
    status, _ = _refused(hakod, {"HostConfig": {"Memory": "lots"}})
    assert status == 400


def test_a_user_missing_from_the_image_fails_at_start_and_changes_nothing(hakod):
    cid = create(hakod, {"Cmd": ["true"], "User": "nobody-here"})
    before = footprint(hakod)
    resp = hakod.api("POST", f"/containers/{cid}/start")
    assert 400 <= resp.status < 600 and resp.status != 204
    assert "unable to find user nobody-here" in resp.json()["message"]
    st = state(hakod, cid)
    assert st["Status"] == "created" and not st["Running"] and st["Pid"] == 0, st
    assert footprint(hakod) == before, "a refused start mounted, spawned or created something"


def test_a_missing_binary_is_127_and_leaves_nothing_running(hakod):
    result = hakod.docker("run", "--name", "nobin", "busybox", "/no/such/binary")
    assert result.returncode == 127, result.stderr
    assert "no such file or directory" in result.stderr.lower() or "not found" in result.stderr
    st = state(hakod, "nobin")
    assert st["Status"] == "created" and st["ExitCode"] == 127 and st["Pid"] == 0, st
    assert footprint(hakod)["leaks"] == []
    # and it can be removed like any other
    assert hakod.api("DELETE", "/containers/nobin").status == 204
    assert footprint(hakod) == {"containers": [], "snapshots": [], "dirs": [], "leaks": []}


def test_a_failed_start_does_not_stop_a_later_good_one(hakod):
    cid = create(hakod, {"Cmd": ["/no/such/binary"]})
    assert hakod.api("POST", f"/containers/{cid}/start").status >= 400
    assert footprint(hakod)["leaks"] == []
    other = create(hakod, {"Cmd": ["sh", "-c", "exit 4"]})
    start(hakod, other)
    assert hakod.api("POST", f"/containers/{other}/wait").json()["StatusCode"] == 4


def test_thirty_concurrent_lifecycles(hakod):
    """create, start, wait and remove, 30 at once through the API: all succeed, nothing is left."""
    before = footprint(hakod)

    def lifecycle(n: int) -> tuple[int, bytes]:
        resp = hakod.api("POST", f"/containers/create?name=conc{n}",
                         {"Image": "busybox", "Cmd": ["sh", "-c", f"echo n{n}; exit {n % 7}"]})
        assert resp.status == 201, resp.body
        cid = resp.json()["Id"]
        resp = hakod.api("POST", f"/containers/{cid}/start")
        assert resp.status == 204, resp.body
        resp = hakod.api("POST", f"/containers/{cid}/wait", timeout=120)
        assert resp.status == 200, resp.body
        code = resp.json()["StatusCode"]
        logs = hakod.api("GET", f"/containers/{cid}/logs?stdout=1").body
        resp = hakod.api("DELETE", f"/containers/{cid}")
        assert resp.status == 204, resp.body
        return code, logs

    with concurrent.futures.ThreadPoolExecutor(30) as pool:
        results = list(pool.map(lifecycle, range(30)))
    for n, (code, logs) in enumerate(results):
        assert code == n % 7
        assert logs.endswith(f"n{n}\n".encode())
    wait_for(lambda: footprint(hakod) == before, timeout=30, what="nothing left behind")


def test_remove_of_a_running_container_needs_force_and_changes_nothing(hakod):
    cid = create(hakod, {"Cmd": ["sleep", "1000"]})
    start(hakod, cid)
    before = footprint(hakod)
    resp = hakod.api("DELETE", f"/containers/{cid}")
    assert resp.status == 409
    assert footprint(hakod) == before and inspect(hakod, cid)["State"]["Running"]
