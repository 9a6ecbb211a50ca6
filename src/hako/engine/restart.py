"""Restart policies as Docker applies them: when an exit restarts a container, after how long,
and which containers come back when the daemon starts."""

from __future__ import annotations

from ..containers.model import CREATED, EXITED, Container, ContainerState

MAX_BACKOFF = 60.0


def should_restart(container: Container) -> bool:
    """After an exit: no, always, unless-stopped, on-failure[:N] (N counts restarts)."""
    policy = container.host_config.restart_policy
    state = container.state
    if state.manually_stopped:
        return False
    if policy.name in ("always", "unless-stopped"):
        return True
    if policy.name == "on-failure" and state.exit_code != 0:
        return not policy.maximum_retry_count or state.restart_count < policy.maximum_retry_count
    return False


def backoff(state: ContainerState) -> float:
    """Docker's delay: 100 ms doubling per quick restart, back to 100 ms once a run lasted 10 s."""
    ran_for = state.finished_at - state.started_at
    if ran_for >= 10:
        return 0.1
    return min(0.1 * (2 ** min(state.restart_count, 10)), MAX_BACKOFF)


def start_with_daemon(container: Container) -> bool:
    """At daemon start, Docker's rule: `always` comes back even after a manual stop,
    `unless-stopped` only if nobody stopped it; neither if it never ran."""
    policy = container.host_config.restart_policy.name
    state = container.state
    wanted = policy == "always" or (policy == "unless-stopped" and not state.manually_stopped)
    return wanted and state.status in (EXITED, CREATED) and bool(state.started_at)
