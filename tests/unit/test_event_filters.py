"""Docker's /events filters, on engine events without a daemon."""

from __future__ import annotations

from hako.api.system import _matches
from hako.engine.events import Event

STARTED = Event("container", "start", "c" * 64, {"name": "web", "image": "busybox"})
TAGGED = Event("image", "tag", "sha256:" + "a" * 64, {"name": "busybox:latest"})


def test_container_filter_takes_ids_prefixes_and_names_and_only_container_events():
    assert _matches(STARTED, {"container": ["web"]})
    assert _matches(STARTED, {"container": ["ccc"]})
    assert not _matches(STARTED, {"container": ["db"]})
    assert not _matches(TAGGED, {"container": ["web"]})


def test_image_filter_matches_image_events_and_containers_made_from_the_image():
    assert _matches(STARTED, {"image": ["busybox"]})
    assert not _matches(STARTED, {"image": ["alpine"]})
    assert _matches(TAGGED, {"image": ["busybox:latest"]})
    assert not _matches(TAGGED, {"image": ["alpine"]})


def test_type_event_and_label_filters_combine():
    labelled = Event("container", "die", "d" * 64, {"name": "x", "image": "busybox", "team": "a"})
    assert _matches(labelled, {"type": ["container"], "event": ["die"], "label": ["team=a"]})
    assert not _matches(labelled, {"label": ["team=b"]})
    assert not _matches(labelled, {"type": ["image"]})
