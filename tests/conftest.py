"""Fixtures shared by every test tree: the busybox rootfs and bundles made from it."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import pytest

from hako.images.busybox import build_rootfs
from hako.runtime.defaults import default_spec


def is_root() -> bool:
    return os.geteuid() == 0


needs_root = pytest.mark.skipif(not is_root(), reason="needs root and a real kernel")


@pytest.fixture(scope="session")
def busybox_rootfs():
    """One busybox rootfs for the whole run; bundles use it read-only."""
    # Not under pytest's tmp_path: its 0700 parents would stop a user-namespaced root from
    # reaching the rootfs.
    top = tempfile.mkdtemp(prefix="hako-test-rootfs-")
    os.chmod(top, 0o755)
    rootfs = build_rootfs(os.path.join(top, "rootfs"))
    yield rootfs
    shutil.rmtree(top, ignore_errors=True)


def apply_changes(config: dict, changes: dict) -> dict:
    """Set values by key path, ``linux__resources__pids`` for config["linux"]["resources"]["pids"];
    None removes the key. Returns ``config``, changed in place."""
    for path, value in changes.items():
        target = config
        keys = path.split("__")
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        if value is None:
            target.pop(keys[-1], None)
        else:
            target[keys[-1]] = value
    return config


class BundleFactory:
    def __init__(self, rootfs: str):
        self.rootfs = rootfs
        self.dirs: list[str] = []

    def __call__(self, args: list[str], terminal: bool = False, **changes) -> str:
        """A bundle whose config is `default_spec` with ``changes`` applied by key path."""
        bundle = tempfile.mkdtemp(prefix="hako-test-bundle-")
        os.chmod(bundle, 0o755)
        self.dirs.append(bundle)
        config = apply_changes(default_spec(args=args, terminal=terminal, rootfs=self.rootfs), changes)
        self.write(bundle, config)
        return bundle

    @staticmethod
    def write(bundle: str, config) -> None:
        with open(os.path.join(bundle, "config.json"), "w") as f:
            f.write(config if isinstance(config, str) else json.dumps(config))

    @staticmethod
    def read(bundle: str) -> dict:
        with open(os.path.join(bundle, "config.json")) as f:
            return json.load(f)

    def cleanup(self) -> None:
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def make_bundle(busybox_rootfs):
    factory = BundleFactory(busybox_rootfs)
    yield factory
    factory.cleanup()


@pytest.fixture(scope="session", autouse=True)
def _remove_test_cgroup_parents():
    """Leave the host as found: runtimes keep a cgroup's parents (as runc does), so the suite
    removes the empty /hako-test parents its containers were given, once at the end."""
    yield
    if not is_root():
        return
    top = "/sys/fs/cgroup"
    candidates = [os.path.join(top, "hako-test")]
    try:
        candidates += [os.path.join(top, h, "hako-test") for h in os.listdir(top)]
    except OSError:
        return
    for path in candidates:
        try:
            os.rmdir(path)
        except OSError:
            pass  # absent, or not empty: a leak that the per-test checks report


@pytest.fixture(scope="session")
def busybox_image_tar(busybox_rootfs, tmp_path_factory):
    from tests.daemon import busybox_tar

    return busybox_tar(busybox_rootfs, str(tmp_path_factory.mktemp("images") / "busybox.tar"))


@pytest.fixture(scope="session")
def hakod_session(busybox_image_tar):
    """One hakod for the run (starting one costs ~0.5 s); tests share it and clean up after themselves."""
    if not is_root():
        pytest.skip("hakod needs root")
    from tests.daemon import Daemon

    daemon = Daemon.start(busybox_image_tar)
    yield daemon
    leaks = daemon.stop()
    assert not leaks, f"hakod leaked: {leaks}"


@pytest.fixture
def hakod(hakod_session):
    """The shared hakod; after the test every container is removed and nothing may be left."""
    daemon = hakod_session
    if daemon.process.poll() is not None:
        daemon.launch()
    yield daemon
    if daemon.process.poll() is not None:
        daemon.launch()
    daemon.remove_all_containers()
    import time as _time

    deadline = _time.monotonic() + 5
    while _time.monotonic() < deadline:
        leaks = daemon.leaks()
        if not leaks:
            break
        _time.sleep(0.1)
    assert not leaks, f"left behind: {leaks}"


@pytest.fixture(scope="session")
def registry():
    """A real registry (Debian's docker-registry) on 127.0.0.1, anonymous and plain HTTP."""
    from tests.registry_servers import RegistryServer

    with RegistryServer() as server:
        yield server


@pytest.fixture(scope="session")
def auth_registry():
    """A real registry with htpasswd Basic auth; `.username` and `.password` log in."""
    from tests.registry_servers import RegistryServer

    with RegistryServer(auth="htpasswd", users={"hako": "s3cret-pass"}) as server:
        server.username, server.password = "hako", "s3cret-pass"
        yield server
