"""Health checks: the test command runs in the container on its interval; Docker's status follows.

    starting ──probe exits 0──▶ healthy
        │                          │ `retries` failures in a row
        └──────────────────────────┴──▶ unhealthy            (an event health_status: … per change)
"""

from __future__ import annotations

import time

from tests.conftest import needs_root
from tests.integration.hakod_helpers import docker_ok, events, inspect, own_daemon, run_detached, state, wait_for

pytestmark = needs_root

MS = 1_000_000


def _health(test: list[str], retries: int = 2, interval_ms: int = 200, **extra) -> dict:
    return {"Healthcheck": {"Test": test, "Interval": interval_ms * MS, "Timeout": 5000 * MS,
                            "Retries": retries, **extra}}


def _status(daemon, cid: str) -> str | None:
    health = state(daemon, cid).get("Health")
    return health and health["Status"]


def test_a_passing_check_makes_the_container_healthy(hakod):
    since = time.time()
    cid = run_detached(hakod, "sleep", "1000", **_health(["CMD-SHELL", "echo probe-ok; test -d /proc"]))
    assert _status(hakod, cid) in ("starting", "healthy")
    wait_for(lambda: _status(hakod, cid) == "healthy", what="healthy")
    health = state(hakod, cid)["Health"]
    assert health["FailingStreak"] == 0
    assert health["Log"][-1]["ExitCode"] == 0 and health["Log"][-1]["Output"] == "probe-ok\n"
    assert "(healthy)" in docker_ok(hakod, "ps", "--filter", f"id={cid}", "--format", "{{.Status}}")
    actions = [e["Action"] for e in events(hakod, since, container=[cid])]
    assert actions.count("health_status: healthy") == 1, actions   # one event per change, not per probe


def test_a_failing_check_turns_unhealthy_after_the_retries(hakod):
    since = time.time()
    cid = run_detached(hakod, "sleep", "1000", **_health(["CMD", "sh", "-c", "echo bad >&2; exit 3"], retries=3))
    wait_for(lambda: _status(hakod, cid) == "unhealthy", what="unhealthy")
    health = state(hakod, cid)["Health"]
    assert health["FailingStreak"] >= 3
    assert all(entry["ExitCode"] == 3 for entry in health["Log"])
    assert health["Log"][-1]["Output"] == "bad\n"
    actions = [e["Action"] for e in events(hakod, since, container=[cid])]
    assert "health_status: unhealthy" in actions and "health_status: healthy" not in actions
    assert state(hakod, cid)["Running"], "an unhealthy container keeps running, as in Docker"


def test_health_recovers_and_the_events_follow_each_change(hakod):
    since = time.time()
    # Healthy while /ok exists: the test removes it, then creates it again.
    cid = run_detached(hakod, "sh", "-c", "touch /ok; exec sleep 1000", **_health(["CMD", "test", "-e", "/ok"], retries=1))
    wait_for(lambda: _status(hakod, cid) == "healthy", what="healthy")
    docker_ok(hakod, "exec", cid, "rm", "/ok")
    wait_for(lambda: _status(hakod, cid) == "unhealthy", what="unhealthy")
    docker_ok(hakod, "exec", cid, "touch", "/ok")
    wait_for(lambda: _status(hakod, cid) == "healthy", what="healthy again")
    actions = [e["Action"] for e in events(hakod, since, container=[cid]) if e["Action"].startswith("health_status")]
    assert actions == ["health_status: healthy", "health_status: unhealthy", "health_status: healthy"]


def test_a_probe_that_hangs_is_a_failure_at_its_timeout(hakod):
    cid = run_detached(hakod, "sleep", "1000",
                       **_health(["CMD", "sleep", "100"], retries=1, interval_ms=100, Timeout=300 * MS))
    wait_for(lambda: _status(hakod, cid) == "unhealthy", what="unhealthy by timeout")
    entry = state(hakod, cid)["Health"]["Log"][-1]
    assert entry["ExitCode"] == -1 and "timeout" in entry["Output"]
    # Each timed-out probe was killed, not left behind: after several probes at most the
    # current one is running.
    wait_for(lambda: len(state(hakod, cid)["Health"]["Log"]) >= 4, what="four timed-out probes")
    probes = [line for line in docker_ok(hakod, "exec", cid, "ps", "-o", "args").splitlines()
              if line.strip() == "sleep 100"]
    assert len(probes) <= 1, probes


def test_cli_health_flags_and_none(hakod):
    out = docker_ok(hakod, "run", "-d", "--health-cmd", "true", "--health-interval", "200ms", "--health-retries", "1",
                    "busybox", "sleep", "1000")
    cid = out.strip()
    wait_for(lambda: _status(hakod, cid) == "healthy", what="healthy")
    cid2 = docker_ok(hakod, "run", "-d", "--no-healthcheck", "busybox", "sleep", "1000").strip()
    assert state(hakod, cid2).get("Health") is None


def test_health_checks_resume_after_a_hakod_restart(busybox_image_tar, tmp_path):
    flag = tmp_path / "f"
    flag.mkdir()
    (flag / "ok").touch()
    with own_daemon(busybox_image_tar) as daemon:
        cid = run_detached(daemon, "sleep", "1000", HostConfig={"Binds": [f"{flag}:/f"]},
                           **_health(["CMD", "test", "-e", "/f/ok"], retries=1))
        wait_for(lambda: _status(daemon, cid) == "healthy", what="healthy")
        daemon.kill9()
        daemon.launch()
        assert _status(daemon, cid) == "healthy"
        (flag / "ok").unlink()
        wait_for(lambda: _status(daemon, cid) == "unhealthy", what="a probe by the new hakod")
        assert inspect(daemon, cid)["State"]["Running"]
