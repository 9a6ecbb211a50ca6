"""Metadata instructions: the config change and the `#(nop)` comment each makes (build/metadata.py)."""

from __future__ import annotations

import pytest

from hako.build.dockerfile import parse
from hako.build.errors import BuildError
from hako.build.metadata import StepContext, metadata_step


def step(line: str, env=None, cmd_set=False, config=None):
    ins = parse(f"FROM scratch\n{line}\n").stages[0].instructions[0]
    result = metadata_step(ins, StepContext(env or {}, ["/bin/sh", "-c"], cmd_set))
    config = config if config is not None else {"config": {}}
    result.change(config)
    return result.comment, config


def test_env_both_forms_and_substitution():
    comment, config = step('ENV A=1 B="two words" C=$X', env={"X": "x"})
    assert comment == "ENV A=1 B=two words C=x"
    assert config["config"]["Env"] == ["A=1", "B=two words", "C=x"]
    comment, config = step("ENV OLD value with spaces", config={"config": {"Env": ["OLD=1", "P=2"]}})
    assert config["config"]["Env"] == ["P=2", "OLD=value with spaces"]
    with pytest.raises(BuildError, match="can't find = in"):
        step("ENV A=1 B")


def test_cmd_entrypoint_shell_forms():
    comment, config = step("CMD echo hi")
    assert comment == 'CMD ["/bin/sh" "-c" "echo hi"]' and config["config"]["Cmd"] == ["/bin/sh", "-c", "echo hi"]
    _, config = step('ENTRYPOINT ["run"]', config={"config": {"Cmd": ["inherited"]}})
    assert config["config"] == {"Entrypoint": ["run"], "Cmd": None}
    _, config = step('ENTRYPOINT ["run"]', cmd_set=True, config={"config": {"Cmd": ["mine"]}})
    assert config["config"]["Cmd"] == ["mine"]


def test_expose_volume_labels_user_stopsignal_maintainer():
    comment, config = step("EXPOSE 80 53/udp 8000-8001")
    assert comment == "EXPOSE 53/udp 80/tcp 8000/tcp 8001/tcp"
    assert set(config["config"]["ExposedPorts"]) == {"80/tcp", "53/udp", "8000/tcp", "8001/tcp"}
    with pytest.raises(BuildError, match="Invalid containerPort: http"):
        step("EXPOSE http")
    assert step('VOLUME ["/a", "/b"]')[1]["config"]["Volumes"] == {"/a": {}, "/b": {}}
    assert step("LABEL a=b")[1]["config"]["Labels"] == {"a": "b"}
    assert step("USER $U", env={"U": "app"})[1]["config"]["User"] == "app"
    assert step("STOPSIGNAL SIGINT")[1]["config"]["StopSignal"] == "SIGINT"
    assert step("MAINTAINER someone")[1]["author"] == "someone"


def test_healthcheck_forms():
    _, config = step('HEALTHCHECK --interval=1m30s --timeout=3s --retries=4 CMD ["check", "-q"]')
    assert config["config"]["Healthcheck"] == {"Test": ["CMD", "check", "-q"], "Interval": 90_000_000_000,
                                               "Timeout": 3_000_000_000, "Retries": 4}
    assert step("HEALTHCHECK NONE")[1]["config"]["Healthcheck"] == {"Test": ["NONE"]}
    with pytest.raises(BuildError, match="Unknown type"):
        step("HEALTHCHECK SOMETIMES x")
