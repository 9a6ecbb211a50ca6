"""The real docker CLI against hakod: the daemon as a whole — version, info, events, system df,
and the prune commands.

Prune with `-a` would delete busybox:latest, which every other test needs: these tests prune
dangling images and stopped containers only.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import time

from tests.conftest import needs_root
from tests.daemon import DOCKER

pytestmark = needs_root


def ok(hakod, *args, **kwargs):
    return hakod.docker(*args, check=True, **kwargs).stdout


def stamp(t: float) -> str:
    """A time as `docker events --since/--until` takes it: seconds.nanoseconds."""
    return f"{t:.9f}"


def one_file_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("f")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    return buf.getvalue()


# --- version, info --------------------------------------------------------------------------------

def test_version(hakod):
    assert ok(hakod, "version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}") == "1.44 linux\n"
    out = ok(hakod, "version")
    server = out[out.index("Server:"):]
    assert "API version:      1.44 (minimum version 1.24)" in server
    assert "Experimental:     false" in server
    # The client negotiated down to what hakod serves.
    assert "API version:       1.44 (downgraded from 1.50)" in out


def test_info_counts(hakod):
    ok(hakod, "run", "-d", "--name", "i-run", "busybox", "sleep", "300")
    ok(hakod, "run", "-d", "--name", "i-paused", "busybox", "sleep", "300")
    ok(hakod, "pause", "i-paused")
    ok(hakod, "create", "--name", "i-new", "busybox", "true")
    out = ok(hakod, "info", "--format",
             "{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}} {{.Images}}")
    images = len(set(ok(hakod, "images", "-aq").split()))
    assert out == f"3 1 1 1 {images}\n"


def test_info_text(hakod):
    result = hakod.docker("info")
    assert result.returncode == 0, result.stderr
    assert "Server Version: " in result.stdout
    assert "Storage Driver: overlay2" in result.stdout
    assert "Logging Driver: json-file" in result.stdout
    assert ok(hakod, "system", "info", "--format", "{{.OSType}} {{.Driver}}") == "linux overlay2\n"


# --- events ---------------------------------------------------------------------------------------

def test_events_since_until_of_a_containers_life(hakod):
    since = time.time()
    ok(hakod, "run", "--rm", "--name", "evt", "-l", "evt=1", "busybox", "true")
    until = time.time()
    out = ok(hakod, "events", "--since", stamp(since), "--until", stamp(until),
             "--filter", "container=evt", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}")
    actions = [line.split()[1] for line in out.splitlines()]
    assert out.splitlines()[0] == "container create evt"
    # An attached `run` also logs "attach" with dockerd; the order of the rest is fixed.
    assert [a for a in actions if a != "attach"] == ["create", "start", "die", "destroy"]
    raw = ok(hakod, "system", "events", "--since", stamp(since), "--until", stamp(until),
             "--filter", "event=die", "--filter", "label=evt=1", "--format", "{{json .}}")
    event = json.loads(raw)
    assert (event["Type"], event["Action"], event["status"]) == ("container", "die", "die")
    assert event["Actor"]["Attributes"]["exitCode"] == "0"
    assert event["Actor"]["Attributes"]["image"] == "busybox"
    assert event["timeNano"] // 10**9 == event["time"]


def test_events_until_in_the_past_ends_at_once_and_the_default_text(hakod):
    since = time.time()
    ok(hakod, "create", "--name", "evt2", "busybox", "true")
    until = time.time()
    out = ok(hakod, "events", "--since", stamp(since), "--until", stamp(until), "-f", "container=evt2")
    line = out.splitlines()[0]
    cid = ok(hakod, "inspect", "-f", "{{.Id}}", "evt2").strip()
    # 2024-01-01T00:00:00.000000000Z container create <id> (image=busybox, name=evt2)
    date, kind, action, actor, attrs = line.split(" ", 4)
    assert (kind, action, actor) == ("container", "create", cid)
    assert date.endswith("Z") and "T" in date
    assert attrs == "(image=busybox, name=evt2)"


def test_events_stream_live(hakod):
    since = stamp(time.time())
    # --since now: anything between our subscription and the create is not lost either way.
    proc = subprocess.Popen([DOCKER, "events", "--since", since, "--filter", "container=live",
                             "--format", "{{.Action}}"], env=hakod.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        ok(hakod, "run", "--name", "live", "busybox", "true")
        seen = []
        while "die" not in seen:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            seen.append(line.strip())
        assert [a for a in seen if a != "attach"] == ["create", "start", "die"]
        assert proc.poll() is None          # no --until: it keeps streaming
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_image_events(hakod):
    since = time.time()
    ok(hakod, "tag", "busybox", "evtimg:1")
    ok(hakod, "rmi", "evtimg:1")
    until = time.time()
    out = ok(hakod, "events", "--since", stamp(since), "--until", stamp(until), "--filter", "type=image",
             "--format", "{{.Action}} {{.Actor.Attributes.name}}")
    # (dockerd names an untag by the image's id; only the tag's name is pinned here)
    assert [line.split()[0] for line in out.splitlines()] == ["tag", "untag"]
    assert out.splitlines()[0] == "tag evtimg:1"


def test_untag_event_names_the_image_id(hakod):
    since = time.time()
    ok(hakod, "tag", "busybox", "evtimg:2")
    ok(hakod, "rmi", "evtimg:2")
    until = time.time()
    out = ok(hakod, "events", "--since", stamp(since), "--until", stamp(until), "--filter", "event=untag",
             "--format", "{{.Actor.ID}} {{.Actor.Attributes.name}}")
    image = ok(hakod, "image", "inspect", "-f", "{{.Id}}", "busybox").strip()
    assert out == f"{image} {image}\n"


# --- system df, prune -----------------------------------------------------------------------------

def test_system_df(hakod):
    ok(hakod, "run", "--name", "df1", "busybox", "sh", "-c", "head -c 1000000 /dev/zero > /blob")
    lines = ok(hakod, "system", "df").splitlines()
    assert lines[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["Containers"][1:3] == ["1", "0"]
    assert rows["Containers"][3] == "1MB"
    assert rows["Images"][2] == "1"          # busybox is in use by df1
    verbose = ok(hakod, "system", "df", "-v")
    assert "df1" in verbose and "busybox" in verbose


def test_system_prune_removes_stopped_containers_and_dangling_images(hakod):
    ok(hakod, "run", "-d", "--name", "keep", "busybox", "sleep", "300")
    stopped = ok(hakod, "create", "--name", "stopped", "busybox", "true").strip()
    dangling = ok(hakod, "import", "-", input=one_file_tar()).decode().strip()
    result = hakod.docker("system", "prune", "-f")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"Deleted Containers:\n{stopped}\n")
    assert f"deleted: {dangling}" in out
    assert out.rstrip().splitlines()[-1].startswith("Total reclaimed space: ")
    assert ok(hakod, "ps", "-a", "--format", "{{.Names}}") == "keep\n"
    assert hakod.docker("image", "inspect", dangling).returncode == 1
    assert ok(hakod, "image", "inspect", "-f", "{{.RepoTags}}", "busybox") == "[busybox:latest]\n"


def test_container_and_image_prune(hakod):
    a = ok(hakod, "create", "--name", "pa", "-l", "prune=yes", "busybox", "true").strip()
    ok(hakod, "create", "--name", "pb", "busybox", "true")
    out = ok(hakod, "container", "prune", "-f", "--filter", "label=prune=yes")
    assert out.startswith(f"Deleted Containers:\n{a}\n")
    assert ok(hakod, "ps", "-a", "--format", "{{.Names}}") == "pb\n"
    assert ok(hakod, "image", "prune", "-f") == "Total reclaimed space: 0B\n"
    assert ok(hakod, "container", "prune", "-f") .startswith("Deleted Containers:\n")
    assert ok(hakod, "ps", "-aq") == ""
