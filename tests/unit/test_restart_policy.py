"""Docker's restart-policy decisions, without a daemon."""

from __future__ import annotations

import pytest

from hako.containers.model import CREATED, EXITED, Container, ContainerConfig, HostConfig, RestartPolicy
from hako.engine import restart


def container(policy: str, retries: int = 0, **state) -> Container:
    c = Container(id="c", name="n", image_id="i", config=ContainerConfig(),
                  host_config=HostConfig(restart_policy=RestartPolicy(policy, retries)))
    for key, value in state.items():
        setattr(c.state, key, value)
    return c


@pytest.mark.parametrize("policy, code, expected", [
    ("no", 1, False), ("always", 0, True), ("unless-stopped", 0, True),
    ("on-failure", 0, False), ("on-failure", 3, True),
])
def test_exit_restarts_per_policy(policy, code, expected):
    assert restart.should_restart(container(policy, exit_code=code)) is expected


def test_on_failure_counts_its_restarts():
    assert restart.should_restart(container("on-failure", 2, exit_code=1, restart_count=1))
    assert not restart.should_restart(container("on-failure", 2, exit_code=1, restart_count=2))


def test_a_manual_stop_is_respected():
    assert not restart.should_restart(container("always", exit_code=1, manually_stopped=True))


def test_backoff_doubles_for_quick_restarts_and_resets_after_a_long_run():
    quick = container("always", restart_count=3, started_at=100.0, finished_at=101.0).state
    assert restart.backoff(quick) == pytest.approx(0.8)
    assert restart.backoff(container("always", restart_count=30, started_at=0.0, finished_at=1.0).state) == 60.0
    assert restart.backoff(container("always", restart_count=3, started_at=0.0, finished_at=20.0).state) == 0.1


@pytest.mark.parametrize("policy, stopped, status, started, expected", [
    ("always", True, EXITED, 1.0, True),
    ("unless-stopped", True, EXITED, 1.0, False),
    ("unless-stopped", False, EXITED, 1.0, True),
    ("always", False, CREATED, 0.0, False),
    ("on-failure", False, EXITED, 1.0, False),
])
def test_which_containers_come_back_with_the_daemon(policy, stopped, status, started, expected):
    c = container(policy, manually_stopped=stopped, status=status, started_at=started)
    assert restart.start_with_daemon(c) is expected
