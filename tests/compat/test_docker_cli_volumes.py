"""`docker volume …` and `docker run -v/--mount/--tmpfs/--volumes-from` (the real docker CLI),
and the same commands through hako's CLI, against hakod: what the user sees and what the
container sees."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

from tests.conftest import needs_root

pytestmark = needs_root


@pytest.fixture(params=["docker", "hako"])
def cli(request, hakod):
    """Run the docker CLI or hako's CLI against hakod, the same arguments for both."""
    return getattr(hakod, request.param)


@pytest.fixture
def vname(hakod):
    names = []

    def make() -> str:
        names.append("cv-" + uuid.uuid4().hex[:10])
        return names[-1]
    yield make
    hakod.remove_all_containers()
    for name in names:
        hakod.api("DELETE", f"/volumes/{name}?force=1")


@pytest.fixture
def hostdir():
    path = tempfile.mkdtemp(prefix="hako-test-cli-bind-", dir="/var/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_volume_create_ls_inspect_rm(cli, vname):
    name = vname()
    result = cli("volume", "create", "--label", "team=blue", "-o", "type=tmpfs", "-o", "device=tmpfs",
                 "-o", "o=size=1m", name)
    assert (result.returncode, result.stdout) == (0, name + "\n"), result.stderr
    ls = cli("volume", "ls", "--filter", "label=team=blue").stdout.splitlines()
    assert ls[0].split() == ["DRIVER", "VOLUME", "NAME"] and ls[1].split() == ["local", name]
    assert cli("volume", "ls", "-q", "--filter", f"name={name}").stdout == name + "\n"
    assert cli("volume", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}", "--filter", f"name={name}").stdout \
        == f"{name} local local\n"
    info = json.loads(cli("volume", "inspect", name).stdout)
    assert info[0]["Name"] == name and info[0]["Labels"] == {"team": "blue"}
    assert info[0]["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
    assert cli("volume", "inspect", "-f", "{{.Mountpoint}}", name).stdout.strip().endswith(f"/volumes/{name}/_data")
    assert cli("volume", "rm", name).stdout == name + "\n"
    gone = cli("volume", "inspect", name)
    assert gone.returncode == 1 and f"get {name}: no such volume" in gone.stderr


def test_named_volume_persists_between_runs(cli, vname):
    name = vname()
    assert cli("run", "--rm", "-v", f"{name}:/data", "busybox", "sh", "-c", "echo persisted > /data/f").returncode == 0
    assert cli("run", "--rm", "-v", f"{name}:/data:ro", "busybox", "cat", "/data/f").stdout == "persisted\n"
    ro = cli("run", "--rm", "--mount", f"type=volume,src={name},dst=/data,readonly", "busybox", "touch", "/data/g")
    assert ro.returncode == 1 and "Read-only file system" in ro.stderr


def test_volume_rm_in_use_fails_and_keeps_it(cli, hakod, vname):
    name = vname()
    cid = cli("create", "-v", f"{name}:/data", "busybox", "true").stdout.strip()
    result = cli("volume", "rm", name)
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error response from daemon: remove {name}: volume is in use - [{cid}]"
    assert hakod.api("GET", f"/volumes/{name}").status == 200


def test_anonymous_volumes_go_with_rm_v_and_run_rm(cli, hakod):
    before = {v["Name"] for v in hakod.api("GET", "/volumes").json()["Volumes"]}
    assert cli("run", "--rm", "-v", "/scratch", "busybox", "sh", "-c", "echo x > /scratch/f").returncode == 0
    # gone by the time `run --rm` returns, as with Docker
    assert {v["Name"] for v in hakod.api("GET", "/volumes").json()["Volumes"]} == before
    cid = cli("create", "-v", "/scratch", "busybox", "true").stdout.strip()
    mounts = json.loads(cli("inspect", "-f", "{{json .Mounts}}", cid).stdout)
    assert mounts[0]["Type"] == "volume" and mounts[0]["Destination"] == "/scratch" and len(mounts[0]["Name"]) == 64
    assert cli("rm", "-v", cid).returncode == 0
    assert {v["Name"] for v in hakod.api("GET", "/volumes").json()["Volumes"]} == before


def test_volume_prune_takes_anonymous_only_unless_all(cli, hakod, vname):
    named = vname()
    cli("volume", "create", "--label", "prune-test=1", named)
    anon = hakod.api("POST", "/volumes/create", {"Labels": {"com.docker.volume.anonymous": "", "prune-test": "1"}}).json()["Name"]
    out = cli("volume", "prune", "-f", "--filter", "label=prune-test=1")
    assert out.returncode == 0 and f"Deleted Volumes:\n{anon}\n" in out.stdout and named not in out.stdout
    assert "Total reclaimed space:" in out.stdout
    out = cli("volume", "prune", "-a", "-f", "--filter", "label=prune-test=1")
    assert f"Deleted Volumes:\n{named}\n" in out.stdout


def test_bind_mount_and_missing_source_rules(cli, hostdir):
    with open(os.path.join(hostdir, "hello.txt"), "w") as f:
        f.write("from the host\n")
    assert cli("run", "--rm", "-v", f"{hostdir}:/host:ro", "busybox", "cat", "/host/hello.txt").stdout == "from the host\n"
    made = os.path.join(hostdir, "made-by-v")
    assert cli("run", "--rm", "-v", f"{made}:/m", "busybox", "true").returncode == 0
    assert os.path.isdir(made)
    missing = os.path.join(hostdir, "missing")
    result = cli("run", "--rm", "--mount", f"type=bind,src={missing},dst=/m", "busybox", "true")
    assert result.returncode == 125
    assert f'invalid mount config for type "bind": bind source path does not exist: {missing}' in result.stderr
    assert not os.path.exists(missing)


@pytest.fixture
def shared_dir(hostdir):
    """A tmpfs mounted shared on the host: what a bind with shared or slave propagation needs."""
    path = os.path.join(hostdir, "shared")
    os.mkdir(path)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", path], check=True)
    subprocess.run(["mount", "--make-shared", path], check=True)
    yield path
    subprocess.run(["umount", "-l", path], check=False)


def test_bind_propagation(cli, hostdir, shared_dir):
    out = cli("run", "--rm", "--mount", f"type=bind,src={shared_dir},dst=/b,bind-propagation=rslave", "busybox",
              "grep", " /b ", "/proc/self/mountinfo").stdout
    assert "master:" in out
    out = cli("run", "--rm", "-v", f"{shared_dir}:/b:rshared", "busybox", "grep", " /b ", "/proc/self/mountinfo").stdout
    assert "shared:" in out
    # the host's / here is a private mount: a slave of it cannot be made
    private = cli("run", "--rm", "-v", f"{hostdir}:/b:rslave", "busybox", "true")
    assert private.returncode != 0
    assert f"path {hostdir} is mounted on / but it is not a shared or slave mount" in private.stderr


def test_tmpfs_flags(cli):
    out = cli("run", "--rm", "--tmpfs", "/t:size=2m,mode=1770", "busybox", "sh", "-c",
              "grep ' /t ' /proc/mounts; stat -c %a /t").stdout
    assert "tmpfs /t tmpfs" in out and "size=2048k" in out and out.strip().endswith("1770")
    out = cli("run", "--rm", "--mount", "type=tmpfs,dst=/u,tmpfs-size=1m", "busybox", "grep", " /u ", "/proc/mounts").stdout
    assert "size=1024k" in out
    bad = cli("run", "--rm", "--mount", "type=tmpfs,dst=/u,bogus=1", "busybox", "true")
    assert bad.returncode == 125 and "unexpected key 'bogus' in 'bogus=1'" in bad.stderr


def test_volumes_from(cli, vname):
    name = vname()
    src = "vf-" + name
    assert cli("create", "--name", src, "-v", f"{name}:/shared", "busybox", "true").returncode == 0
    assert cli("run", "--rm", "--volumes-from", src, "busybox", "sh", "-c", "echo hi > /shared/f").returncode == 0
    assert cli("run", "--rm", "--volumes-from", f"{src}:ro", "busybox", "cat", "/shared/f").stdout == "hi\n"
    ro = cli("run", "--rm", "--volumes-from", f"{src}:ro", "busybox", "touch", "/shared/g")
    assert ro.returncode == 1


def test_image_content_is_copied_into_a_new_volume(cli, vname):
    name = vname()
    # busybox's /etc has passwd: a new volume mounted there starts with it
    out = cli("run", "--rm", "-v", f"{name}:/etc", "busybox", "cat", "/etc/passwd").stdout
    assert out.startswith("root:x:0:0:")
    out = cli("run", "--rm", "--mount", "type=volume,dst=/etc,volume-nocopy", "busybox", "ls", "/etc").stdout
    assert "passwd" not in out


def test_mount_creates_a_volume_with_its_options_and_labels(cli, hakod, vname):
    name = vname()
    out = cli("run", "--rm", "--mount", f"type=volume,src={name},dst=/v,volume-label=made=by-mount,"
              "volume-opt=type=tmpfs,volume-opt=device=tmpfs", "busybox", "grep", " /v ", "/proc/mounts")
    assert out.returncode == 0 and "tmpfs /v tmpfs" in out.stdout, out.stderr
    info = hakod.api("GET", f"/volumes/{name}").json()
    assert info["Labels"] == {"made": "by-mount"} and info["Options"] == {"type": "tmpfs", "device": "tmpfs"}
    cid = cli("create", "--mount", f"type=volume,src={name},dst=/v,volume-nocopy", "busybox").stdout.strip()
    host_mounts = json.loads(cli("inspect", "-f", "{{json .HostConfig.Mounts}}", cid).stdout)
    assert host_mounts == [{"Type": "volume", "Source": name, "Target": "/v", "VolumeOptions": {"NoCopy": True}}]
