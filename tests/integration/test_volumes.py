"""Volumes, binds and tmpfs against a real hakod (raw Engine API): data that outlives containers,
host changes seen live, tmpfs empty at each start, copy-up from the image, in-use refusals that
change nothing, and no mount left behind (the `hakod` fixture checks the mount table)."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import tempfile
import time
import uuid

import pytest

from tests.conftest import needs_root
from tests.daemon import _quote

pytestmark = needs_root


def _create(hakod, cmd, name=None, **host):
    body = {"Image": "busybox", "Cmd": cmd, "HostConfig": host}
    volumes = host.pop("Volumes", None)
    if volumes:
        body["Volumes"] = volumes
    resp = hakod.api("POST", "/containers/create" + (f"?name={name}" if name else ""), body)
    assert resp.status == 201, resp.body
    return resp.json()["Id"]


def _run(hakod, cmd, **host) -> tuple[str, str]:
    """Create, start and wait; the container id and its output."""
    cid = _create(hakod, cmd, **host)
    assert hakod.api("POST", f"/containers/{cid}/start").status == 204
    wait = hakod.api("POST", f"/containers/{cid}/wait").json()
    logs = hakod.api("GET", f"/containers/{cid}/logs?stdout=1&stderr=1").body
    return cid, _demux(logs), wait["StatusCode"]


def _demux(raw: bytes) -> str:
    out, i = b"", 0
    while i + 8 <= len(raw):
        size = int.from_bytes(raw[i + 4:i + 8], "big")
        out += raw[i + 8:i + 8 + size]
        i += 8 + size
    return out.decode()


@pytest.fixture
def volume(hakod):
    name = "t-" + uuid.uuid4().hex[:10]
    yield name
    hakod.remove_all_containers()
    hakod.api("DELETE", f"/volumes/{name}?force=1")


@pytest.fixture
def hostdir():
    path = tempfile.mkdtemp(prefix="hako-test-bind-", dir="/var/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_named_volume_keeps_data_across_container_removal(hakod, volume):
    cid, out, code = _run(hakod, ["sh", "-c", "echo persisted > /data/f"], Binds=[f"{volume}:/data"])
    assert code == 0, out
    info = hakod.api("GET", f"/containers/{cid}/json").json()
    (mount,) = info["Mounts"]
    assert mount["Type"] == "volume" and mount["Name"] == volume and mount["Destination"] == "/data"
    assert mount["Driver"] == "local" and mount["RW"] is True and mount["Mode"] == "z"
    assert hakod.api("DELETE", f"/containers/{cid}?v=1").status == 204
    vol = hakod.api("GET", f"/volumes/{volume}").json()
    assert vol["Mountpoint"].endswith(f"/volumes/{volume}/_data") and vol["Scope"] == "local"
    with open(os.path.join(vol["Mountpoint"], "f")) as f:
        assert f.read() == "persisted\n"
    _, out, code = _run(hakod, ["cat", "/data/f"], Binds=[f"{volume}:/data:ro"])
    assert (code, out) == (0, "persisted\n")


def test_bind_mount_shows_host_changes_live(hakod, hostdir):
    cid = _create(hakod, ["sh", "-c", "while true; do cat /h/f 2>/dev/null; sleep 0.05; done"],
                  Binds=[f"{hostdir}:/h:ro"])
    assert hakod.api("POST", f"/containers/{cid}/start").status == 204
    token = uuid.uuid4().hex
    with open(os.path.join(hostdir, "f"), "w") as f:
        f.write(token + "\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if token in _demux(hakod.api("GET", f"/containers/{cid}/logs?stdout=1").body):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the container never saw the host's change")
    # read-only: the container cannot write through it
    exec_id = hakod.api("POST", f"/containers/{cid}/exec", {"Cmd": ["touch", "/h/g"], "AttachStdout": True}).json()["Id"]
    hakod.api("POST", f"/exec/{exec_id}/start", {"Detach": False})
    assert hakod.api("GET", f"/exec/{exec_id}/json").json()["ExitCode"] != 0
    assert not os.path.exists(os.path.join(hostdir, "g"))


def test_missing_bind_source_is_made_for_binds_but_refused_for_mount(hakod, hostdir):
    missing = os.path.join(hostdir, "new", "dir")
    _, out, code = _run(hakod, ["sh", "-c", "echo x > /m/f"], Binds=[f"{missing}:/m"])
    assert code == 0 and os.path.isfile(os.path.join(missing, "f"))
    other = os.path.join(hostdir, "nope")
    resp = hakod.api("POST", "/containers/create", {"Image": "busybox", "HostConfig": {
        "Mounts": [{"Type": "bind", "Source": other, "Target": "/m"}]}})
    assert resp.status == 400
    assert resp.json()["message"] == f'invalid mount config for type "bind": bind source path does not exist: {other}'
    assert not os.path.exists(other)


def test_tmpfs_is_empty_at_each_start(hakod):
    cid = _create(hakod, ["sh", "-c", "ls -A /t; touch /t/was-here; grep ' /t ' /proc/mounts"],
                  Tmpfs={"/t": "size=1m"})
    for _ in range(2):
        assert hakod.api("POST", f"/containers/{cid}/start").status == 204
        assert hakod.api("POST", f"/containers/{cid}/wait").json()["StatusCode"] == 0
    logs = _demux(hakod.api("GET", f"/containers/{cid}/logs?stdout=1").body)
    assert "was-here" not in logs
    assert logs.count("tmpfs /t tmpfs") == 2 and "size=1024k" in logs and "noexec" in logs
    assert hakod.api("GET", f"/containers/{cid}/json").json()["HostConfig"]["Tmpfs"] == {"/t": "size=1m"}


def test_mount_type_tmpfs_with_size_and_mode(hakod):
    _, out, code = _run(hakod, ["sh", "-c", "grep ' /t ' /proc/mounts; stat -c %a /t"], Mounts=[
        {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 2 * 1024 * 1024, "Mode": 0o700}}])
    assert code == 0, out
    assert "size=2048k" in out and "mode=700" in out and out.strip().endswith("700")


@pytest.fixture
def image_with_volume(hakod, busybox_image_tar, tmp_path):
    """busybox plus /srv/data/{conf (0640, 1000:1000), sub/, link} and VOLUME /srv/data."""
    path = str(tmp_path / "img.tar")
    shutil.copy(busybox_image_tar, path)
    with tarfile.open(path, "a") as tar:
        for name, kind in (("srv", "d"), ("srv/data", "d"), ("srv/data/sub", "d"),
                           ("srv/data/conf", "f"), ("srv/data/link", "l")):
            info = tarfile.TarInfo(name)
            if kind == "d":
                info.type, info.mode = tarfile.DIRTYPE, 0o750
                info.uid = info.gid = 1000 if name == "srv/data" else 0
                tar.addfile(info)
            elif kind == "f":
                data = b"from the image\n"
                info.size, info.mode, info.uid, info.gid = len(data), 0o640, 1000, 1000
                tar.addfile(info, io.BytesIO(data))
            else:
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
    repo = "volimg-" + uuid.uuid4().hex[:6]
    changes = _quote('VOLUME ["/srv/data"]')
    with open(path, "rb") as f:
        resp = hakod.api("POST", f"/images/create?fromSrc=-&repo={repo}&tag=1&changes={changes}", body=f.read(),
                         headers={"Content-Type": "application/x-tar"})
    assert resp.status == 200, resp.body
    yield f"{repo}:1"
    hakod.remove_all_containers()
    hakod.api("DELETE", f"/images/{repo}:1?force=1")


def _volumes(hakod) -> set[str]:
    return {v["Name"] for v in hakod.api("GET", "/volumes").json()["Volumes"]}


def test_image_volume_is_anonymous_copied_up_and_removed_with_rm_v(hakod, image_with_volume):
    before = _volumes(hakod)
    resp = hakod.api("POST", "/containers/create", {"Image": image_with_volume, "Cmd": ["ls", "-ln", "/srv/data"]})
    assert resp.status == 201, resp.body
    cid = resp.json()["Id"]
    (mount,) = hakod.api("GET", f"/containers/{cid}/json").json()["Mounts"]
    assert mount["Type"] == "volume" and len(mount["Name"]) == 64 and mount["Destination"] == "/srv/data"
    vol = hakod.api("GET", f"/volumes/{mount['Name']}").json()
    assert vol["Labels"] == {"com.docker.volume.anonymous": ""}
    assert hakod.api("POST", f"/containers/{cid}/start").status == 204
    assert hakod.api("POST", f"/containers/{cid}/wait").json()["StatusCode"] == 0
    data = vol["Mountpoint"]
    st = os.lstat(os.path.join(data, "conf"))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1000, 1000, 0o640)
    assert os.readlink(os.path.join(data, "link")) == "/etc/passwd"
    root = os.stat(data)
    assert (root.st_uid, root.st_mode & 0o777) == (1000, 0o750)
    # dangling only once no container refers to it
    dangling = hakod.api("GET", "/volumes?filters=" + _quote(json.dumps({"dangling": ["true"]}))).json()
    assert mount["Name"] not in {v["Name"] for v in dangling["Volumes"]}
    assert hakod.api("DELETE", f"/containers/{cid}?v=1").status == 204
    assert _volumes(hakod) == before


def test_nocopy_and_a_volume_with_content_are_not_filled(hakod, image_with_volume, volume):
    resp = hakod.api("POST", "/containers/create", {"Image": image_with_volume, "Cmd": ["ls", "-A", "/srv/data"],
                                                    "HostConfig": {"Binds": [f"{volume}:/srv/data:nocopy"]}})
    cid = resp.json()["Id"]
    hakod.api("POST", f"/containers/{cid}/start")
    hakod.api("POST", f"/containers/{cid}/wait")
    assert _demux(hakod.api("GET", f"/containers/{cid}/logs?stdout=1").body) == ""


def test_volume_rm_in_use_is_409_and_changes_nothing(hakod, volume):
    cid = _create(hakod, ["sh", "-c", "echo keep > /v/f"], Binds=[f"{volume}:/v"])
    hakod.api("POST", f"/containers/{cid}/start")
    hakod.api("POST", f"/containers/{cid}/wait")
    resp = hakod.api("DELETE", f"/volumes/{volume}")
    assert resp.status == 409
    assert resp.json()["message"] == f"remove {volume}: volume is in use - [{cid}]"
    resp = hakod.api("DELETE", f"/volumes/{volume}?force=1")
    assert resp.status == 409
    vol = hakod.api("GET", f"/volumes/{volume}").json()
    with open(os.path.join(vol["Mountpoint"], "f")) as f:
        assert f.read() == "keep\n"
    assert hakod.api("DELETE", f"/containers/{cid}").status == 204
    assert hakod.api("DELETE", f"/volumes/{volume}").status == 204
    assert not os.path.exists(os.path.dirname(vol["Mountpoint"]))
    assert hakod.api("GET", f"/volumes/{volume}").json()["message"] == f"get {volume}: no such volume"


def test_volume_create_inspect_list_filters_and_prune(hakod, volume):
    resp = hakod.api("POST", "/volumes/create", {"Name": volume, "Labels": {"team": "a"}})
    assert resp.status == 201
    body = resp.json()
    assert set(body) == {"CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"}
    assert body["Labels"] == {"team": "a"} and body["Options"] is None and body["CreatedAt"].endswith("Z")
    anon = hakod.api("POST", "/volumes/create", {}).json()["Name"]
    assert len(anon) == 64
    q = lambda f: {v["Name"] for v in hakod.api("GET", "/volumes?filters=" + _quote(json.dumps(f))).json()["Volumes"]}
    assert q({"label": ["team=a"]}) == {volume}
    assert q({"label": ["team=b"]}) == set()
    assert volume in q({"name": [volume[2:8]]}) and anon not in q({"name": [volume]})
    assert hakod.api("GET", "/volumes?filters=" + _quote(json.dumps({"bogus": ["x"]}))).status == 400
    # API >= 1.42: prune takes anonymous volumes only, unless all=true; ours is named
    anonymous = hakod.api("POST", "/volumes/create", {"Labels": {"com.docker.volume.anonymous": ""}}).json()["Name"]
    pruned = hakod.api("POST", "/v1.44/volumes/prune").json()
    assert anonymous in pruned["VolumesDeleted"] and volume not in pruned["VolumesDeleted"]
    assert anon not in pruned["VolumesDeleted"]
    pruned = hakod.api("POST", "/v1.44/volumes/prune?filters=" + _quote(json.dumps({"all": ["true"], "label": ["team=a"]}))).json()
    assert pruned["VolumesDeleted"] == [volume]
    assert hakod.api("DELETE", f"/volumes/{anon}").status == 204


def test_volume_create_bad_input(hakod):
    before = _volumes(hakod)
    cases = [
        ({"Name": "a/b"}, 400, '"a/b" includes invalid characters for a local volume name'),
        ({"Name": "x1", "Driver": "nfsplugin"}, 404, 'plugin "nfsplugin" not found'),
        ({"Name": "x2", "DriverOpts": {"bogus": "1"}}, 400, 'invalid option: "bogus"'),
        ({"Name": "x3", "DriverOpts": {"type": "tmpfs"}}, 400, 'missing required option: "device"'),
    ]
    for body, status, message in cases:
        resp = hakod.api("POST", "/volumes/create", body)
        assert resp.status == status, (body, resp.body)
        assert message in resp.json()["message"]
    assert _volumes(hakod) == before
    assert not any(n.startswith(".new") for n in os.listdir(os.path.join(hakod.data_root, "volumes")))


def test_tmpfs_volume_is_mounted_while_used_and_unmounted_after(hakod, volume):
    resp = hakod.api("POST", "/volumes/create", {"Name": volume, "DriverOpts": {"type": "tmpfs", "device": "tmpfs",
                                                                                  "o": "size=1m"}})
    assert resp.status == 201
    mountpoint = resp.json()["Mountpoint"]
    cid = _create(hakod, ["sh", "-c", "grep ' /v ' /proc/mounts; echo hi > /v/f; sleep 30"], Binds=[f"{volume}:/v"])
    hakod.api("POST", f"/containers/{cid}/start")
    deadline = time.monotonic() + 5
    while not os.path.exists(os.path.join(mountpoint, "f")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _is_mount(mountpoint)
    hakod.api("POST", f"/containers/{cid}/kill")
    hakod.api("POST", f"/containers/{cid}/wait")
    assert not _is_mount(mountpoint)
    assert not os.path.exists(os.path.join(mountpoint, "f"))


def _is_mount(path: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def test_volumes_from_and_duplicates(hakod, volume, hostdir):
    src = _create(hakod, ["true"], name="vf-" + volume, Binds=[f"{volume}:/data", f"{hostdir}:/h"])
    _, out, code = _run(hakod, ["sh", "-c", "echo x > /data/f; touch /h/g 2>/dev/null || echo ro-h"],
                        VolumesFrom=[f"vf-{volume}:ro"])
    assert code != 0 or "ro-h" in out
    assert not os.path.exists(os.path.join(hostdir, "g"))
    _, out, code = _run(hakod, ["sh", "-c", "echo x > /data/f && cat /data/f"], VolumesFrom=[src])
    assert (code, out) == (0, "x\n")
    resp = hakod.api("POST", "/containers/create", {"Image": "busybox", "HostConfig": {
        "Binds": [f"{volume}:/d"], "Mounts": [{"Type": "volume", "Source": volume, "Target": "/d"}]}})
    assert (resp.status, resp.json()["message"]) == (400, "Duplicate mount point: /d")
    resp = hakod.api("POST", "/containers/create", {"Image": "busybox", "HostConfig": {"VolumesFrom": ["nope-x"]}})
    assert resp.status == 404


def test_volume_mounts_survive_a_daemon_kill_and_are_released_after(hakod, volume):
    """kill -9 hakod while a container uses a tmpfs volume: the restarted hakod knows the volume
    is in use (the mount stays), and unmounts it when the container stops."""
    hakod.api("POST", "/volumes/create", {"Name": volume, "DriverOpts": {"type": "tmpfs", "device": "tmpfs"}})
    mountpoint = hakod.api("GET", f"/volumes/{volume}").json()["Mountpoint"]
    cid = _create(hakod, ["sleep", "300"], Binds=[f"{volume}:/v"])
    assert hakod.api("POST", f"/containers/{cid}/start").status == 204
    assert _is_mount(mountpoint)
    hakod.kill9()
    hakod.launch()
    assert _is_mount(mountpoint)
    resp = hakod.api("DELETE", f"/volumes/{volume}")
    assert resp.status == 409
    hakod.api("POST", f"/containers/{cid}/kill")
    hakod.api("POST", f"/containers/{cid}/wait")
    deadline = time.monotonic() + 5
    while _is_mount(mountpoint) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _is_mount(mountpoint)


def test_a_volume_directory_without_a_record_is_swept_at_start(hakod):
    stray = os.path.join(hakod.data_root, "volumes", "stray-" + uuid.uuid4().hex[:6])
    os.makedirs(os.path.join(stray, "_data"))
    hakod.process.terminate()
    hakod.process.wait()
    hakod.launch()
    assert not os.path.exists(stray)
    assert os.path.basename(stray) not in _volumes(hakod)


def test_bind_volume_with_local_driver_options(hakod, volume, hostdir):
    """compose's favourite: a named volume that is a bind of a host directory (o=bind)."""
    resp = hakod.api("POST", "/volumes/create", {"Name": volume, "DriverOpts": {"type": "none", "o": "bind",
                                                                                  "device": hostdir}})
    assert resp.status == 201
    _, out, code = _run(hakod, ["sh", "-c", "echo via-volume > /v/f"], Binds=[f"{volume}:/v"])
    assert code == 0, out
    with open(os.path.join(hostdir, "f")) as f:
        assert f.read() == "via-volume\n"
    assert not _is_mount(resp.json()["Mountpoint"])
    missing = os.path.join(hostdir, "missing")
    other = volume + "-x"
    hakod.api("POST", "/volumes/create", {"Name": other, "DriverOpts": {"type": "none", "o": "bind", "device": missing}})
    try:
        cid = _create(hakod, ["true"], Binds=[f"{other}:/v"])
        resp = hakod.api("POST", f"/containers/{cid}/start")
        assert resp.status == 400 and "failed to mount local volume" in resp.json()["message"]
        assert hakod.api("GET", f"/containers/{cid}/json").json()["State"]["Status"] == "created"
    finally:
        hakod.remove_all_containers()
        hakod.api("DELETE", f"/volumes/{other}")


def test_volume_events(hakod, volume):
    since = time.time() - 1
    hakod.api("POST", "/volumes/create", {"Name": volume})
    cid, _, _ = _run(hakod, ["true"], Binds=[f"{volume}:/v:ro"])
    hakod.api("DELETE", f"/containers/{cid}")
    hakod.api("DELETE", f"/volumes/{volume}")
    filters = _quote(json.dumps({"type": ["volume"]}))
    resp = hakod.api("GET", f"/events?since={since}&until={time.time() + 1}&filters={filters}")
    events = [json.loads(line) for line in resp.body.splitlines() if line.strip()]
    mine = [(e["Action"], e["Actor"]["Attributes"]) for e in events if e["Actor"]["ID"] == volume]
    assert [a for a, _ in mine] == ["create", "mount", "unmount", "destroy"]
    assert mine[1][1] == {"container": cid, "destination": "/v", "driver": "local", "propagation": "",
                          "read/write": "false"}
