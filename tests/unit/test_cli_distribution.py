"""pull, push, save, load and run's pull, against a scripted daemon: the calls docker's CLI makes,
and what the user sees when things go wrong (expected texts are docker 28's)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.unit.test_cli_e2e import CID, Reply, Run, daemon_factory  # noqa: F401 - the fixture


def stream_reply(*messages):
    return Reply(200, chunks=[json.dumps(m).encode() + b"\n" for m in messages],
                 headers={"Content-Type": "application/json"})


PULLED = ({"status": "Pulling from library/busybox", "id": "latest"},
          {"status": "Pull complete", "progressDetail": {}, "id": "a1b2c3d4e5f6"},
          {"status": "Status: Downloaded newer image for busybox:latest"})


@pytest.fixture
def env(tmp_path):
    return {"DOCKER_CONFIG": str(tmp_path / "cfg")}


# -- pull / push ------------------------------------------------------------------------------------

def test_pull_queries(daemon_factory, tmp_path, env):
    d = daemon_factory(lambda req: stream_reply(*PULLED))
    digest = "sha256:" + "c" * 64
    cases = [(["pull", "busybox"], {"fromImage": "docker.io/library/busybox", "tag": "latest"}),
             (["pull", "-a", "--platform", "Linux/ARM64", "user/app"],
              {"fromImage": "docker.io/user/app", "platform": "linux/arm64"}),
             (["pull", f"localhost:5000/a/b:v1@{digest}"], {"fromImage": "localhost:5000/a/b", "tag": digest})]
    for argv, query in cases:
        r = Run(tmp_path, d.host, argv, environ=env)
        assert r.status == 0, r.err
        assert d.requests[-1].query == query
    assert r.out.endswith(f"Status: Downloaded newer image for busybox:latest\nlocalhost:5000/a/b:v1@{digest}\n")


def test_pull_output_and_quiet(daemon_factory, tmp_path, env):
    d = daemon_factory(lambda req: stream_reply(*PULLED))
    r = Run(tmp_path, d.host, ["pull", "busybox"], environ=env)
    assert r.out == ("Using default tag: latest\nlatest: Pulling from library/busybox\n"
                     "a1b2c3d4e5f6: Pull complete\nStatus: Downloaded newer image for busybox:latest\n"
                     "docker.io/library/busybox:latest\n")
    r = Run(tmp_path, d.host, ["image", "pull", "-q", "busybox:1.36"], environ=env)
    assert (r.status, r.out, r.err) == (0, "docker.io/library/busybox:1.36\n", "")


def test_pull_errors(daemon_factory, tmp_path, env):
    def handler(req):
        if req.query.get("fromImage", "").endswith("/nope"):
            return Reply(404, {"message": "manifest for 127.0.0.1:5000/trace/nope:latest not found: manifest unknown"})
        return stream_reply(PULLED[0], {"errorDetail": {"message": "unexpected EOF"}, "error": "unexpected EOF"})
    d = daemon_factory(handler)
    r = Run(tmp_path, d.host, ["pull", "127.0.0.1:5000/trace/nope"], environ=env)
    assert (r.status, r.err) == (1, "Error response from daemon: manifest for 127.0.0.1:5000/trace/nope:latest "
                                    "not found: manifest unknown\n")
    r = Run(tmp_path, d.host, ["pull", "-q", "busybox"], environ=env)
    assert (r.status, r.out, r.err) == (1, "", "unexpected EOF\n")  # the stream's own words
    calls = len(d.requests)
    for argv, err in ((["pull", "Busybox"], "invalid reference format: repository name (library/Busybox) must be lowercase\n"),
                      (["pull", "x:"], "invalid reference format\n"),
                      (["pull", "-a", "busybox:1"], "tag can't be used with --all-tags/-a\n"),
                      (["push", "busybox@sha256:" + "c" * 64], "cannot push a digest reference\n")):
        r = Run(tmp_path, d.host, argv, environ=env)
        assert (r.status, r.out, r.err) == (1, "", err)
    assert len(d.requests) == calls  # refused before any call


def test_push(daemon_factory, tmp_path, env):
    digest = "sha256:" + "e" * 64
    d = daemon_factory(lambda req: stream_reply(
        {"status": "The push refers to repository [127.0.0.1:5000/trace/bb]"},
        {"status": "Preparing", "progressDetail": {}, "id": "29f66708add7"},
        {"status": "Pushing", "progressDetail": {"current": 19968, "total": 1984172}, "id": "29f66708add7"},
        {"status": "Pushed", "progressDetail": {}, "id": "29f66708add7"},
        {"status": f"v1: digest: {digest} size: 527"},
        {"progressDetail": {}, "aux": {"Tag": "v1", "Digest": digest, "Size": 527}}))
    r = Run(tmp_path, d.host, ["push", "127.0.0.1:5000/trace/bb:v1"], environ=env)
    assert r.out == ("The push refers to repository [127.0.0.1:5000/trace/bb]\n29f66708add7: Preparing\n"
                     f"29f66708add7: Pushed\nv1: digest: {digest} size: 527\n")
    assert d.requests[-1].path == "/images/127.0.0.1:5000/trace/bb/push"
    assert d.requests[-1].query == {"tag": "v1"}
    assert d.requests[-1].headers["x-registry-auth"] == "e30="
    r = Run(tmp_path, d.host, ["image", "push", "-q", "127.0.0.1:5000/trace/bb"], environ=env)
    assert (r.out, r.err) == ("127.0.0.1:5000/trace/bb:latest\n", "")
    r = Run(tmp_path, d.host, ["push", "-a", "busybox"], environ=env)
    assert d.requests[-1].path == "/images/docker.io/library/busybox/push" and d.requests[-1].query == {}


# -- save / load ------------------------------------------------------------------------------------

def test_save_to_a_file(daemon_factory, tmp_path, env):
    archive = os.urandom(300_000)
    d = daemon_factory(lambda req: Reply(200, chunks=[archive[:100_000], archive[100_000:]],
                                         headers={"Content-Type": "application/x-tar"}))
    out = tmp_path / "images.tar"
    r = Run(tmp_path, d.host, ["save", "-o", str(out), "busybox", "127.0.0.1:5000/a:b"], environ=env)
    assert r.status == 0, r.err
    assert out.read_bytes() == archive
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # docker's CopyToFile makes it with CreateTemp
    assert d.requests[-1].target.endswith("/images/get?names=busybox&names=127.0.0.1%3A5000%2Fa%3Ab")
    # without -o, to stdout (a file here, not a terminal)
    from hako.cli.context import Cli
    from hako.cli.main import main
    fd = os.open(tmp_path / "stdout.tar", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        assert main(["image", "save", "busybox"], Cli(host=d.host, environ=env, stdout_fd=fd)) == 0
    finally:
        os.close(fd)
    assert (tmp_path / "stdout.tar").read_bytes() == archive


def test_failed_save_leaves_no_file(daemon_factory, tmp_path, env):
    def cut():
        raise ConnectionAbortedError("the test cuts the stream")
    d = daemon_factory(lambda req: Reply(200, chunks=[b"x" * 5000, cut], headers={"Content-Type": "application/x-tar"})
                       if req.query["names"] == "busybox" else Reply(404, {"message": "reference does not exist"}))
    out = tmp_path / "out" / "images.tar"
    out.parent.mkdir()
    r = Run(tmp_path, d.host, ["save", "-o", str(out), "busybox"], environ=env)
    assert r.status == 1 and "closed" in r.err
    assert os.listdir(out.parent) == []
    out.write_bytes(b"previous")
    r = Run(tmp_path, d.host, ["save", "-o", str(out), "nosuch"], environ=env)
    assert (r.status, r.err) == (1, "Error response from daemon: reference does not exist\n")
    assert os.listdir(out.parent) == ["images.tar"] and out.read_bytes() == b"previous"
    r = Run(tmp_path, d.host, ["save", "-o", "/nonexistent-dir/x.tar", "busybox"], environ=env)
    assert r.err == "failed to save image: invalid output path: stat /nonexistent-dir: no such file or directory\n"
    for target, kind in ((out.parent, "a directory"), ("/dev/null", "a character device file")):
        r = Run(tmp_path, d.host, ["save", "-o", str(target), "busybox"], environ=env)
        assert (r.status, r.err) == (1, f"failed to save image: cannot write to {kind}\n")


def test_load_streams_the_archive(daemon_factory, tmp_path, env):
    archive = os.urandom(3 << 20)
    d = daemon_factory(lambda req: stream_reply({"stream": "Loaded image: busybox:latest\n"},
                                                {"stream": "Loaded image ID: sha256:" + "f" * 64 + "\n"}))
    path = tmp_path / "in.tar"
    path.write_bytes(archive)
    r = Run(tmp_path, d.host, ["load", "-i", str(path)], environ=env)
    assert (r.status, r.out) == (0, "Loaded image: busybox:latest\nLoaded image ID: sha256:" + "f" * 64 + "\n")
    req = d.requests[-1]
    assert req.query == {"quiet": "1"}  # stdout is not a terminal
    assert req.headers["content-type"] == "application/x-tar"
    assert req.headers["transfer-encoding"] == "chunked"
    assert req.body == archive
    r = Run(tmp_path, d.host, ["image", "load", "-q"], stdin=b"from stdin", environ=env)
    assert r.status == 0 and d.requests[-1].body == b"from stdin"
    r = Run(tmp_path, d.host, ["load", "-i", str(tmp_path / "missing.tar")], environ=env)
    assert (r.status, r.err) == (1, f"open {tmp_path}/missing.tar: no such file or directory\n")
    r = Run(tmp_path, d.host, ["load", "-i", str(tmp_path)], environ=env)
    assert (r.status, r.err) == (1, f"read {tmp_path}: is a directory\n")


def test_load_error_in_stream(daemon_factory, tmp_path, env):
    d = daemon_factory(lambda req: stream_reply({"errorDetail": {"message": "invalid tar header"},
                                                 "error": "invalid tar header"}))
    r = Run(tmp_path, d.host, ["load"], stdin=b"junk", environ=env)
    assert (r.status, r.err) == (1, "invalid tar header\n")


# -- run / create pull the image when it is missing --------------------------------------------------

class RunDaemon:
    """create answers 404 until the image was pulled; ``pull_reply`` is what the pull gets."""

    def __init__(self, daemon_factory, pull_reply):
        self.pull_reply = pull_reply
        self.pulled = False
        self.d = daemon_factory(self.handle)

    def handle(self, req):
        if req.path == "/containers/create":
            if not self.pulled:
                return Reply(404, {"message": f"No such image: {req.json()['Image']}"})
            return Reply(201, {"Id": CID, "Warnings": None})
        if req.path == "/images/create":
            reply = self.pull_reply
            self.pulled = reply.status == 200 and b"error" not in b"".join(reply.chunks or [])
            return reply
        return Reply(204)

    def calls(self):
        return [str(q) for q in self.d.requests]


def test_run_pull_failures(daemon_factory, tmp_path, env):
    broken = stream_reply(PULLED[0], {"errorDetail": {"message": "unexpected EOF"}, "error": "unexpected EOF"})
    daemon = RunDaemon(daemon_factory, broken)
    r = Run(tmp_path, daemon.d.host, ["run", "-d", "busybox"], environ=env)
    assert r.status == 125
    assert r.err == ("Unable to find image 'busybox:latest' locally\nlatest: Pulling from library/busybox\n"
                     "hako: unexpected EOF\n\nRun 'hako run --help' for more information\n")
    r = Run(tmp_path, daemon.d.host, ["create", "-q", "busybox"], environ=env)
    assert (r.status, r.err) == (1, "unexpected EOF\n")  # -q: no "Unable to find image", no progress
    daemon.pull_reply = Reply(404, {"message": "pull access denied for busybox"})
    r = Run(tmp_path, daemon.d.host, ["run", "--rm", "busybox"], environ=env)
    assert r.status == 125
    assert r.err.endswith("hako: Error response from daemon: pull access denied for busybox\n\n"
                          "Run 'hako run --help' for more information\n")


def test_run_pull_policies(daemon_factory, tmp_path, env):
    daemon = RunDaemon(daemon_factory, stream_reply(*PULLED))
    r = Run(tmp_path, daemon.d.host, ["run", "-d", "--pull", "never", "busybox"], environ=env)
    assert r.status == 125 and "No such image" in r.err
    assert daemon.calls() == ["POST /containers/create"]

    r = Run(tmp_path, daemon.d.host, ["run", "-d", "sha256:" + "a" * 64], environ=env)
    assert r.status == 125  # an image id is never pulled
    assert daemon.calls()[1:] == ["POST /containers/create"]

    daemon.d.requests.clear()
    r = Run(tmp_path, daemon.d.host, ["create", "--pull", "always", "--platform", "linux/amd64", "busybox"], environ=env)
    assert r.status == 0, r.err
    assert daemon.calls() == ["POST /images/create", "POST /containers/create"]
    assert daemon.d.requests[0].query == {"fromImage": "docker.io/library/busybox", "tag": "latest",
                                          "platform": "linux/amd64"}
    assert "Unable to find image" not in r.err and r.err.startswith("latest: Pulling from library/busybox\n")


# -- prompts on a terminal ----------------------------------------------------------------------------

def run_on_terminal(host, argv, typed: bytes, env, tmp_path):
    """Run the CLI with stdin on a pty where ``typed`` is already waiting; (status, stdout, stderr)."""
    import pty
    from hako.cli.context import Cli
    from hako.cli.main import main
    master, slave = pty.openpty()
    out, err = tmp_path / "tty-out", tmp_path / "tty-err"
    fds = [os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC) for p in (out, err)]
    try:
        os.write(master, typed)
        status = main(argv, Cli(host=host, environ=env, stdin_fd=slave, stdout_fd=fds[0], stderr_fd=fds[1]))
    finally:
        for fd in (master, slave, *fds):
            os.close(fd)
    return status, out.read_text(), err.read_text()


def test_login_prompts_on_a_terminal(daemon_factory, tmp_path, env):
    d = daemon_factory(lambda req: Reply(200, {"IdentityToken": "", "Status": "Login Succeeded"}))
    status, out, err = run_on_terminal(d.host, ["login", "r:5000"], b" tracer \n pw \n", env, tmp_path)
    assert status == 0, err
    assert out == "Username: Password: \nLogin Succeeded\n"
    assert d.requests[0].json() == {"username": "tracer", "password": "pw", "serveraddress": "r:5000"}
    # stored credentials give the default user name; an empty password is refused
    status, out, err = run_on_terminal(d.host, ["login", "-u", "x", "r:5000"], b"\n", env, tmp_path)
    assert (status, out, err) == (1, "Password: \n", "Error: Password Required\n")


def test_pull_asks_for_credentials_after_a_401_on_a_terminal(daemon_factory, tmp_path, env):
    def handler(req):
        if req.headers.get("x-registry-auth") == "e30=":
            return Reply(401, {"message": "unauthorized: authentication required"})
        return stream_reply(*PULLED)
    d = daemon_factory(handler)
    status, out, err = run_on_terminal(d.host, ["pull", "-q", "r:5000/app"], b"alice\nsecret\n", env, tmp_path)
    assert status == 0, err
    assert out == "\nLogin prior to pull:\nUsername: Password: \nr:5000/app:latest\n"
    assert [r.headers["x-registry-auth"] for r in d.requests][0] == "e30="
    assert json.loads(__import__("base64").urlsafe_b64decode(d.requests[1].headers["x-registry-auth"])) == {
        "username": "alice", "password": "secret", "serveraddress": "r:5000"}
    assert not (tmp_path / "cfg").exists()  # asked for this pull only, not stored
    # not on a terminal: the 401 is the answer
    r = Run(tmp_path, d.host, ["pull", "r:5000/app"], environ=env)
    assert (r.status, r.err) == (1, "Error response from daemon: unauthorized: authentication required\n")
