"""Networks across a crash of hakod: what runs keeps its address, name and published port; what
exited while hakod was away, and whatever it made for it, is cleaned when hakod starts again."""

from __future__ import annotations

import json
import os
import signal
import uuid

from tests.conftest import needs_root
from tests.integration.hakod_helpers import own_daemon, pid_alive, wait_for
from tests.integration.network_helpers import WEB_CMD, free_port, http_get, netns_files, nft_published, veths_on, wait_http

pytestmark = needs_root


def docker(daemon, *args: str) -> str:
    result = daemon.docker(*args)
    assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout


def inspect(daemon, ref: str) -> dict:
    return json.loads(docker(daemon, "inspect", ref))[0]


def test_kill9_keeps_running_containers_reachable_and_cleans_up_after_exited_ones(busybox_image_tar):
    with own_daemon(busybox_image_tar) as daemon:
        net = "rnet-" + uuid.uuid4().hex[:6]
        docker(daemon, "network", "create", net)
        port = free_port()
        web = docker(daemon, "run", "-d", "--name", "web", "--network", net, "-p", f"{port}:80", "busybox", *WEB_CMD).strip()
        doomed = docker(daemon, "run", "-d", "--name", "doomed", "--network", net, "busybox", "sleep", "300").strip()
        assert "hello-from" in wait_http(f"http://127.0.0.1:{port}/index.html")
        bridge = json.loads(docker(daemon, "network", "inspect", net))[0]["Options"].get("com.docker.network.bridge.name") \
            or "br-" + json.loads(docker(daemon, "network", "inspect", net))[0]["Id"][:12]
        doomed_pid = inspect(daemon, doomed)["State"]["Pid"]
        web_ip = inspect(daemon, web)["NetworkSettings"]["Networks"][net]["IPAddress"]
        assert len(veths_on(bridge)) == 2

        daemon.kill9()
        os.kill(doomed_pid, signal.SIGKILL)       # exits while no hakod is there
        wait_for(lambda: not pid_alive(doomed_pid), what="the doomed container to die")
        daemon.launch()

        assert inspect(daemon, doomed)["State"]["Status"] == "exited"
        assert netns_files(daemon) == [web[:12]]
        wait_for(lambda: len(veths_on(bridge)) == 1, what="the exited container's veth to go")
        assert "hello-from" in http_get(f"http://127.0.0.1:{port}/index.html")     # the proxy is back
        assert f"dport {port} dnat to {web_ip}:80" in nft_published(daemon.nft_table())
        out = daemon.docker("run", "--rm", "--network", net, "busybox", "nslookup", "web").stdout
        assert f"Address: {web_ip}" in out                                          # DNS too

        docker(daemon, "rm", "-f", web, doomed)
        assert netns_files(daemon) == []
        wait_for(lambda: veths_on(bridge) == [], what="the veths to go with their namespaces")
        assert "dnat" not in nft_published(daemon.nft_table())
        docker(daemon, "network", "rm", net)


def test_leftovers_of_a_crash_are_removed_at_start(busybox_image_tar):
    """A hakod killed in the middle of things may leave a netns file and a veth that no record
    knows of; the next one removes them."""
    with own_daemon(busybox_image_tar) as daemon:
        cid = docker(daemon, "run", "-d", "busybox", "sleep", "300").strip()
        bridge = daemon.bridges()[0]
        daemon.kill9()
        # what a crash between "plugged" and "recorded" would leave
        stray = os.path.join(daemon.exec_root, "netns", "deadbeef0000")
        open(stray, "w").close()
        os.system(f"ip link add vethdead0 type veth peer name vethdead1 && ip link set vethdead0 master {bridge}")
        daemon.launch()
        assert netns_files(daemon) == [cid[:12]]
        assert [v for v in veths_on(bridge) if v.startswith("vethdead")] == []
        os.system("ip link del vethdead0 2>/dev/null")
