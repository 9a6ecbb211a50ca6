"""daemon.json's registry settings, for real: a registry mirror serving docker.io names, and an
insecure (plain HTTP) registry on one of this host's own non-loopback addresses, which needs
`insecure-registries` (only localhost and 127.0.0.0/8 are insecure by default, as in Docker)."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from tests import oci_images
from tests.conftest import needs_root
from tests.registry_servers import RegistryServer

pytestmark = needs_root


def host_address() -> str | None:
    """This host's own address on its default route (traffic to it stays on this machine)."""
    out = subprocess.run(["ip", "-4", "route", "get", "192.0.2.200"], capture_output=True, text=True).stdout
    parts = out.split()
    return parts[parts.index("src") + 1] if "src" in parts else None


@pytest.fixture
def own_daemon(busybox_image_tar):
    from tests.daemon import Daemon

    daemons = []

    def start(*flags: str) -> Daemon:
        daemon = Daemon.start(None, extra_args=list(flags))
        daemons.append(daemon)
        return daemon

    yield start
    for daemon in daemons:
        assert not daemon.stop()


def test_a_mirror_serves_docker_hub_names(own_daemon, registry, busybox_image_tar, tmp_path):
    name = f"mirrored/app-{uuid.uuid4().hex[:8]}"
    with open(busybox_image_tar, "rb") as f:
        oci_images.push_fresh_image(registry.host, str(tmp_path), f.read(), name)
    daemon = own_daemon("--registry-mirror", registry.url)
    daemon.docker("pull", f"{name}:v1", check=True)
    assert daemon.docker("image", "inspect", "-f", "{{.RepoTags}}", f"docker.io/{name}:v1",
                         check=True).stdout.strip() == f"[{name}:v1]"


def test_plain_http_on_a_host_address_needs_insecure_registries(own_daemon, busybox_image_tar, tmp_path):
    address = host_address()
    if not address or address.startswith("127."):
        pytest.skip("no non-loopback address on this host")
    with RegistryServer(bind=address) as remote:
        name = f"insecure/app-{uuid.uuid4().hex[:8]}"
        with open(busybox_image_tar, "rb") as f:
            target = oci_images.push_fresh_image(remote.host, str(tmp_path), f.read(), name)

        strict = own_daemon()
        refused = strict.docker("pull", target, input="")
        assert refused.returncode == 1
        assert "https" in refused.stderr.lower() or "http response" in refused.stderr.lower(), refused.stderr

        lenient = own_daemon("--insecure-registry", remote.host)
        lenient.docker("pull", target, check=True)
        cidr = own_daemon("--insecure-registry", f"{address}/32")
        cidr.docker("pull", target, check=True)
