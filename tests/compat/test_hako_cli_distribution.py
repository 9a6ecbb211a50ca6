"""The hako CLI pulls, pushes, logs in, saves and loads through a real hakod, against real
registries (Debian's docker-registry: anonymous, htpasswd Basic auth, and behind the tests' token
server), with skopeo and the docker CLI as independent second parties."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tarfile
import uuid

import pytest

from tests.conftest import needs_root
from tests.pty_run import run_in_pty
from tests.daemon import DOCKER, ROOT
from tests.registry_servers import RegistryServer, TokenServer, registry  # noqa: F401 - the fixture

pytestmark = needs_root

HELPER = r"""#!/bin/sh
dir="$CREDSTORE"
input=$(cat)
echo "$1" >> "$dir/calls.log"
f="$dir/$(printf '%s' "$input" | sed 's/.*"ServerURL":"\([^"]*\)".*/\1/' | tr '/:' '__').json"
case "$1" in
store) printf '%s' "$input" > "$f";;
get|erase) f="$dir/$(printf '%s' "$input" | tr '/:' '__').json"
     if [ ! -f "$f" ]; then echo "credentials not found in native keychain"; exit 1; fi
     if [ "$1" = get ]; then cat "$f"; else rm "$f"; fi;;
esac
"""


@pytest.fixture
def config_dir(tmp_path):
    """A DOCKER_CONFIG of the test's own, so nothing reads or writes ~/.docker."""
    path = tmp_path / "docker-config"
    path.mkdir()
    return path


class Hako:
    """`hako` against the test's hakod, with its own DOCKER_CONFIG."""

    def __init__(self, hakod, config_dir, extra_env=None):
        self.hakod = hakod
        self.env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "src"), "DOCKER_CONFIG": str(config_dir),
                    **(extra_env or {})}

    def __call__(self, *args, input=None, check=False, timeout=120):
        # stdin is never the developer's terminal: a 401 must not turn into a login prompt
        stdin = subprocess.DEVNULL if input is None else None
        result = subprocess.run([sys.executable, "-m", "hako.cli.main", "-H", self.hakod.host, *args],
                                input=input, stdin=stdin, capture_output=True, env=self.env,
                                timeout=timeout, text=not isinstance(input, bytes))
        if check and result.returncode != 0:
            raise AssertionError(f"hako {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def ok(self, *args, **kwargs) -> str:
        return self(*args, check=True, **kwargs).stdout


@pytest.fixture
def hako(hakod, config_dir):
    return Hako(hakod, config_dir)


@pytest.fixture
def cleanup_images(hakod):
    names: list[str] = []
    yield names
    for name in names:
        hakod.docker("rmi", "-f", name)


def repo(registry, name: str) -> str:
    return f"{registry.host}/{name}-{uuid.uuid4().hex[:8]}"


def skopeo(*args: str) -> str:
    result = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def pushed_digest(push_output: str) -> str:
    match = re.search(r"^v1: digest: (sha256:[0-9a-f]{64}) size: \d+$", push_output, re.M)
    assert match, push_output
    return match.group(1)


# -- pull, push, run --------------------------------------------------------------------------------

def test_push_pull_and_run(hako, registry, cleanup_images):
    target = repo(registry, "cli/bb") + ":v1"
    name = target.rsplit(":", 1)[0]
    cleanup_images.append(target)
    hako.ok("tag", "busybox:latest", target)

    out = hako.ok("push", target)
    lines = out.splitlines()
    assert lines[0] == f"The push refers to repository [{name}]"
    assert any(re.fullmatch(r"[0-9a-f]{12}: Pushed", line) for line in lines), out
    assert "\x1b" not in out  # no terminal: plain lines, no bars
    digest = pushed_digest(out)
    assert json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{target}"))["Digest"] == digest

    hako.ok("rmi", target)
    out = hako.ok("pull", target)
    lines = out.splitlines()
    assert lines[0] == f"v1: Pulling from {name.split('/', 1)[1]}"
    assert any(re.fullmatch(r"[0-9a-f]{12}: (Pull complete|Already exists)", line) for line in lines), out
    assert lines[-3:] == [f"Digest: {digest}", f"Status: Downloaded newer image for {target}", target]
    assert "\x1b" not in out

    assert hako.ok("pull", target).splitlines()[-2:] == [f"Status: Image is up to date for {target}", target]
    assert hako.ok("pull", "-q", target) == target + "\n"
    assert hako.ok("run", "--rm", target, "echo", "pulled").strip() == "pulled"


def test_hako_and_docker_print_the_same_pull_and_push(hakod, hako, registry, busybox_image_tar, tmp_path,
                                                     cleanup_images):
    target = push_fresh_image(registry, busybox_image_tar, tmp_path, "cli/same")
    cleanup_images.append(target)

    def docker(*args):
        return hakod.docker(*args, env={"DOCKER_CONFIG": hako.env["DOCKER_CONFIG"]})

    pulls = {}
    for name, run in (("hako", hako), ("docker", docker)):
        pulled = run("pull", target)
        assert pulled.returncode == 0, (name, pulled.stderr)
        assert run("rmi", target).returncode == 0
        # layers report in the order their downloads finish: compare as sets of lines
        pulls[name] = (sorted(pulled.stdout.splitlines()), pulled.stderr)
    assert pulls["hako"] == pulls["docker"]

    hako.ok("pull", "-q", target)
    hako.ok("push", target)  # from here on every layer is in the registry
    pushes = {name: sorted(run("push", target).stdout.splitlines()) for name, run in (("hako", hako), ("docker", docker))}
    assert pushes["hako"] == pushes["docker"]
    assert any(line.endswith(": Layer already exists") for line in pushes["hako"])




def screen(text: str) -> list[str]:
    """What a terminal shows after ``text``: newlines, carriage returns, cursor up/down and
    erase-line applied to a grid of lines."""
    lines, row, col, i = [""], 0, 0, 0
    while i < len(text):
        match = re.match(r"\x1b\[(\d*)([ABK])", text[i:])
        if match:
            n = int(match.group(1) or 1)
            if match.group(2) == "A":
                row = max(row - n, 0)
            elif match.group(2) == "B":
                row += n
            else:
                lines[row] = ""
            while len(lines) <= row:
                lines.append("")
            i += match.end()
            continue
        char = text[i]
        i += 1
        if char == "\n":
            row, col = row + 1, 0
            while len(lines) <= row:
                lines.append("")
        elif char == "\r":
            col = 0
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + char + line[col + 1:]
            col += 1
    return [line.rstrip() for line in lines]


def push_fresh_image(registry, busybox_image_tar, tmp_path, name: str) -> str:
    """An image whose top layer (3 MB of random bytes) no store has yet, put in the registry by
    skopeo; returns its reference."""
    from tests import oci_images
    with open(busybox_image_tar, "rb") as f:
        rootfs = f.read()
    layout = oci_images.Layout(str(tmp_path / f"layout-{name}"))
    layout.tag(layout.image([rootfs, oci_images.tar_of({"random": os.urandom(3 << 20)})]), "v1")
    layout.write()
    target = repo(registry, name) + ":v1"
    skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.path}:v1", f"docker://{target}")
    return target


def test_pull_progress_on_a_terminal_like_docker(hakod, hako, registry, busybox_image_tar, tmp_path, cleanup_images):
    target = push_fresh_image(registry, busybox_image_tar, tmp_path, "cli/tty")
    cleanup_images.append(target)
    status, text = run_in_pty([sys.executable, "-m", "hako.cli.main", "-H", hakod.host, "pull", target], hako.env)
    assert status == 0, text
    # the new layer's bar is drawn and redrawn in place, 150 columns leave room for the bar
    layer = re.search(r"\x1b\[\d+A\x1b\[2K\r([0-9a-f]{12}): Downloading \[=*>? *\] ", text)
    assert layer, repr(text)
    assert text.endswith(f"Status: Downloaded newer image for {target}\n{target}\n")
    shown = screen(text)
    assert f"{layer.group(1)}: Pull complete" in shown

    hako.ok("rmi", target)
    status, text = run_in_pty([DOCKER, "pull", target],
                          {**hakod.env, "DOCKER_CONFIG": hako.env["DOCKER_CONFIG"]})
    assert status == 0, text
    assert shown == screen(text)  # the docker CLI leaves the same screen


def test_run_pulls_a_missing_image(hako, registry, cleanup_images):
    target = repo(registry, "cli/runpull") + ":v1"
    cleanup_images.append(target)
    hako.ok("tag", "busybox:latest", target)
    hako.ok("push", target)
    hako.ok("rmi", target)
    result = hako("run", "--rm", target, "echo", "pulled-on-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "pulled-on-run\n"
    err = result.stderr.splitlines()
    assert err[0] == f"Unable to find image '{target}' locally"
    assert err[1] == f"v1: Pulling from {target.split('/', 1)[1].rsplit(':', 1)[0]}"
    assert err[-1] == f"Status: Downloaded newer image for {target}"

    hako.ok("rmi", target)
    result = hako("create", "--pull", "never", target)
    assert result.returncode == 1 and "No such image" in result.stderr


def test_pull_failures(hako, registry):
    before = hako.ok("images", "-q", "--no-trunc")
    result = hako("pull", f"{registry.host}/cli/nope:latest")
    assert result.returncode == 1
    assert result.stderr.startswith("Error response from daemon: ")
    assert "not found" in result.stderr or "unknown" in result.stderr
    result = hako("run", "--rm", f"{registry.host}/cli/nope:latest")
    assert result.returncode == 125
    assert result.stderr.endswith("\n\nRun 'hako run --help' for more information\n")
    assert hako.ok("images", "-q", "--no-trunc") == before


# -- login, logout, credentials ----------------------------------------------------------------------

def test_login_push_pull_logout_with_basic_auth(hakod, hako, config_dir, cleanup_images):
    with RegistryServer(auth="htpasswd", users={"alice": "s3cret"}) as server:
        target = repo(server, "cli/private") + ":v1"
        cleanup_images.append(target)
        hako.ok("tag", "busybox:latest", target)

        result = hako("push", target)
        assert result.returncode == 1 and "authentication required" in (result.stdout + result.stderr)

        result = hako("login", "-u", "alice", "--password-stdin", server.host, input="wrong\n")
        assert result.returncode == 1 and result.stderr.startswith("Error response from daemon: ")
        assert not (config_dir / "config.json").exists()

        result = hako("login", "-u", "alice", "--password-stdin", server.host, input="s3cret\n")
        assert (result.returncode, result.stdout) == (0, "Login Succeeded\n"), result.stderr
        assert f"WARNING! Your credentials are stored unencrypted in '{config_dir}/config.json'." in result.stderr
        config = json.loads((config_dir / "config.json").read_text())
        assert config == {"auths": {server.host: {"auth": base64.b64encode(b"alice:s3cret").decode()}}}
        assert os.stat(config_dir / "config.json").st_mode & 0o777 == 0o600

        digest = pushed_digest(hako.ok("push", target))
        hako.ok("rmi", target)
        assert f"Digest: {digest}" in hako.ok("pull", target)
        # the docker CLI reads the same login
        again = hakod.docker("push", target, env={"DOCKER_CONFIG": str(config_dir)})
        assert again.returncode == 0 and "Layer already exists" in again.stdout

        assert hako.ok("logout", server.host) == f"Removing login credentials for {server.host}\n"
        assert json.loads((config_dir / "config.json").read_text()) == {"auths": {}}
        hako.ok("rmi", target)
        result = hako("pull", target)
        assert result.returncode == 1 and result.stderr.startswith("Error response from daemon: ")


def test_login_through_a_token_server(hako, config_dir, cleanup_images):
    with TokenServer(users={"bob": "pw"}) as tokens, \
            RegistryServer(auth="token", token_server=tokens) as server:
        target = repo(server, "cli/tokens") + ":v1"
        cleanup_images.append(target)
        result = hako("login", "-u", "bob", "-p", "pw", server.host)
        assert (result.returncode, result.stdout) == (0, "Login Succeeded\n"), result.stderr
        hako.ok("tag", "busybox:latest", target)
        out = hako.ok("push", target)
        assert pushed_digest(out)
        # the push was authorised as bob, through the Bearer flow
        assert any(r["account"] == "bob" and r["status"] == 200 and any("push" in scope for scope in r["scopes"])
                   for r in tokens.requests), tokens.requests
        hako.ok("rmi", target)
        assert hako.ok("pull", "-q", target) == target + "\n"


def test_login_with_a_credential_helper(hakod, config_dir, tmp_path, cleanup_images):
    bindir, store = tmp_path / "bin", tmp_path / "store"
    bindir.mkdir()
    store.mkdir()
    (bindir / "docker-credential-hakotest").write_text(HELPER)
    (bindir / "docker-credential-hakotest").chmod(0o755)
    (config_dir / "config.json").write_text(json.dumps({"credsStore": "hakotest", "detachKeys": "ctrl-x"}))
    hako = Hako(hakod, config_dir, {"PATH": f"{bindir}:{os.environ['PATH']}", "CREDSTORE": str(store)})
    with RegistryServer(auth="htpasswd", users={"carol": "pw"}) as server:
        target = repo(server, "cli/helper") + ":v1"
        cleanup_images.append(target)
        result = hako("login", "-u", "carol", "--password-stdin", server.host, input="pw")
        assert (result.returncode, result.stdout, result.stderr) == (0, "Login Succeeded\n", "")
        key = server.host.replace(":", "_")
        assert json.loads((store / f"{key}.json").read_text()) == {
            "ServerURL": server.host, "Username": "carol", "Secret": "pw"}
        assert json.loads((config_dir / "config.json").read_text()) == {
            "credsStore": "hakotest", "detachKeys": "ctrl-x", "auths": {server.host: {}}}
        hako.ok("tag", "busybox:latest", target)
        assert pushed_digest(hako.ok("push", target))
        hako.ok("logout", server.host)
        assert not (store / f"{key}.json").exists()
        assert (store / "calls.log").read_text().split()[:2] == ["store", "get"]


# -- save, load -------------------------------------------------------------------------------------

def test_save_and_load(hako, tmp_path, cleanup_images):
    name = f"hako-cli-save-{uuid.uuid4().hex[:8]}:v1"
    cleanup_images.append(name)
    hako.ok("tag", "busybox:latest", name)
    archive = tmp_path / "out" / "images.tar"
    archive.parent.mkdir()
    assert hako.ok("save", "-o", str(archive), name) == ""
    assert os.listdir(archive.parent) == ["images.tar"]
    info = json.loads(skopeo("inspect", f"docker-archive:{archive}"))
    assert info["Layers"]
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest[0]["RepoTags"] == [name]

    hako.ok("rmi", name)
    result = hako("load", "-i", str(archive))
    assert (result.returncode, result.stdout) == (0, f"Loaded image: {name}\n"), result.stderr
    hako.ok("rmi", name)
    with open(archive, "rb") as f:
        result = hako("image", "load", "-q", input=f.read())
    assert result.returncode == 0 and result.stdout.decode() == f"Loaded image: {name}\n"

    piped = hako("save", name, "busybox:latest", input=b"")
    assert piped.returncode == 0
    with tarfile.open(fileobj=__import__("io").BytesIO(piped.stdout)) as tar:
        tags = sorted(t for entry in json.load(tar.extractfile("manifest.json")) for t in entry["RepoTags"])
    assert tags == sorted([name, "busybox:latest"])


def test_failed_save_and_load_leave_nothing(hako, tmp_path):
    archive = tmp_path / "images.tar"
    result = hako("save", "-o", str(archive), "hako-no-such-image:v1")
    assert result.returncode == 1 and result.stderr.startswith("Error response from daemon: ")
    assert os.listdir(tmp_path) == ["docker-config"]
    before = hako.ok("images", "-q", "--no-trunc")
    result = hako("load", input=b"this is not a tar archive" * 100)
    assert result.returncode == 1 and result.stderr.strip()
    assert hako.ok("images", "-q", "--no-trunc") == before
