"""config.json validation: every error is one line that names the field. No root needed."""

from __future__ import annotations

import copy
import json

import pytest

from hako.runtime import spec
from hako.runtime.defaults import default_spec
from hako.runtime.errors import ConfigError
from tests.conftest import apply_changes


def config(**changes) -> dict:
    return apply_changes(default_spec(args=["true"], terminal=False), changes)


def test_default_spec_is_valid():
    spec.validate(default_spec())


def test_unknown_fields_are_ignored():
    spec.validate(config(process__newField=1, linux__future={"x": 1}, somethingElse=[1]))


@pytest.mark.parametrize("changes, field", [
    ({"ociVersion": None}, "ociVersion: is required"),
    ({"root": None}, "root: is required"),
    ({"root__path": 3}, "root.path: must be a string"),
    ({"root__readonly": "yes"}, "root.readonly: must be a boolean"),
    ({"process": None}, "process: is required"),
    ({"process__args": []}, "process.args"),
    ({"process__args": ["sh", 1]}, "process.args"),
    ({"process__cwd": "relative"}, "process.cwd: must be an absolute path"),
    ({"process__env": ["NOEQUALS"]}, "process.env[0]"),
    ({"process__user": {"uid": -1}}, "process.user.uid: -1 is out of range"),
    ({"process__user": {"uid": 0, "gid": 0, "additionalGids": [1, "x"]}}, "process.user.additionalGids[1]"),
    ({"process__user": {"umask": 0o1000}}, "process.user.umask"),
    ({"process__capabilities": {"effective": ["CAP_NOPE"]}}, "process.capabilities.effective[0]"),
    ({"process__rlimits": [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 5}]}, "process.rlimits[0]: soft limit"),
    ({"process__rlimits": [{"type": "RLIMIT_NOFILE", "hard": 5}]}, "process.rlimits[0].soft: is required"),
    ({"process__oomScoreAdj": -1001}, "process.oomScoreAdj"),
    ({"process__noNewPrivileges": 1}, "process.noNewPrivileges: must be a boolean"),
    ({"mounts": [{"destination": "rel"}]}, "mounts[0].destination"),
    ({"mounts": [{"destination": "/x", "options": "ro"}]}, "mounts[0].options: must be an array"),
    ({"hooks": {"prestart": [{"path": "hook"}]}}, "hooks.prestart[0].path"),
    ({"hooks": {"poststop": [{"path": "/h", "timeout": 0}]}}, "hooks.poststop[0].timeout"),
    ({"linux__namespaces": [{"type": "pid"}, {"type": "pid"}]}, "linux.namespaces[1].type: duplicate"),
    ({"linux__namespaces": [{"type": "net"}]}, "linux.namespaces[0].type: unknown namespace type 'net'"),
    ({"linux__namespaces": [{"type": "network", "path": "netns"}]}, "linux.namespaces[0].path"),
    ({"linux__uidMappings": [{"containerID": 0, "hostID": 1}]}, "linux.uidMappings[0].size: is required"),
    ({"linux__devices": [{"path": "/dev/x", "type": "x"}]}, "linux.devices[0].type"),
    ({"linux__devices": [{"path": "/dev/x", "type": "c", "major": 1}]}, "linux.devices[0].minor"),
    ({"linux__resources": {"memory": {"limit": "1g"}}}, "linux.resources.memory.limit: must be an integer"),
    ({"linux__resources": {"memory": {"swappiness": 101}}}, "linux.resources.memory.swappiness"),
    ({"linux__resources": {"pids": {}}}, "linux.resources.pids.limit: is required"),
    ({"linux__resources": {"blockIO": {"weight": 1001}}}, "linux.resources.blockIO.weight"),
    ({"linux__resources": {"devices": [{"access": "rwm"}]}}, "linux.resources.devices[0].allow"),
    ({"linux__resources": {"devices": [{"allow": True, "access": "rwx"}]}}, "linux.resources.devices[0].access"),
    ({"linux__rootfsPropagation": "sideways"}, "linux.rootfsPropagation"),
    ({"linux__sysctl": {"../../etc/passwd": "x"}}, "invalid sysctl name"),
    ({"linux__sysctl": {"net.ipv4.ip_forward": 1}}, "linux.sysctl.net.ipv4.ip_forward: must be a string"),
    ({"linux__intelRdt": {"closID": "x"}}, "linux.intelRdt: is not supported"),
])
def test_errors_name_the_field(changes, field):
    c = apply_changes(config(), changes)
    with pytest.raises(ConfigError) as info:
        spec.validate(c)
    message = str(info.value)
    assert field in message
    assert "\n" not in message


def test_load_config_reports_the_file(tmp_path):
    with pytest.raises(ConfigError, match="config.json: no such file"):
        spec.load_config(str(tmp_path))
    (tmp_path / "config.json").write_text("{oops")
    with pytest.raises(ConfigError, match="config.json: malformed JSON"):
        spec.load_config(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps(config()))
    assert spec.load_config(str(tmp_path))["process"]["args"] == ["true"]


def test_validate_does_not_change_the_config():
    c = config(linux__resources={"memory": {"limit": 1 << 20}})
    before = copy.deepcopy(c)
    spec.validate(c)
    assert c == before
