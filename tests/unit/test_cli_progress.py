"""hako.cli.progress against docker's jsonmessage rendering.

The expected bytes were written by docker CLI 28.2 for the same streams (captured from a pty,
where the kernel turns each "\\n" into "\\r\\n"; undone here). `test_parity_with_docker_cli` runs
the real docker CLI again against a scripted daemon, in a pty of each width, and compares it
with hako byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from hako.cli.progress import StreamFailed, display_stream, format_message, go_duration, progress_string
from tests.pty_run import run_in_pty

L, M = "a1b2c3d4e5f6", "0f1e2d3c4b5a"
DIGEST = "sha256:" + "d" * 64


def _msg(**fields) -> bytes:
    return json.dumps(fields).encode()


# A pull as hakod (and dockerd) stream it: two layers, one downloaded and extracted, one present.
PULL_STREAM = [
    _msg(status="Pulling from library/busybox", id="latest"),
    _msg(status="Pulling fs layer", progressDetail={}, id=L),
    _msg(status="Pulling fs layer", progressDetail={}, id=M),
    _msg(status="Waiting", progressDetail={}, id=M),
    _msg(status="Downloading", progressDetail={"current": 32768, "total": 2152262},
         progress="[>     ]  32.77kB/2.152MB", id=L),
    _msg(status="Downloading", progressDetail={"current": 1200000, "total": 2152262},
         progress="[==>     ]  1.2MB/2.152MB", id=L),
    _msg(status="Verifying Checksum", progressDetail={}, id=L),
    _msg(status="Download complete", progressDetail={}, id=L),
    _msg(status="Extracting", progressDetail={"current": 65536, "total": 2152262}, progress="[=>  ]", id=L),
    _msg(status="Extracting", progressDetail={"current": 2152262, "total": 2152262}, progress="[====]", id=L),
    _msg(status="Pull complete", progressDetail={}, id=L),
    _msg(status="Downloading", progressDetail={"current": 100, "total": 0}, id=M),
    _msg(status="Already exists", progressDetail={}, id=M),
    _msg(status="Digest: " + DIGEST),
    _msg(status="Status: Downloaded newer image for busybox:latest"),
]

# docker pull busybox | cat
PLAIN = (f"latest: Pulling from library/busybox\n{L}: Pulling fs layer\n{M}: Pulling fs layer\n"
         f"{M}: Waiting\n{L}: Verifying Checksum\n{L}: Download complete\n{L}: Pull complete\n"
         f"{M}: Already exists\nDigest: {DIGEST}\nStatus: Downloaded newer image for busybox:latest\n")

# docker pull busybox, on a 150-column terminal
TERMINAL_150 = (
    "latest: Pulling from library/busybox\n\n"
    f"\x1b[1A\x1b[2K\r{L}: Pulling fs layer \r\x1b[1B\n"
    f"\x1b[1A\x1b[2K\r{M}: Pulling fs layer \r\x1b[1B"
    f"\x1b[1A\x1b[2K\r{M}: Waiting \r\x1b[1B"
    f"\x1b[2A\x1b[2K\r{L}: Downloading [>                                                  ]  32.77kB/2.152MB\r\x1b[2B"
    f"\x1b[2A\x1b[2K\r{L}: Downloading [===========================>                       ]    1.2MB/2.152MB\r\x1b[2B"
    f"\x1b[2A\x1b[2K\r{L}: Verifying Checksum \r\x1b[2B"
    f"\x1b[2A\x1b[2K\r{L}: Download complete \r\x1b[2B"
    f"\x1b[2A\x1b[2K\r{L}: Extracting [=>                                                 ]  65.54kB/2.152MB\r\x1b[2B"
    f"\x1b[2A\x1b[2K\r{L}: Extracting [==================================================>]  2.152MB/2.152MB\r\x1b[2B"
    f"\x1b[2A\x1b[2K\r{L}: Pull complete \r\x1b[2B"
    f"\x1b[1A\x1b[2K\r{M}: Downloading     100B\r\x1b[1B"
    f"\x1b[1A\x1b[2K\r{M}: Already exists \r\x1b[1B"
    f"Digest: {DIGEST}\nStatus: Downloaded newer image for busybox:latest\n")

# the same on an 80-column terminal: no bars (docker draws them only above 110 columns)
TERMINAL_80 = (TERMINAL_150
               .replace("[>                                                  ] ", "")
               .replace("[===========================>                       ] ", "")
               .replace("[=>                                                 ] ", "")
               .replace("[==================================================>] ", ""))


class Collect:
    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)

    @property
    def text(self):
        return "".join(self.parts)


def render(stream, is_terminal, width=200, on_aux=None):
    out = Collect()
    display_stream(stream, out, is_terminal, width, on_aux)
    return out.text


def test_plain_output_leaves_out_progress_updates():
    assert render(PULL_STREAM, False) == PLAIN


def test_terminal_output_redraws_each_layer_in_place():
    assert render(PULL_STREAM, True, 150) == TERMINAL_150


def test_narrow_terminal_has_no_bars():
    assert "[" not in TERMINAL_80.replace("\x1b[", "")
    assert render(PULL_STREAM, True, 80) == TERMINAL_80


def test_width_is_read_for_each_message():
    widths = iter([150] * 5 + [80] * 100)
    text = render(PULL_STREAM, True, lambda: next(widths))
    assert "Downloading [>" in text                # drawn while the terminal was wide
    assert f"{L}: Extracting  65.54kB" in text     # narrow afterwards


def test_error_in_the_stream_stops_after_what_came_before():
    out = Collect()
    stream = PULL_STREAM[:5] + [_msg(errorDetail={"message": "unexpected EOF"}, error="unexpected EOF")] + PULL_STREAM[5:]
    with pytest.raises(StreamFailed, match="^unexpected EOF$"):
        display_stream(stream, out, False)
    assert out.text == (f"latest: Pulling from library/busybox\n{L}: Pulling fs layer\n"
                        f"{M}: Pulling fs layer\n{M}: Waiting\n")


def test_error_field_alone_is_an_error_too():
    with pytest.raises(StreamFailed, match="denied"):
        render([_msg(error="denied: requested access to the resource is denied")], False)


def test_invalid_json_is_an_error_not_silence():
    with pytest.raises(StreamFailed, match="invalid JSON"):
        render([b"<html>oops</html>"], False)


def test_push_stream_and_aux():
    digest = "sha256:" + "e" * 64
    stream = [_msg(status="The push refers to repository [127.0.0.1:5000/trace/bb]"),
              _msg(status="Preparing", progressDetail={}, id="29f66708add7"),
              _msg(status="Pushing", progressDetail={"current": 19968, "total": 1984172}, progress="x", id="29f66708add7"),
              _msg(status="Pushing", progressDetail={"current": 2129920, "total": 1984172}, progress="x", id="29f66708add7"),
              _msg(status="Pushed", progressDetail={}, id="29f66708add7"),
              _msg(status=f"v1: digest: {digest} size: 527"),
              _msg(progressDetail={}, aux={"Tag": "v1", "Digest": digest, "Size": 527})]
    seen = []
    assert render(stream, False, on_aux=seen.append) == (
        "The push refers to repository [127.0.0.1:5000/trace/bb]\n29f66708add7: Preparing\n"
        f"29f66708add7: Pushed\nv1: digest: {digest} size: 527\n")
    assert seen == [{"Tag": "v1", "Digest": digest, "Size": 527}]
    # a count above the total drops the total, as docker does
    assert "   2.13MB\r" in render(stream, True, 80)


def test_stream_messages_are_written_as_they_are():
    stream = [_msg(stream="Loaded image: busybox:latest\n"), _msg(stream="Loaded image ID: sha256:abc\n")]
    assert render(stream, True) == "Loaded image: busybox:latest\nLoaded image ID: sha256:abc\n"


def test_a_line_without_id_starts_a_new_block_of_layers():
    # pull -a: the second tag's layers are drawn below the first tag's, not over them
    stream = [_msg(status="Pulling fs layer", progressDetail={}, id="aaa"),
              _msg(status="Pulling from x", id="v2"),
              _msg(status="Pulling fs layer", progressDetail={}, id="bbb"),
              _msg(status="Pull complete", progressDetail={}, id="aaa")]
    text = render(stream, True, 150)
    assert text.endswith("\n\x1b[1A\x1b[2K\raaa: Pull complete \r\x1b[1B")
    assert text.count("\x1b[2A") == 0


def test_progress_string_variants():
    assert progress_string({}) == ""
    assert progress_string({"current": 0, "total": 0}) == ""
    assert progress_string({"current": 512}) == "    512B"
    assert progress_string({"current": 3, "units": "items"}) == "3 items"
    assert progress_string({"current": 3, "total": 10, "units": "items"}, 80) == "3/10 items"
    assert progress_string({"current": 11, "total": 10, "units": "items"}, 80) == "11 items"
    assert progress_string({"current": 5, "total": 10, "hidecounts": True}, 150) == "[=========================>                         ] "
    # time left from the start time: half done in 10 s leaves 10 s
    assert progress_string({"current": 50, "total": 100, "start": 1000}, 80, now=1010) == "     50B/100B 10s"
    assert progress_string({"current": 100, "total": 100, "start": 1000}, 80, now=1010) == "    100B/100B"


def test_go_duration():
    assert [go_duration(s) for s in (0, 5, 65, 3600, 3723)] == ["0s", "5s", "1m5s", "1h0m0s", "1h2m3s"]


def test_time_stamps_like_docker_events():
    text = format_message({"status": "create", "id": "abc", "timeNano": 1_700_000_000_123_456_789}, False)
    stamp, rest = text.split(" ", 1)
    assert rest == "abc: create\n"
    assert stamp.endswith(("Z", "+00:00")) or stamp[-6] in "+-"
    assert ".123456789" in stamp


# -- the real docker CLI, side by side ----------------------------------------------------------

DOCKER = shutil.which("docker")




def _random_stream(seed: int):
    import random
    rnd = random.Random(seed)
    ids = [f"{rnd.getrandbits(48):012x}" for _ in range(rnd.randint(1, 5))]
    stream = [_msg(status="Pulling from library/x", id="latest")]
    for ident in ids:
        stream.append(_msg(status="Pulling fs layer", progressDetail={}, id=ident))
    for _ in range(30):
        ident = rnd.choice(ids)
        total = rnd.choice([0, 10, 999, 1 << 20, 3 << 30])
        kind = rnd.random()
        if kind < 0.6:
            stream.append(_msg(status=rnd.choice(["Downloading", "Extracting"]), id=ident,
                               progressDetail={"current": rnd.randint(0, max(total, 1) * 2), "total": total}))
        elif kind < 0.9:
            stream.append(_msg(status=rnd.choice(["Waiting", "Download complete", "Pull complete"]),
                               progressDetail={}, id=ident))
        else:
            stream.append(_msg(status=f"note {rnd.random()}"))
    stream.append(_msg(status="Status: Downloaded newer image for x:latest"))
    return stream


@pytest.mark.skipif(DOCKER is None, reason="needs the docker CLI")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_parity_with_docker_cli(tmp_path, seed):
    from tests.unit.test_cli_e2e import FakeDaemon, Reply
    stream = PULL_STREAM if seed == 1 else _random_stream(seed)
    daemon = FakeDaemon(tmp_path, lambda req: Reply(200, chunks=[m + b"\n" for m in stream],
                                                    headers={"Content-Type": "application/json"}))
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path / "cfg"),
           "DOCKER_HOST": daemon.host, "HAKO_HOST": daemon.host,
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        for width in (150, 80):
            docker = run_in_pty([DOCKER, "pull", "-q=false", "x"], env, width)
            hako = run_in_pty([sys.executable, "-m", "hako.cli.main", "pull", "x"], env, width)
            assert docker[0] == hako[0] == 0
            assert hako[1] == docker[1], f"width {width}"
        plain = subprocess.run([DOCKER, "pull", "x"], env=env, capture_output=True, text=True, timeout=60)
        mine = subprocess.run([sys.executable, "-m", "hako.cli.main", "pull", "x"], env=env,
                              capture_output=True, text=True, timeout=60)
        assert (mine.returncode, mine.stdout, mine.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    finally:
        daemon.close()
