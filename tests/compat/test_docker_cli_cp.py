"""`docker cp` (the real docker CLI) and `hako cp` against hakod: both directions, running and
stopped containers, directories, `-` for a tar on stdin/stdout, -a, -L, symlinks that try to
leave the container, and docker's messages."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile

import pytest

from tests.conftest import needs_root

pytestmark = needs_root


@pytest.fixture(params=["docker", "hako"])
def cli(request, hakod):
    return getattr(hakod, request.param)


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="hako-test-cp-", dir="/var/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=["running", "stopped"])
def box(request, hakod):
    cmd = ("mkdir -p /srv/tree/sub && echo one > /srv/tree/a && echo two > /srv/tree/sub/b && "
           "ln -s /etc/passwd /srv/pw && ln -s ../../../../../../var/tmp /srv/out && ")
    name = f"cpbox-{request.param}"
    hakod.docker("rm", "-f", name)
    if request.param == "running":
        hakod.docker("run", "-d", "--name", name, "busybox", "sh", "-c", cmd + "touch /ready; sleep 300", check=True)
        from tests.compat.polling import poll

        poll(lambda: hakod.docker("exec", name, "test", "-e", "/ready").returncode == 0)
    else:
        hakod.docker("run", "--name", name, "busybox", "sh", "-c", cmd + "true", check=True)
    yield name
    hakod.docker("rm", "-f", name)


def test_copy_a_file_both_ways(cli, hakod, box, workdir):
    src = os.path.join(workdir, "hello.txt")
    with open(src, "w") as f:
        f.write("hello\n")
    result = cli("cp", src, f"{box}:/tmp/hello.txt")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")   # no terminal: no progress line
    out = os.path.join(workdir, "out.txt")
    assert cli("cp", f"{box}:/tmp/hello.txt", out).returncode == 0
    with open(out) as f:
        assert f.read() == "hello\n"
    # into an existing directory the file keeps its name
    assert cli("cp", src, f"{box}:/srv/tree").returncode == 0
    assert cli("cp", f"{box}:/srv/tree/hello.txt", workdir + "/").returncode == 0


def test_copy_directories_and_contents(cli, box, workdir):
    dest = os.path.join(workdir, "tree-copy")
    assert cli("cp", f"{box}:/srv/tree", dest).returncode == 0
    assert sorted(os.listdir(dest)) == ["a", "sub"]
    with open(os.path.join(dest, "sub", "b")) as f:
        assert f.read() == "two\n"
    existing = os.path.join(workdir, "existing")
    os.mkdir(existing)
    assert cli("cp", f"{box}:/srv/tree/.", existing).returncode == 0
    assert sorted(os.listdir(existing)) == ["a", "sub"]
    assert cli("cp", f"{box}:/srv/tree", existing).returncode == 0
    assert os.path.isdir(os.path.join(existing, "tree", "sub"))
    up = os.path.join(workdir, "up")
    os.makedirs(os.path.join(up, "d1"))
    with open(os.path.join(up, "d1", "f"), "w") as f:
        f.write("up\n")
    assert cli("cp", up, f"{box}:/srv/").returncode == 0
    back = os.path.join(workdir, "back")
    assert cli("cp", f"{box}:/srv/up/d1/f", back).returncode == 0
    with open(back) as f:
        assert f.read() == "up\n"


def test_tar_on_stdout_and_stdin(cli, hakod, box):
    out = cli("cp", f"{box}:/srv/tree", "-", input=b"")
    assert out.returncode == 0
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        assert sorted(tar.getnames()) == ["tree", "tree/a", "tree/sub", "tree/sub/b"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"via stdin\n"
        info = tarfile.TarInfo("stdin.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert cli("cp", "-", f"{box}:/tmp", input=buf.getvalue()).returncode == 0
    out = cli("cp", f"{box}:/tmp/stdin.txt", "-", input=b"")
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        assert tar.extractfile("stdin.txt").read() == b"via stdin\n"
    bad = cli("cp", "-", f"{box}:/srv/tree/a", input=buf.getvalue())
    assert bad.returncode == 1 and b"must be a directory" in bad.stderr


def test_symlinks_follow_L_and_never_leave_the_container(cli, box, workdir):
    link = os.path.join(workdir, "pw-link")
    assert cli("cp", f"{box}:/srv/pw", link).returncode == 0
    assert os.readlink(link) == "/etc/passwd"
    followed = os.path.join(workdir, "pw")
    assert cli("cp", "-L", f"{box}:/srv/pw", followed).returncode == 0
    with open(followed) as f:
        assert f.read().startswith("root:x:0:0:")
    # /srv/out climbs towards the host's /var/tmp: inside the container it is /var/tmp there
    marker = os.path.join(workdir, "host-only")
    with open(marker, "w") as f:
        f.write("host\n")
    missing = cli("cp", f"{box}:/srv/out/{os.path.basename(workdir)}/host-only", os.path.join(workdir, "x"))
    assert missing.returncode == 1
    assert f"Could not find the file /srv/out/{os.path.basename(workdir)}/host-only in container {box}" in missing.stderr
    before = sorted(os.listdir(workdir))
    assert cli("cp", marker, f"{box}:/srv/out/planted").returncode in (0, 1)
    assert sorted(os.listdir(workdir)) == before and not os.path.exists("/var/tmp/planted")


def test_errors(cli, box, workdir):
    nope = cli("cp", f"{box}:/nope", workdir)
    assert nope.returncode == 1
    assert nope.stderr.strip() == f"Error response from daemon: Could not find the file /nope in container {box}"
    both = cli("cp", f"{box}:/a", f"{box}:/b")
    assert both.returncode == 1 and "copying between containers is not supported" in both.stderr
    neither = cli("cp", os.path.join(workdir, "a"), os.path.join(workdir, "b"))
    assert neither.returncode == 1 and "must specify at least one container source" in neither.stderr
    missing_container = cli("cp", "no-such-box-x:/a", workdir)
    assert missing_container.returncode == 1 and "No such container: no-such-box-x" in missing_container.stderr


def test_archive_mode_keeps_owners(cli, hakod, box, workdir):
    src = os.path.join(workdir, "owned")
    with open(src, "w") as f:
        f.write("x")
    os.chown(src, 1234, 4321)
    assert cli("cp", "-a", src, f"{box}:/tmp/owned").returncode == 0
    listing = hakod.docker("cp", f"{box}:/tmp/owned", "-", input=b"").stdout
    with tarfile.open(fileobj=io.BytesIO(listing)) as tar:
        member = tar.getmember("owned")
        assert (member.uid, member.gid) == (1234, 4321)
    # towards the host, files belong to whoever copies (docker's CLI never chowns there)
    out = os.path.join(workdir, "owned-back")
    assert cli("cp", "-a", f"{box}:/tmp/owned", out).returncode == 0
    st = os.stat(out)
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())


def test_progress_line_only_on_a_terminal(hakod, box, workdir):
    """docker 24+ reports "Successfully copied <size> to <dest>" when stderr is a terminal
    (-q silences it); hako's CLI prints the same line with the same size."""
    import shlex
    import subprocess
    import sys

    from tests.daemon import ROOT

    src = os.path.join(workdir, "pw")
    with open(src, "w") as f:
        f.write("x" * 100)
    hako = f"{shlex.quote(sys.executable)} -m hako.cli.main -H {hakod.host}"
    env = {**hakod.env, "PYTHONPATH": os.path.join(ROOT, "src")}
    lines = {}
    for name, prog in (("docker", "docker"), ("hako", hako)):
        for args in (f"cp {box}:/etc/passwd {workdir}/out.{name}", f"cp {src} {box}:/tmp/in.{name}",
                     f"cp -q {box}:/etc/passwd {workdir}/quiet.{name}"):
            result = subprocess.run(["script", "-qec", f"{prog} {args}", "/dev/null"], env=env, capture_output=True,
                                    timeout=60)
            lines[(name, args.split()[1])] = result.stdout.decode().replace(f".{name}", ".X")
    assert lines[("docker", "-q")] == lines[("hako", "-q")] == ""
    docker_out = [v for (n, _), v in lines.items() if n == "docker" and v]
    hako_out = [v for (n, _), v in lines.items() if n == "hako" and v]
    assert docker_out == hako_out
    assert docker_out[0].startswith("Successfully copied ") and docker_out[0].endswith(f"to {workdir}/out.X\r\n")
