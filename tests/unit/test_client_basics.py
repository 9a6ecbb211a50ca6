"""hako.client's pure parts: host selection, the JSON codec, stream framing, detach keys."""

from __future__ import annotations

import json
import random

import pytest

from hako.client import jsoncodec
from hako.client.api import encode_query, min_version
from hako.client.detach import Detached, EscapeMatcher, parse_detach_keys
from hako.client.hosts import DEFAULT_HOST, Host, choose_host, parse_host
from hako.client.mux import SYSERR, Demuxer, frame

# -- hosts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("flag,env,expected", [
    (None, {}, DEFAULT_HOST),
    (None, {"DOCKER_HOST": "unix:///d.sock"}, "unix:///d.sock"),
    (None, {"DOCKER_HOST": "unix:///d.sock", "HAKO_HOST": "unix:///h.sock"}, "unix:///h.sock"),
    ("unix:///f.sock", {"DOCKER_HOST": "unix:///d.sock", "HAKO_HOST": "unix:///h.sock"}, "unix:///f.sock"),
    ("", {"HAKO_HOST": ""}, DEFAULT_HOST),
])
def test_host_precedence(flag, env, expected):
    assert choose_host(flag, env) == expected


@pytest.mark.parametrize("text,scheme,address,url", [
    ("unix:///run/hako/hako.sock", "unix", "/run/hako/hako.sock", "unix:///run/hako/hako.sock"),
    ("unix://", "unix", "/run/hako/hako.sock", "unix:///run/hako/hako.sock"),
    ("tcp://127.0.0.1:2376", "tcp", ("127.0.0.1", 2376), "tcp://127.0.0.1:2376"),
    ("tcp://example", "tcp", ("example", 2375), "tcp://example:2375"),
    ("example:99", "tcp", ("example", 99), "tcp://example:99"),
    ("tcp://[::1]:5000", "tcp", ("::1", 5000), "tcp://[::1]:5000"),
    ("http://h:1/", "tcp", ("h", 1), "tcp://h:1"),
])
def test_parse_host(text, scheme, address, url):
    host = parse_host(text)
    assert (host.scheme, host.address, host.url) == (scheme, address, url)
    assert host == Host(scheme, address, url)


@pytest.mark.parametrize("text", ["ssh://user@host", "tcp://", "tcp://h:99999", "tcp://h:x"])
def test_parse_host_rejects(text):
    with pytest.raises(ValueError, match="Invalid bind address format"):
        parse_host(text)


# -- jsoncodec -------------------------------------------------------------------------------

VALUES = [None, True, 0, -7, 2**63, 1.5, 1e300, "", "é\u2028\n\"\\", [], {}, [1, [2, {"a": None}]],
          {"Id": "x", "Warnings": [], "nested": {"k": [True, False, 0.25]}}]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_jsoncodec_round_trips_like_json(value):
    text = jsoncodec.dumps(value)
    assert json.loads(text) == value
    assert jsoncodec.loads(text) == value
    assert jsoncodec.loads(json.dumps(value, indent=2) + "\n") == value
    assert text.isascii()
    assert json.loads(jsoncodec.dumps(value, ascii=False)) == value


def test_jsoncodec_keeps_key_order_and_is_compact():
    assert jsoncodec.dumps({"b": 1, "a": [1, 2]}) == '{"b":1,"a":[1,2]}'
    assert list(jsoncodec.loads('{"z": 1, "a": 2}')) == ["z", "a"]
    assert jsoncodec.loads(b'  {"StatusCode":3}\n') == {"StatusCode": 3}


@pytest.mark.parametrize("text", ["", "{", '{"a":1} x', "[1,]", "nul"])
def test_jsoncodec_rejects_malformed(text):
    with pytest.raises(ValueError):
        jsoncodec.loads(text)


# -- api helpers -----------------------------------------------------------------------------

def test_encode_query_escapes_like_go():
    assert encode_query({"filters": '{"label":{"a=b":true}}', "t": "1", "skip": None}) == \
        "filters=%7B%22label%22%3A%7B%22a%3Db%22%3Atrue%7D%7D&t=1"
    assert encode_query({"changes": ["ENV A=1", "CMD x"]}) == "changes=ENV+A%3D1&changes=CMD+x"
    # keys sorted like Go's url.Values.Encode: the trace's "stderr=1&stdout=1&tail=all"
    assert encode_query({"tail": "all", "stdout": "1", "stderr": "1"}) == "stderr=1&stdout=1&tail=all"


def test_min_version_compares_numerically():
    assert min_version("1.9", "1.44") == "1.9"
    assert min_version("1.50", "1.44") == "1.44"


# -- mux -------------------------------------------------------------------------------------

def test_demuxer_reassembles_frames_split_anywhere():
    frames = [(1, b"hi\n"), (2, b"to-stderr\n"), (1, b""), (1, b"x" * 70000), (3, b"boom")]
    stream = b"".join(frame(s, p) for s, p in frames)
    rng = random.Random(7)
    for _ in range(20):
        demux, got, pos = Demuxer(), [], 0
        while pos < len(stream):
            step = rng.randint(1, 9000)
            got += demux.feed(stream[pos:pos + step])
            pos += step
        assert got == frames
        assert demux.pending == 0


def test_demuxer_observed_bytes():
    # The frame from docker-api-notes.md section 3: stdout "hi\n".
    assert Demuxer().feed(bytes.fromhex("010000000000000368690a")) == [(1, b"hi\n")]
    demux = Demuxer()
    assert demux.feed(b"\x02\0\0\0\0\0") == []
    assert demux.pending == 6
    assert demux.feed(b"\0\x01!") == [(2, b"!")]
    assert SYSERR == 3


# -- detach keys -----------------------------------------------------------------------------

@pytest.mark.parametrize("spec,codes", [
    ("ctrl-p,ctrl-q", b"\x10\x11"),
    ("ctrl-a,b", b"\x01b"),
    ("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", b"\x00\x1b\x1c\x1d\x1e\x1f"),
    ("x", b"x"),
])
def test_parse_detach_keys(spec, codes):
    assert parse_detach_keys(spec) == codes


@pytest.mark.parametrize("spec,message", [
    ("bogus", "Unknown character: 'bogus'"),
    ("ctrl-1", "Unknown sequence: 'ctrl-1'"),
    ("abcdef", "Unknown character: 'abcdef'"),
])
def test_parse_detach_keys_errors(spec, message):
    with pytest.raises(ValueError) as info:
        parse_detach_keys(spec)
    assert str(info.value) == message


def test_escape_sequence_detaches_and_swallows_its_bytes():
    m = EscapeMatcher(b"\x10\x11")
    assert m.feed(b"l") == b"l"
    assert m.feed(b"\x10") == b""
    with pytest.raises(Detached, match="read escape sequence"):
        m.feed(b"\x11")


def test_escape_prefix_is_released_when_the_sequence_breaks():
    m = EscapeMatcher(b"\x10\x11")
    assert m.feed(b"\x10") == b""
    assert m.feed(b"a") == b"\x10a"
    assert m.feed(b"\x10") == b""
    assert m.feed(b"\x10") == b"\x10\x10"  # a second Ctrl-P is not the second key


def test_escape_is_only_matched_in_single_byte_reads_like_docker():
    # moby/term's proxy looks at reads of one byte (keystrokes); a paste goes through as is
    m = EscapeMatcher(b"\x10\x11")
    assert m.feed(b"x\x10\x11") == b"x\x10\x11"
    assert m.feed(b"\x10") == b""
    assert m.feed(b"ab") == b"\x10ab"
    assert EscapeMatcher(b"").feed(b"\x10") == b"\x10"


def test_the_whole_sequence_in_one_read_detaches():
    # tmux, or a reader woken late, can hand over both keystrokes at once
    with pytest.raises(Detached):
        EscapeMatcher(b"\x10\x11").feed(b"\x10\x11")
    m = EscapeMatcher(b"\x10\x11")
    assert m.feed(b"\x10") == b""
    with pytest.raises(Detached):
        m.feed(b"\x11")
