"""Operations on one container racing each other: each runs refresh, check, act, save under the
container's lock, so whichever order they land in, the result is one Docker could give, and
nothing is left running behind the record's back."""

from __future__ import annotations

import concurrent.futures

from tests.conftest import needs_root
from tests.integration.hakod_helpers import create, footprint, state, wait_for

pytestmark = needs_root


def _together(*calls):
    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


def test_force_remove_racing_a_start(hakod):
    for _ in range(8):
        cid = create(hakod, {"Cmd": ["sleep", "1000"]})
        start, remove = _together(lambda: hakod.api("POST", f"/containers/{cid}/start"),
                                  lambda: hakod.api("DELETE", f"/containers/{cid}?force=1"))
        assert remove.status == 204, remove.body
        assert start.status in (204, 404, 409), start.body
        assert hakod.api("GET", f"/containers/{cid}/json").status == 404
        wait_for(lambda: footprint(hakod) == {"containers": [], "snapshots": [], "dirs": [], "leaks": []},
                 what="nothing left of the container")


def test_stop_racing_a_start_leaves_it_stopped_or_refuses(hakod):
    for _ in range(8):
        cid = create(hakod, {"Cmd": ["sleep", "1000"]})
        start, stop = _together(lambda: hakod.api("POST", f"/containers/{cid}/start"),
                                lambda: hakod.api("POST", f"/containers/{cid}/stop?t=0"))
        assert start.status in (204, 304), start.body
        st = state(hakod, cid)
        if stop.status == 204:
            assert st["Status"] == "exited", st          # the stop came after the start
        else:
            assert stop.status == 304 and st["Running"]  # the stop came first: nothing to stop
        assert hakod.api("DELETE", f"/containers/{cid}?force=1").status == 204


def test_concurrent_stops_and_kills_of_one_container(hakod):
    cid = create(hakod, {"Cmd": ["sleep", "1000"]})
    assert hakod.api("POST", f"/containers/{cid}/start").status == 204
    results = _together(*[lambda: hakod.api("POST", f"/containers/{cid}/stop?t=1") for _ in range(4)],
                        lambda: hakod.api("POST", f"/containers/{cid}/kill"))
    assert all(r.status in (204, 304, 409) for r in results), [(r.status, r.body) for r in results]
    assert any(r.status == 204 for r in results)
    st = state(hakod, cid)
    assert st["Status"] == "exited" and st["ExitCode"] == 137


def test_concurrent_starts_run_one_process(hakod):
    cid = create(hakod, {"Cmd": ["sleep", "1000"]})
    results = _together(*[lambda: hakod.api("POST", f"/containers/{cid}/start") for _ in range(5)])
    statuses = sorted(r.status for r in results)
    assert statuses == [204, 304, 304, 304, 304], [(r.status, r.body) for r in results]
    found = footprint(hakod)["leaks"]        # what a running container holds
    assert len([f for f in found if f.startswith("monitor process")]) == 1, found
    # one root filesystem mount (the other mount is the container's network namespace file)
    assert len([f for f in found if f.startswith("mount") and "/netns/" not in f]) == 1, found
