"""The real docker CLI pulls, pushes, saves and loads through hakod, with a real registry
(Debian's docker-registry on 127.0.0.1) and skopeo as the independent second party."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid

import pytest

from tests import oci_images
from tests.conftest import needs_root

pytestmark = needs_root


def ok(hakod, *args, **kwargs):
    return hakod.docker(*args, check=True, **kwargs).stdout


def skopeo(*args: str) -> str:
    result = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def repo(registry, name: str) -> str:
    return f"{registry.host}/{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cleanup_images(hakod):
    names: list[str] = []
    yield names
    for name in names:
        hakod.docker("rmi", "-f", name)


def test_push_then_pull_and_run(hakod, registry, cleanup_images, tmp_path):
    target = repo(registry, "dist/bb") + ":v1"
    cleanup_images.append(target)
    ok(hakod, "tag", "busybox:latest", target)
    out = ok(hakod, "push", target)
    assert f"The push refers to repository [{target.rsplit(':', 1)[0]}]" in out
    # busybox's layer may be in the session's registry already, from another test's push
    assert "Pushed" in out or "Mounted from" in out or "Layer already exists" in out
    pushed_digest = out.strip().splitlines()[-1].split("digest: ")[1].split()[0]

    # skopeo, not hako, reads back what was pushed
    info = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{target}"))
    assert info["Digest"] == pushed_digest
    assert len(info["Layers"]) == 1
    skopeo("copy", "--src-tls-verify=false", f"docker://{target}", f"oci:{tmp_path}/copied:v1")
    copied = json.load(open(tmp_path / "copied" / "index.json"))["manifests"][0]
    manifest = json.load(open(tmp_path / "copied" / "blobs" / "sha256" / copied["digest"][7:]))
    assert [layer["digest"] for layer in manifest["layers"]] == info["Layers"]

    ok(hakod, "rmi", target)
    out = ok(hakod, "pull", target)
    assert "Already exists" in out      # busybox:latest is the same image
    assert f"Digest: {pushed_digest}" in out
    assert f"Status: Downloaded newer image for {target}" in out
    assert out.strip().splitlines()[-1] == target

    digests = json.loads(ok(hakod, "image", "inspect", "-f", "{{json .RepoDigests}}", target))
    assert f"{target.rsplit(':', 1)[0]}@{pushed_digest}" in digests
    assert ok(hakod, "run", "--rm", target, "echo", "pulled").strip() == "pulled"

    again = ok(hakod, "pull", target)
    assert f"Status: Image is up to date for {target}" in again


def test_pushing_again_finds_layers_there(hakod, registry, cleanup_images):
    target = repo(registry, "dist/again") + ":v1"
    cleanup_images.append(target)
    ok(hakod, "tag", "busybox:latest", target)
    ok(hakod, "push", target)
    out = ok(hakod, "push", target)
    assert "Layer already exists" in out


def test_push_to_another_repository_mounts_the_layer(hakod, registry, cleanup_images):
    first, second = repo(registry, "dist/one") + ":v1", repo(registry, "dist/two") + ":v1"
    cleanup_images.extend([first, second])
    ok(hakod, "tag", "busybox:latest", first)
    ok(hakod, "tag", "busybox:latest", second)
    ok(hakod, "push", first)
    out = ok(hakod, "push", second)
    assert "Mounted from " + first.split("/", 1)[1].rsplit(":", 1)[0] in out


def test_run_pulls_a_missing_image(hakod, registry, cleanup_images):
    target = repo(registry, "dist/runpull") + ":v1"
    cleanup_images.append(target)
    ok(hakod, "tag", "busybox:latest", target)
    ok(hakod, "push", target)
    ok(hakod, "rmi", target)
    result = hakod.docker("run", "--rm", target, "echo", "pulled-on-run")
    assert result.returncode == 0, result.stderr
    assert f"Unable to find image '{target}' locally" in result.stderr
    assert result.stdout.strip().endswith("pulled-on-run")


def test_pull_of_a_missing_image_fails_cleanly(hakod, registry):
    before = ok(hakod, "images", "-q", "--no-trunc")
    result = hakod.docker("pull", f"{registry.host}/dist/nope:latest")
    assert result.returncode == 1
    assert (f"Error response from daemon: manifest for {registry.host}/dist/nope:latest not found: "
            "manifest unknown: manifest unknown") in result.stderr
    assert ok(hakod, "images", "-q", "--no-trunc") == before


def test_pull_by_digest(hakod, registry, cleanup_images):
    target = repo(registry, "dist/bydigest")
    ok(hakod, "tag", "busybox:latest", target + ":v1")
    cleanup_images.append(target + ":v1")
    out = ok(hakod, "push", target + ":v1")
    digest = out.strip().splitlines()[-1].split("digest: ")[1].split()[0]
    ok(hakod, "rmi", target + ":v1")
    cleanup_images.append(f"{target}@{digest}")
    out = ok(hakod, "pull", f"{target}@{digest}")
    assert f"Status: Downloaded newer image for {target}@{digest}" in out
    assert ok(hakod, "run", "--rm", f"{target}@{digest}", "echo", "ok").strip() == "ok"


def test_skopeo_pushed_oci_images_pull_and_run(hakod, registry, busybox_image_tar, tmp_path, cleanup_images):
    """OCI manifests with gzip and zstd layers, put into the registry by skopeo (which compresses
    uncompressed layers on the way, so those are left to the registry client's own tests)."""
    with open(busybox_image_tar, "rb") as f:
        rootfs = f.read()
    extra = oci_images.tar_of({"etc/made-by": b"skopeo\n"})
    for kind in ("gzip", "zstd"):
        layout = oci_images.Layout(str(tmp_path / f"layout-{kind}"))
        layout.tag(layout.image([rootfs, extra], compression=kind), "v1")
        layout.write()
        target = repo(registry, f"oci/{kind}") + ":v1"
        skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.path}:v1", f"docker://{target}")
        cleanup_images.append(target)
        ok(hakod, "pull", target)
        assert ok(hakod, "run", "--rm", target, "cat", "/etc/made-by").strip() == "skopeo"


def test_platform_is_chosen_from_an_index(hakod, registry, busybox_image_tar, tmp_path, cleanup_images):
    with open(busybox_image_tar, "rb") as f:
        rootfs = f.read()
    layout = oci_images.Layout(str(tmp_path / "multi"))
    amd = layout.image([rootfs, oci_images.tar_of({"arch": b"amd64\n"})], arch="amd64")
    arm = layout.image([rootfs, oci_images.tar_of({"arch": b"arm64\n"})], arch="arm64")
    layout.tag_index([amd, arm], "v1")
    layout.write()
    target = repo(registry, "oci/multi") + ":v1"
    skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{layout.path}:v1", f"docker://{target}")
    cleanup_images.append(target)

    ok(hakod, "pull", target)
    assert ok(hakod, "image", "inspect", "-f", "{{.Id}}", target).strip() == amd["config_digest"]
    described = hakod.api("GET", f"/distribution/{target}/json").json()
    assert described["Descriptor"]["mediaType"] == oci_images.OCI_INDEX
    assert sorted(p["architecture"] for p in described["Platforms"]) == ["amd64", "arm64"]
    ok(hakod, "rmi", target)
    ok(hakod, "pull", "--platform", "linux/arm64", target)
    assert ok(hakod, "image", "inspect", "-f", "{{.Architecture}}", target).strip() == "arm64"
    result = hakod.docker("pull", "--platform", "linux/s390x", target)
    assert result.returncode == 1
    assert "no matching manifest for linux/s390x" in result.stderr


def test_save_and_load_round_trip(hakod, tmp_path, cleanup_images):
    tagged = f"saved-{uuid.uuid4().hex[:8]}:v1"
    cleanup_images.append(tagged)
    ok(hakod, "tag", "busybox:latest", tagged)
    image_id = ok(hakod, "image", "inspect", "-f", "{{.Id}}", tagged).strip()
    archive = str(tmp_path / "saved.tar")
    ok(hakod, "save", "-o", archive, tagged)

    # skopeo reads it as a docker-archive
    info = json.loads(skopeo("inspect", f"docker-archive:{archive}"))
    assert len(info["Layers"]) == 1

    ok(hakod, "rmi", tagged)
    out = ok(hakod, "load", "-i", archive)
    assert f"Loaded image: {tagged}" in out
    assert ok(hakod, "image", "inspect", "-f", "{{.Id}}", tagged).strip() == image_id
    assert ok(hakod, "run", "--rm", tagged, "echo", "loaded").strip() == "loaded"


def test_load_of_a_skopeo_archive(hakod, busybox_image_tar, tmp_path, cleanup_images):
    with open(busybox_image_tar, "rb") as f:
        rootfs = f.read()
    layout = oci_images.Layout(str(tmp_path / "layout"))
    layout.tag(layout.image([rootfs, oci_images.tar_of({"etc/from-archive": b"yes\n"})]), "v1")
    layout.write()
    tagged = f"skopeo-archive-{uuid.uuid4().hex[:8]}:v1"
    cleanup_images.append(tagged)
    archive = str(tmp_path / "skopeo.tar")
    skopeo("copy", f"oci:{layout.path}:v1", f"docker-archive:{archive}:{tagged}")
    out = ok(hakod, "load", "-i", archive)
    assert f"Loaded image: {tagged}" in out
    assert ok(hakod, "run", "--rm", tagged, "cat", "/etc/from-archive").strip() == "yes"


def test_load_of_garbage_changes_nothing(hakod, tmp_path):
    before = ok(hakod, "images", "-q", "--no-trunc")
    bad = tmp_path / "bad.tar"
    bad.write_bytes(os.urandom(4096))
    result = hakod.docker("load", "-i", str(bad))
    assert result.returncode == 1
    assert ok(hakod, "images", "-q", "--no-trunc") == before


def test_login_and_push_with_basic_auth(hakod, auth_registry, tmp_path, cleanup_images):
    config_dir = str(tmp_path / "docker-config")
    env = {"DOCKER_CONFIG": config_dir}
    target = f"{auth_registry.host}/private/bb-{uuid.uuid4().hex[:8]}:v1"
    cleanup_images.append(target)
    ok(hakod, "tag", "busybox:latest", target)

    denied = hakod.docker("push", target, env=env)
    assert denied.returncode == 1
    assert "authentication required" in (denied.stdout + denied.stderr) or "unauthorized" in (denied.stdout + denied.stderr)

    bad = hakod.docker("login", "-u", auth_registry.username, "--password-stdin", auth_registry.host,
                       input="wrong\n", env=env)
    assert bad.returncode == 1

    out = hakod.docker("login", "-u", auth_registry.username, "--password-stdin", auth_registry.host,
                       input=auth_registry.password + "\n", env=env, check=True).stdout
    assert "Login Succeeded" in out
    out = ok(hakod, "push", target, env=env)
    assert "Pushed" in out
    ok(hakod, "rmi", target)
    ok(hakod, "pull", target, env=env)


def test_bearer_token_flow_through_hakod(hakod, tmp_path, cleanup_images):
    """docker login and push against a registry behind a token server: hakod follows the
    WWW-Authenticate challenge to the realm with the right scope."""
    from tests.registry_servers import RegistryServer, TokenServer

    with TokenServer(users={"tok": "en-pass"}) as tokens, RegistryServer(auth="token", token_server=tokens) as reg:
        env = {"DOCKER_CONFIG": str(tmp_path / "docker-config")}
        target = f"{reg.host}/team/bb-{uuid.uuid4().hex[:8]}:v1"
        cleanup_images.append(target)
        ok(hakod, "tag", "busybox:latest", target)
        assert hakod.docker("login", "-u", "tok", "--password-stdin", reg.host, input="wrong\n", env=env).returncode == 1
        hakod.docker("login", "-u", "tok", "--password-stdin", reg.host, input="en-pass\n", env=env, check=True)
        out = ok(hakod, "push", target, env=env)
        assert "digest: sha256:" in out
        path = target.split("/", 1)[1].rsplit(":", 1)[0]
        scopes = [s for r in tokens.requests for s in r["scopes"]]
        assert f"repository:{path}:pull,push" in scopes, tokens.requests
        ok(hakod, "rmi", target)
        ok(hakod, "pull", target, env=env)
        ok(hakod, "rmi", target)
        anonymous = hakod.docker("pull", target, input="")     # no stdin: the CLI cannot prompt for a login
        assert anonymous.returncode == 1
        assert "unauthorized" in anonymous.stderr.lower() or "denied" in anonymous.stderr.lower()


def test_removing_an_image_collects_its_blobs(hakod, registry, busybox_image_tar, tmp_path):
    with open(busybox_image_tar, "rb") as f:
        target = oci_images.push_fresh_image(registry.host, str(tmp_path), f.read(), f"gc/img-{uuid.uuid4().hex[:8]}")
    blobs_dir = os.path.join(hakod.data_root, "content", "blobs", "sha256")
    before = set(os.listdir(blobs_dir))
    ok(hakod, "pull", target)
    added = set(os.listdir(blobs_dir)) - before
    assert added, "the pulled layer blob is kept for push and save"
    ok(hakod, "rmi", target)
    assert not (set(os.listdir(blobs_dir)) & added)


def test_save_several_images_and_load_an_oci_archive(hakod, registry, busybox_image_tar, tmp_path, cleanup_images):
    with open(busybox_image_tar, "rb") as f:
        fresh = oci_images.push_fresh_image(registry.host, str(tmp_path), f.read(), f"multi/img-{uuid.uuid4().hex[:8]}")
    ok(hakod, "pull", fresh)
    cleanup_images.append(fresh)
    other = f"multi-save-{uuid.uuid4().hex[:8]}:v1"
    cleanup_images.append(other)
    ok(hakod, "tag", "busybox:latest", other)
    archive = str(tmp_path / "two.tar")
    ok(hakod, "save", "-o", archive, fresh, other)
    ok(hakod, "rmi", fresh, other)
    out = ok(hakod, "load", "-i", archive)
    assert f"Loaded image: {fresh}" in out and f"Loaded image: {other}" in out

    # an OCI archive written by skopeo from what hako saved
    oci_archive = str(tmp_path / "oci.tar")
    skopeo("copy", f"docker-archive:{archive}:{other}", f"oci-archive:{oci_archive}:{other.split(':')[1]}")
    ok(hakod, "rmi", other)
    result = hakod.docker("load", "-i", oci_archive, check=True)
    loaded_id = result.stdout.strip().splitlines()[-1]
    assert "Loaded image" in loaded_id
    assert ok(hakod, "run", "--rm", "busybox:latest", "true") == ""


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_docker_cli_draws_progress_bars_in_a_terminal(hakod, registry, busybox_image_tar, tmp_path):
    """A pull held in the middle of its new layer: the docker CLI, in a real terminal, shows
    the layer's bar with its byte counts from hakod's progressDetail."""
    from tests.compat.test_docker_cli_interactive import Terminal
    from tests.faulty_proxy import FaultyProxy

    with open(busybox_image_tar, "rb") as f:
        target = oci_images.push_fresh_image(registry.host, str(tmp_path), f.read(), f"tty/img-{uuid.uuid4().hex[:8]}")
    proxy = FaultyProxy(registry.host)
    terminal = Terminal(hakod)
    try:
        proxy.fault = "stall"
        proxy.fault_digest = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{target}"))["layers"][1]["digest"]
        through_proxy = target.replace(registry.host, proxy.host)
        terminal.start("pull", through_proxy)
        terminal.wait_for(r"Downloading \[=*>\s*\]\s+\d+(\.\d+)?[kM]B/\d+(\.\d+)?[kM]B", timeout=30)
        assert "Already exists" in terminal.screen()
        proxy.fault = None
        proxy.release.set()
        terminal.wait_for(r"EXITED=0", timeout=60)
        screen = terminal.screen()
        assert "Pull complete" in screen and f"Status: Downloaded newer image for {through_proxy}" in screen
    finally:
        terminal.close()
        proxy.stop()
        hakod.docker("rmi", target.replace(registry.host, proxy.host))


def test_pull_all_tags_and_remove_by_digest(hakod, registry, busybox_image_tar, tmp_path, cleanup_images):
    name = repo(registry, "dist/alltags")
    for tag in ("a", "b"):
        ok(hakod, "tag", "busybox:latest", f"{name}:{tag}")
        ok(hakod, "push", f"{name}:{tag}")
        ok(hakod, "rmi", f"{name}:{tag}")
    cleanup_images.extend([f"{name}:a", f"{name}:b"])
    ok(hakod, "pull", "-a", name)
    tags = ok(hakod, "images", "--format", "{{.Tag}}", name).split()
    assert sorted(tags) == ["a", "b"]

    digests = ok(hakod, "images", "--digests", "--format", "{{.Digest}}", name).split()
    assert digests and all(d.startswith("sha256:") for d in digests)
    ok(hakod, "rmi", f"{name}:a", f"{name}:b")
    ok(hakod, "pull", f"{name}@{digests[0]}")
    out = ok(hakod, "rmi", f"{name}@{digests[0]}")
    assert f"Untagged: {name}@{digests[0]}" in out


def test_pushing_a_pulled_image_reuses_the_registry_blobs(hakod, registry, busybox_image_tar, tmp_path, cleanup_images):
    """Even a layer that was already unpacked here when the pull ran (busybox's) is known by
    its registry digest, so pushing to another repository mounts both layers, uploads nothing."""
    with open(busybox_image_tar, "rb") as f:
        fresh = oci_images.push_fresh_image(registry.host, str(tmp_path), f.read(), f"reuse/src-{uuid.uuid4().hex[:8]}")
    ok(hakod, "pull", fresh)
    copy = repo(registry, "reuse/dst") + ":v1"
    cleanup_images.extend([fresh, copy])
    ok(hakod, "tag", fresh, copy)
    out = ok(hakod, "push", copy)
    assert out.count("Mounted from") == 2, out
    assert "Pushed" not in out
    source_layers = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{fresh}"))["Layers"]
    copied_layers = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{copy}"))["Layers"]
    assert copied_layers == source_layers


def test_a_pulled_zstd_image_pushes_as_oci(hakod, registry, busybox_image_tar, tmp_path, cleanup_images):
    with open(busybox_image_tar, "rb") as f:
        rootfs = f.read()
    layout = oci_images.Layout(str(tmp_path / "zstd"))
    layout.tag(layout.image([rootfs, oci_images.tar_of({"z": b"zstd\n"})], compression="zstd"), "v1")
    layout.write()
    source = repo(registry, "zstd/src") + ":v1"
    skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.path}:v1", f"docker://{source}")
    copy = repo(registry, "zstd/dst") + ":v1"
    cleanup_images.extend([source, copy])
    ok(hakod, "pull", source)
    ok(hakod, "tag", source, copy)
    ok(hakod, "push", copy)
    raw = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{copy}"))
    assert raw["mediaType"] == oci_images.OCI_MANIFEST
    # the top layer as it was pulled; busybox's may go as a gzip blob this registry already has
    assert raw["layers"][-1]["mediaType"] == oci_images.LAYER_TYPES["zstd"]
    assert all(layer["mediaType"].startswith("application/vnd.oci.image.layer.v1.tar") for layer in raw["layers"])
