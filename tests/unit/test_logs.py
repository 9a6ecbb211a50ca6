"""hako.containers.logs: Docker's json-file format, rotation, reading, following, times."""

from __future__ import annotations

import json
import os
import time

import pytest

from hako.containers.logs import (MAX_LINE, JsonFileWriter, LogEntry, LogFollower, encode_entry,
                                  format_timestamp, json_string, parse_duration, parse_log_opts,
                                  parse_rfc3339_ns, parse_time, read_entries, rfc3339nano,
                                  rotated_files)

T0 = 1795881600.0  # 2026-11-28T16:00:00Z


def lines(path: str) -> list[dict]:
    with open(path, "rb") as f:
        return [json.loads(line) for line in f]


@pytest.fixture
def log_path(tmp_path):
    return str(tmp_path / "abc-json.log")


# ---- the format ------------------------------------------------------------------------------

def test_entry_bytes_are_dockers():
    entry = encode_entry("stdout", b"hi\n", 1795881600_123456789)
    assert entry == b'{"log":"hi\\n","stream":"stdout","time":"2026-11-28T16:00:00.123456789Z"}\n'


def test_time_trims_trailing_zeros_like_go_rfc3339nano():
    assert rfc3339nano(1795881600_120000000) == "2026-11-28T16:00:00.12Z"
    assert rfc3339nano(1795881600_000000000) == "2026-11-28T16:00:00Z"
    assert rfc3339nano(1795881600_000000001) == "2026-11-28T16:00:00.000000001Z"


def test_escaping_matches_dockers_jsonlog():
    # tab as \u0009 (no \t shortcut), HTML characters escaped, DEL and non-ASCII left raw
    assert json_string(b'a\tb<>&"\\\x01\x7f\xc3\xa9\r\n') == \
        '"a\\u0009b\\u003c\\u003e\\u0026\\"\\\\\\u0001\x7f\u00e9\\r\\n"'
    assert json_string("\u2028\u2029".encode()) == '"\\u2028\\u2029"'


def test_invalid_utf8_becomes_one_replacement_per_byte_as_in_go():
    # A truncated 3-byte sequence, a stray byte, and an encoded surrogate: Go's DecodeRune
    # reports one RuneError per byte, so there is one U+FFFD per byte.
    assert json_string(b"\xe2\x82A\xff\xed\xa0\x80") == '"\\ufffd\\ufffdA\\ufffd\\ufffd\\ufffd\\ufffd"'
    # and a valid 4-byte character passes through
    assert json_string("\U0001f600".encode()) == '"\U0001f600"'


def test_entries_are_valid_json_that_round_trips(log_path):
    data = "tab\t quote\" slash\\ <tag> & é \u2028\n".encode()
    with JsonFileWriter(log_path) as writer:
        writer.write("stderr", data, when=T0)
    [record] = lines(log_path)
    assert record == {"log": data.decode(), "stream": "stderr", "time": "2026-11-28T16:00:00Z"}
    [entry] = read_entries(log_path)
    assert entry == LogEntry("stderr", data, "2026-11-28T16:00:00Z", T0)


# ---- writing ---------------------------------------------------------------------------------

def test_lines_are_split_and_partial_lines_wait_for_their_newline(log_path):
    writer = JsonFileWriter(log_path)
    writer.write("stdout", b"one\ntw", when=T0)
    assert [r["log"] for r in lines(log_path)] == ["one\n"]  # on disk before close
    writer.write("stderr", b"err\n", when=T0 + 1)  # streams are buffered separately
    writer.write("stdout", b"o\nthree\n", when=T0 + 2)
    writer.close()
    assert [(r["stream"], r["log"]) for r in lines(log_path)] == [
        ("stdout", "one\n"), ("stderr", "err\n"), ("stdout", "two\n"), ("stdout", "three\n")]
    # a line is stamped when it is complete
    assert lines(log_path)[2]["time"] == "2026-11-28T16:00:02Z"


def test_flush_and_close_end_the_unfinished_line_with_a_newline_like_dockerd_at_eof(log_path):
    writer = JsonFileWriter(log_path)
    writer.write("stdout", b"no newline", when=T0)
    writer.write("stderr", b"err", when=T0)
    writer.flush("stdout", when=T0 + 1)
    assert [r["log"] for r in lines(log_path)] == ["no newline\n"]
    writer.close(when=T0 + 2)
    assert [(r["stream"], r["log"], r["time"]) for r in lines(log_path)] == [
        ("stdout", "no newline\n", "2026-11-28T16:00:01Z"),
        ("stderr", "err\n", "2026-11-28T16:00:02Z")]
    writer.close()  # twice is harmless
    with pytest.raises(ValueError):
        writer.write("stdout", b"x\n")


def test_a_line_of_16k_or_more_is_logged_in_16k_pieces_sharing_one_time(log_path):
    with JsonFileWriter(log_path) as writer:
        writer.write("stdout", b"a" * (MAX_LINE - 1) + b"\n", when=T0)      # fits: one entry
        writer.write("stdout", b"b" * MAX_LINE + b"\n", when=T0 + 1)        # fills the buffer
        writer.write("stdout", b"c" * (2 * MAX_LINE + 5) + b"\n", when=T0 + 2)
    got = [(r["log"][0], len(r["log"]), r["log"].endswith("\n"), r["time"]) for r in lines(log_path)]
    assert got == [
        ("a", MAX_LINE, True, "2026-11-28T16:00:00Z"),
        ("b", MAX_LINE, False, "2026-11-28T16:00:01Z"),
        ("\n", 1, True, "2026-11-28T16:00:01Z"),
        ("c", MAX_LINE, False, "2026-11-28T16:00:02Z"),
        ("c", MAX_LINE, False, "2026-11-28T16:00:02Z"),
        ("c", 6, True, "2026-11-28T16:00:02Z"),
    ]


def test_a_long_line_arriving_in_pieces_is_written_as_the_buffer_fills(log_path):
    writer = JsonFileWriter(log_path)
    for i in range(5):
        writer.write("stdout", b"x" * 4096, when=T0 + i)
    # 20480 bytes without a newline: one 16 KiB piece is already on disk, stamped when written
    assert [(len(r["log"]), r["time"]) for r in lines(log_path)] == [(MAX_LINE, "2026-11-28T16:00:03Z")]
    writer.write("stdout", b"end\n", when=T0 + 9)
    writer.close()
    # the rest of the line carries the first piece's time, as dockerd's partial messages do
    assert [(len(r["log"]), r["time"]) for r in lines(log_path)] == [
        (MAX_LINE, "2026-11-28T16:00:03Z"), (4096 + 4, "2026-11-28T16:00:03Z")]


def test_a_torn_entry_from_a_killed_writer_is_sealed_and_skipped(log_path):
    with open(log_path, "wb") as f:
        f.write(encode_entry("stdout", b"before\n", 1) + b'{"log":"half an ent')
    with JsonFileWriter(log_path) as writer:
        writer.write("stdout", b"after\n", when=T0)
    assert [e.data for e in read_entries(log_path)] == [b"before\n", b"after\n"]


def test_reopening_appends(log_path):
    with JsonFileWriter(log_path) as writer:
        writer.write("stdout", b"1\n", when=T0)
    with JsonFileWriter(log_path) as writer:
        writer.write("stdout", b"2\n", when=T0)
    assert [e.data for e in read_entries(log_path)] == [b"1\n", b"2\n"]
    assert oct(os.stat(log_path).st_mode & 0o777) == oct(0o640)


# ---- rotation --------------------------------------------------------------------------------

def entry_size(n: int) -> int:
    return len(encode_entry("stdout", f"{n:04d}\n".encode(), int(T0 * 1e9)))


def test_rotation_keeps_max_file_files_and_every_recent_entry_in_order(log_path):
    size = entry_size(0)
    max_size = 3 * size  # three entries per file
    with JsonFileWriter(log_path, max_size=max_size, max_file=3) as writer:
        for n in range(20):
            writer.write("stdout", f"{n:04d}\n".encode(), when=T0)
    assert rotated_files(log_path) == [log_path + ".2", log_path + ".1"]
    assert not os.path.exists(log_path + ".3")
    # Like dockerd, a file is rotated once it has reached max-size, before the next entry.
    for name in rotated_files(log_path):
        assert os.path.getsize(name) == max_size
    # 20 entries, 3 per file: the oldest files were dropped; what is kept is contiguous
    assert [e.data for e in read_entries(log_path)] == [f"{n:04d}\n".encode() for n in range(12, 20)]


def test_max_file_1_starts_the_file_over(log_path):
    size = entry_size(0)
    with JsonFileWriter(log_path, max_size=2 * size, max_file=1) as writer:
        for n in range(5):
            writer.write("stdout", f"{n:04d}\n".encode(), when=T0)
    assert rotated_files(log_path) == []
    assert [e.data for e in read_entries(log_path)] == [b"0004\n"]


def test_a_file_can_exceed_max_size_by_one_entry_as_in_docker(log_path):
    with JsonFileWriter(log_path, max_size=10, max_file=2) as writer:
        writer.write("stdout", b"a long first line\n", when=T0)
        assert not os.path.exists(log_path + ".1")
        writer.write("stdout", b"second\n", when=T0)
    assert [r["log"] for r in lines(log_path + ".1")] == ["a long first line\n"]
    assert [r["log"] for r in lines(log_path)] == ["second\n"]


def test_a_failed_rotation_drops_the_entry_and_the_next_one_reopens(tmp_path):
    directory = tmp_path / "container"
    directory.mkdir()
    path = str(directory / "abc-json.log")
    writer = JsonFileWriter(path, max_size=1, max_file=2)
    writer.write("stdout", b"kept\n", when=T0)
    os.rename(directory, tmp_path / "moved")  # the rotation's renames and reopen now fail
    writer.write("stdout", b"dropped\n", when=T0)
    directory.mkdir()
    writer.write("stdout", b"after\n", when=T0)
    writer.close()
    assert [e.data for e in read_entries(str(tmp_path / "moved" / "abc-json.log"))] == [b"kept\n"]
    assert [e.data for e in read_entries(path)] == [b"after\n"]


def test_log_opts():
    assert parse_log_opts({}) == (None, 1)
    assert parse_log_opts({"max-size": "10k", "max-file": "3"}) == (10_000, 3)
    assert parse_log_opts({"max-size": "20m"}) == (20_000_000, 1)
    assert parse_log_opts({"max-size": "1g"}) == (1_000_000_000, 1)
    assert parse_log_opts({"max-size": "1.5kb"}) == (1500, 1)
    assert parse_log_opts({"max-size": "100"}) == (100, 1)
    assert parse_log_opts({"max-file": "3"}) == (None, 3)  # accepted by dockerd; no effect
    assert parse_log_opts({"max-size": "1m", "labels": "a", "tag": "x", "env": "E"}) == (10**6, 1)


@pytest.mark.parametrize("opts, message", [
    ({"max-size": "10x"}, "invalid size: '10x'"),
    ({"max-size": "-1"}, "invalid size: '-1'"),
    ({"max-size": "0"}, "max-size must be a positive number"),
    ({"max-file": "0"}, "max-file cannot be less than 1"),
    ({"max-file": "three"}, 'strconv.Atoi: parsing "three": invalid syntax'),
    ({"max-buffer": "1"}, "unknown log opt 'max-buffer' for json-file log driver"),
    ({"compress": "true", "max-size": "1m"},
     "compress cannot be true when max-file is less than 2 or max-size is not set"),
])
def test_bad_log_opts_are_refused_with_dockers_words(opts, message):
    with pytest.raises(ValueError) as caught:
        parse_log_opts(opts)
    assert str(caught.value) == message


# ---- reading ---------------------------------------------------------------------------------

@pytest.fixture
def mixed_log(log_path):
    """out0 err1 out2 err3 out4 err5, one second apart from T0, over three files."""
    with JsonFileWriter(log_path, max_size=2 * entry_size(0), max_file=5) as writer:
        for n in range(6):
            stream = "stdout" if n % 2 == 0 else "stderr"
            writer.write(stream, f"{stream[3:]}{n}\n".encode(), when=T0 + n)
    assert len(rotated_files(log_path)) == 2
    return log_path


def data(entries) -> list[bytes]:
    return [e.data for e in entries]


def test_read_all_oldest_first_across_rotated_files(mixed_log):
    assert data(read_entries(mixed_log)) == [b"out0\n", b"err1\n", b"out2\n", b"err3\n",
                                              b"out4\n", b"err5\n"]


def test_read_filters_streams_and_times(mixed_log):
    assert data(read_entries(mixed_log, stderr=False)) == [b"out0\n", b"out2\n", b"out4\n"]
    assert data(read_entries(mixed_log, stdout=False)) == [b"err1\n", b"err3\n", b"err5\n"]
    # since and until are inclusive
    assert data(read_entries(mixed_log, since=T0 + 2, until=T0 + 4)) == [b"out2\n", b"err3\n", b"out4\n"]
    assert read_entries(mixed_log, stdout=False, stderr=False) == []


def test_tail_counts_entries_after_the_filters(mixed_log):
    assert data(read_entries(mixed_log, tail=2)) == [b"out4\n", b"err5\n"]
    assert data(read_entries(mixed_log, stdout=False, tail=2)) == [b"err3\n", b"err5\n"]
    assert data(read_entries(mixed_log, until=T0 + 2, tail=1)) == [b"out2\n"]
    assert read_entries(mixed_log, tail=0) == []
    assert len(read_entries(mixed_log, tail=-1)) == 6
    assert len(read_entries(mixed_log, tail=100)) == 6


def test_reading_a_missing_log_gives_nothing(log_path):
    assert read_entries(log_path) == []


def test_timestamps_are_read_from_the_stored_text(mixed_log):
    entries = read_entries(mixed_log)
    assert entries[1].time == "2026-11-28T16:00:01Z" and entries[1].timestamp == T0 + 1


# ---- following -------------------------------------------------------------------------------

def test_follower_returns_only_what_was_appended(log_path):
    writer = JsonFileWriter(log_path)
    writer.write("stdout", b"old\n", when=T0)
    with LogFollower(log_path) as follower:
        assert follower.poll() == []
        writer.write("stdout", b"new\n", when=T0 + 1)
        writer.write("stderr", b"err\n", when=T0 + 2)
        assert data(follower.poll()) == [b"new\n", b"err\n"]
        assert follower.poll() == []
        assert data(follower.backlog()) == [b"old\n"]
    writer.close()


def test_follower_waits_for_an_entry_to_be_complete(log_path):
    with open(log_path, "wb"):
        pass
    follower = LogFollower(log_path)
    entry = encode_entry("stdout", b"x\n", int(T0 * 1e9))
    with open(log_path, "ab", buffering=0) as f:
        f.write(entry[:10])
        assert follower.poll() == []
        f.write(entry[10:])
    assert data(follower.poll()) == [b"x\n"]
    follower.close()


def test_follower_starts_after_the_last_complete_entry(log_path):
    entry = encode_entry("stdout", b"x\n", int(T0 * 1e9))
    with open(log_path, "ab", buffering=0) as f:
        f.write(entry + entry[:10])  # a writer is half-way through its second entry
        follower = LogFollower(log_path)
        f.write(entry[10:])
    assert data(follower.poll()) == [b"x\n"]
    assert data(follower.backlog()) == [b"x\n"]
    follower.close()


def test_follower_applies_its_filters(log_path):
    with JsonFileWriter(log_path) as writer, \
            LogFollower(log_path, stdout=False, since=T0 + 1, until=T0 + 3) as follower:
        for n in range(5):
            writer.write("stdout", f"out{n}\n".encode(), when=T0 + n)
            writer.write("stderr", f"err{n}\n".encode(), when=T0 + n)
        assert data(follower.poll()) == [b"err1\n", b"err2\n", b"err3\n"]


@pytest.mark.parametrize("max_file", [1, 2, 4])
def test_follower_sees_every_entry_across_rotations(log_path, max_file):
    writer = JsonFileWriter(log_path, max_size=3 * entry_size(0), max_file=max_file)
    follower = LogFollower(log_path)
    seen = []
    for n in range(40):
        writer.write("stdout", f"{n:04d}\n".encode(), when=T0)
        if n % 2:  # at most one rotation between two polls
            seen += data(follower.poll())
    seen += data(follower.poll())
    writer.close()
    follower.close()
    assert seen == [f"{n:04d}\n".encode() for n in range(40)]


def test_follower_of_a_log_that_does_not_exist_yet(log_path):
    follower = LogFollower(log_path)
    assert follower.poll() == [] and follower.backlog() == []
    with JsonFileWriter(log_path) as writer:
        writer.write("stdout", b"first\n", when=T0)
    assert data(follower.poll()) == [b"first\n"]
    follower.close()


def test_backlog_and_poll_meet_without_gap_or_repeat(log_path):
    writer = JsonFileWriter(log_path, max_size=3 * entry_size(0), max_file=10)
    for n in range(7):
        writer.write("stdout", f"{n:04d}\n".encode(), when=T0)
    follower = LogFollower(log_path)
    for n in range(7, 12):  # rotates the follower's file away before backlog() is asked
        writer.write("stdout", f"{n:04d}\n".encode(), when=T0)
    history = data(follower.backlog())
    new = data(follower.poll())
    writer.close()
    follower.close()
    assert history + new == [f"{n:04d}\n".encode() for n in range(12)]
    assert history == [f"{n:04d}\n".encode() for n in range(7)]
    assert data(LogFollower(log_path).backlog(tail=2)) == [b"0010\n", b"0011\n"]


# ---- times -----------------------------------------------------------------------------------

def test_docker_logs_t_prints_nine_fractional_digits():
    def entry(stamp: str) -> LogEntry:
        return LogEntry("stdout", b"", stamp, parse_rfc3339_ns(stamp) / 1e9)

    assert format_timestamp(entry("2026-11-28T19:20:00.1234Z")) == "2026-11-28T19:20:00.123400000Z"
    assert format_timestamp(entry("2026-11-28T19:20:00Z")) == "2026-11-28T19:20:00.000000000Z"
    assert format_timestamp(entry("2026-11-28T19:20:00.123456789Z")) == "2026-11-28T19:20:00.123456789Z"
    assert format_timestamp(entry("2026-11-28T20:20:00.5+01:00")) == "2026-11-28T19:20:00.500000000Z"


def test_durations_follow_go_syntax():
    assert parse_duration("10m") == 600
    assert parse_duration("1h30m") == 5400
    assert parse_duration("1.5h") == 5400
    assert parse_duration("-2s") == -2
    assert parse_duration("250ms") == 0.25
    assert parse_duration("0") == 0
    for bad in ("10", "", "m", "1x", "1h 30m", "."):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_since_until_values_docker_accepts():
    now = 1_700_000_000.75
    assert parse_time("10m", now) == 1_700_000_000 - 600  # whole seconds, as the CLI sends
    assert parse_time("1h30m", now) == 1_700_000_000 - 5400
    assert parse_time("1700000000", now) == 1_700_000_000
    assert parse_time("1700000000.5", now) == 1_700_000_000.5
    assert parse_time("1700000000.000000001", now) == pytest.approx(1_700_000_000.000000001)
    assert parse_time("0", now) == 0  # "0" is a unix time, not a duration
    assert parse_time("2026-11-28T16:00:00Z", now) == T0
    assert parse_time("2026-11-28T16:00:00.25Z", now) == T0 + 0.25
    assert parse_time("2026-11-28T17:00:00+01:00", now) == T0
    assert parse_time("2026-11-28Z", now) == T0 - 16 * 3600
    assert parse_time("2026-11-28T16:30Z", now) == T0 + 1800


def test_timestamps_without_a_zone_are_local_time():
    now = time.time()
    expected = time.mktime((2026, 11, 28, 16, 0, 0, 0, 0, -1))
    # Go uses the zone offset in force at the reference time; same here unless DST differs.
    offset_now = time.localtime(now).tm_gmtoff
    offset_then = time.localtime(expected).tm_gmtoff
    assert parse_time("2026-11-28T16:00:00", now) == expected + offset_then - offset_now
    assert parse_time("2026-11-28T16", now) == expected + offset_then - offset_now
    assert parse_time("2026-11-28", now) == expected - 16 * 3600 + offset_then - offset_now


@pytest.mark.parametrize("value", ["abc", "2026-13-01", "2026-02-30T00:00:00Z", "10x", "1.2.3", "",
                                   "\u0661\u0662", "1700000000.\u0665"])
def test_bad_times_are_refused(value):
    with pytest.raises(ValueError):
        parse_time(value, 0)
