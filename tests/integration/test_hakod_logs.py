"""json-file logs on disk and through `docker logs`: rotation by max-size/max-file, and follow."""

from __future__ import annotations

import glob
import json
import os
import threading


from tests.conftest import needs_root
from tests.daemon import UnixHTTPConnection
from tests.integration.hakod_helpers import demux, docker_ok, inspect, run_detached, wait_exit, wait_for

pytestmark = needs_root

ROTATING = {"HostConfig": {"LogConfig": {"Type": "json-file", "Config": {"max-size": "1k", "max-file": "2"}}}}


def _numbers(text: str, prefix: str = "line") -> list[int]:
    return [int(word[len(prefix):]) for word in text.split()]


def test_rotation_keeps_max_file_files_of_about_max_size(hakod):
    cid = run_detached(hakod, "sh", "-c", "i=0; while [ $i -lt 500 ]; do echo line$i; i=$((i+1)); done", **ROTATING)
    assert wait_exit(hakod, cid) == 0
    log_path = inspect(hakod, cid)["LogPath"]
    files = sorted(glob.glob(log_path + "*"))
    assert files == [log_path, log_path + ".1"], files
    entries = []
    for name in (log_path + ".1", log_path):
        with open(name) as f:
            lines = f.read().splitlines()
        entries += [json.loads(line) for line in lines]
        # Docker checks the size before it writes an entry: a file ends at most one entry past 1k.
        assert os.path.getsize(name) <= 1024 + max(len(line) + 1 for line in lines)
    assert all(e["stream"] == "stdout" and e["time"].endswith("Z") for e in entries)
    on_disk = _numbers("".join(e["log"] for e in entries))
    assert on_disk == list(range(on_disk[0], 500)), "the two files hold the newest lines, in order"
    assert on_disk[0] > 0, "older lines were rotated away"

    out = docker_ok(hakod, "logs", cid)
    assert _numbers(out) == on_disk
    assert _numbers(docker_ok(hakod, "logs", "--tail", "3", cid)) == [497, 498, 499]


def test_follow_reads_across_rotations(hakod, tmp_path):
    """`logs -f` from before the first line to the end: every line, once, in order, although the
    live file was renamed many times under the reader."""
    trigger = tmp_path / "t"
    trigger.mkdir()
    total = 200
    cid = run_detached(hakod, "sh", "-c", "while [ ! -e /t/go ]; do sleep 0.05; done; "
                       f"i=0; while [ $i -lt {total} ]; do echo line$i; i=$((i+1)); sleep 0.02; done",
                       HostConfig={**ROTATING["HostConfig"], "Binds": [f"{trigger}:/t"]})
    conn = UnixHTTPConnection(hakod.socket, timeout=120)
    try:
        conn.request("GET", f"/containers/{cid}/logs?stdout=1&stderr=1&follow=1")
        resp = conn.getresponse()        # the headers: the follower is in place
        assert resp.status == 200
        (trigger / "go").touch()
        body = resp.read()               # ends when the container does
    finally:
        conn.close()
    assert _numbers(demux(body).decode()) == list(range(total))
    rotated = glob.glob(inspect(hakod, cid)["LogPath"] + ".*")
    assert rotated, "the log never rotated: the test proved nothing"


def test_follow_keeps_up_with_a_fast_writer(hakod, tmp_path):
    # Several rotations happen between two polls of the follower; with enough files kept, none
    # of their lines may be missed. (With fewer files than rotations, lines are gone from disk
    # before anyone reads them, as with Docker's json-file.)
    trigger = tmp_path / "t"
    trigger.mkdir()
    total = 3000
    cid = run_detached(hakod, "sh", "-c", "while [ ! -e /t/go ]; do sleep 0.05; done; "
                       f"i=0; while [ $i -lt {total} ]; do echo line$i; i=$((i+1)); done",
                       HostConfig={"LogConfig": {"Type": "json-file", "Config": {"max-size": "10k", "max-file": "30"}},
                                   "Binds": [f"{trigger}:/t"]})
    conn = UnixHTTPConnection(hakod.socket, timeout=120)
    try:
        conn.request("GET", f"/containers/{cid}/logs?stdout=1&follow=1")
        resp = conn.getresponse()
        (trigger / "go").touch()
        body = resp.read()
    finally:
        conn.close()
    assert _numbers(demux(body).decode()) == list(range(total))


def test_docker_logs_follow_ends_when_the_container_stops(hakod):
    cid = run_detached(hakod, "sh", "-c", "echo first; sleep 1000")
    result = {}

    def follow():
        result["out"] = hakod.docker("logs", "-f", cid, timeout=60)

    thread = threading.Thread(target=follow)
    thread.start()
    wait_for(lambda: inspect(hakod, cid)["State"]["Running"])
    docker_ok(hakod, "kill", cid)
    thread.join(60)
    assert not thread.is_alive()
    assert result["out"].returncode == 0 and result["out"].stdout == "first\n"


def test_stdout_and_stderr_are_kept_apart(hakod):
    cid = run_detached(hakod, "sh", "-c", "echo out; echo err >&2")
    wait_exit(hakod, cid)
    assert hakod.docker("logs", cid).stdout == "out\n"
    assert hakod.docker("logs", cid).stderr == "err\n"
    resp = hakod.api("GET", f"/containers/{cid}/logs?stderr=1")
    assert demux(resp.body) == b"err\n"


def test_log_driver_none_keeps_no_file(hakod):
    cid = run_detached(hakod, "echo", "nowhere", HostConfig={"LogConfig": {"Type": "none"}})
    wait_exit(hakod, cid)
    assert not os.path.exists(inspect(hakod, cid)["LogPath"] or "/nonexistent")
    assert hakod.api("GET", f"/containers/{cid}/logs?stdout=1").status >= 400


def test_bad_log_options_are_refused(hakod):
    resp = hakod.api("POST", "/containers/create", {"Image": "busybox", "HostConfig": {
        "LogConfig": {"Type": "json-file", "Config": {"max-size": "lots"}}}})
    assert resp.status == 400
    resp = hakod.api("POST", "/containers/create", {"Image": "busybox", "HostConfig": {
        "LogConfig": {"Type": "syslog"}}})
    assert 400 <= resp.status < 600 and resp.status != 201
