"""Bad input to `create` and `run`: each fails with one line on stderr that names the problem, and
leaves nothing behind: no state directory, no cgroup, no process, no mount on the host."""

from __future__ import annotations

import os

import pytest

from hako.runtime.defaults import default_mounts

from .conftest import cgroup_dirs, mountinfo, needs_root, processes_mentioning

pytestmark = [pytest.mark.root, needs_root]


def _config(rt, bundle: str) -> dict:
    return rt.make_bundle.read(bundle)


def malformed_json(rt, bundle):
    rt.make_bundle.write(bundle, '{"ociVersion": "1.0.2", "process": {')


def missing_config(rt, bundle):
    os.unlink(os.path.join(bundle, "config.json"))


def missing_args(rt, bundle):
    config = _config(rt, bundle)
    del config["process"]["args"]
    rt.make_bundle.write(bundle, config)


def change(**changes):
    """A case that edits the config: keys are paths joined by "__", as make_bundle takes them."""
    def edit(rt, bundle):
        config = _config(rt, bundle)
        for path, value in changes.items():
            target = config
            keys = path.split("__")
            for key in keys[:-1]:
                target = target.setdefault(key, {}) if isinstance(target, dict) else target[int(key)]
            target[keys[-1]] = value
        rt.make_bundle.write(bundle, config)
    return edit


NAMESPACES = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")]

# (case id, how to break the bundle, what the error line must contain)
CASES = [
    ("malformed-json", malformed_json, "config.json: malformed JSON"),
    ("missing-config", missing_config, "config.json"),
    ("missing-args", missing_args, "process.args"),
    ("empty-args", change(process__args=[]), "process.args"),
    ("relative-mount-destination",
     change(mounts=[*default_mounts(), {"destination": "data", "type": "tmpfs", "source": "tmpfs"}]),
     "mounts[7].destination"),
    ("unknown-namespace", change(linux__namespaces=[*NAMESPACES, {"type": "bogus"}]), "linux.namespaces[6].type"),
    ("bad-namespace-path",
     change(linux__namespaces=[*NAMESPACES[:1], {"type": "network", "path": "/run/netns/hako-no-such"},
                               *NAMESPACES[2:]]),
     "linux.namespaces[1].path"),
    ("unknown-capability", change(process__capabilities__bounding=["CAP_MAKE_COFFEE"]),
     "process.capabilities.bounding[0]"),
    ("negative-memory-limit", change(linux__resources={"memory": {"limit": -5}}), "linux.resources.memory.limit"),
    ("swap-below-memory-limit", change(linux__resources={"memory": {"limit": 64 << 20, "swap": 32 << 20}}),
     "linux.resources.memory.swap"),
    ("cpuset-the-host-lacks", change(linux__resources={"cpu": {"cpus": "999"}}), "cpu.cpus"),
    ("root-path-missing", change(root__path="/nonexistent/hako-rootfs"), "root.path"),
    ("missing-binary", change(process__args=["hako-no-such-binary"]), "executable file not found in $PATH"),
    ("missing-binary-by-path", change(process__args=["/bin/hako-no-such-binary"]), "no such file or directory"),
    ("missing-bind-source",
     change(mounts=[*default_mounts(), {"destination": "/data", "type": "bind", "source": "/nonexistent/hako",
                                        "options": ["rbind"]}]),
     "/nonexistent/hako"),
    ("unknown-sysctl", change(linux__sysctl={"net.ipv4.hako_no_such": "1"}), "linux.sysctl.net.ipv4.hako_no_such"),
    ("mappings-without-userns",
     change(linux__uidMappings=[{"containerID": 0, "hostID": 100000, "size": 1}]), "linux.uidMappings"),
    ("oom-score-out-of-range", change(process__oomScoreAdj=5000), "process.oomScoreAdj"),
    ("rlimit-unknown", change(process__rlimits=[{"type": "RLIMIT_COFFEE", "soft": 1, "hard": 1}]),
     "process.rlimits[0].type"),
    ("rlimit-above-hard", change(process__rlimits=[{"type": "RLIMIT_NOFILE", "soft": 1 << 40, "hard": 1 << 40}]),
     "RLIMIT_NOFILE"),
    ("relative-cwd", change(process__cwd="tmp"), "process.cwd"),
    ("terminal-without-console-socket", change(process__terminal=True), "console"),
]


@pytest.mark.parametrize("command", ["create", "run"])
@pytest.mark.parametrize("case, breaker, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_cleanly(rt, command, case, breaker, expected):
    if command == "run" and case == "terminal-without-console-socket":
        pytest.skip("run gives the process its own terminal")
    cid, bundle = rt.bundle(["sleep", "60"])
    breaker(rt, bundle)
    rootfs = rt.make_bundle.rootfs
    mounts_before = mountinfo()

    result = rt(command, cid, "--bundle", bundle)

    assert result.rc != 0, result
    assert result.out == ""
    assert len(result.err.splitlines()) == 1, result
    assert expected in result.err, result
    assert "Traceback" not in result.err
    assert not os.path.exists(os.path.join(rt.root, cid)), "state directory left behind"
    assert rt.ok("list", "-q").out == ""
    assert cgroup_dirs(cid) == [], "cgroup left behind"
    assert processes_mentioning(bundle) == [], "process left behind"
    ours = (bundle, rootfs)
    changed = {line for line in mountinfo() ^ mounts_before if any(path in line for path in ours)}
    assert changed == set(), "host mount table changed"


def test_unknown_fields_are_ignored(rt):
    cid, bundle = rt.bundle(["true"], process__hakoFutureField={"x": 1}, linux__futureThing=True)
    rt.ok("run", cid, "--bundle", bundle)


def test_id_already_taken_leaves_the_first_container_alone(rt):
    cid, bundle = rt.bundle(["sleep", "60"])
    rt.ok("create", cid, "--bundle", bundle)
    pid = rt.state(cid)["pid"]
    result = rt("run", cid, "--bundle", bundle)
    assert result.rc != 0 and "exists" in result.err and len(result.err.splitlines()) == 1, result
    assert rt.state(cid)["pid"] == pid and rt.state(cid)["status"] == "created"
    assert len(cgroup_dirs(cid)) > 0

