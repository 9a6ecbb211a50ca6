"""Output formatting as docker writes it: tabwriter columns, sizes, durations, quoting, ports,
image rows, re-indented JSON, progress lines, timestamps."""

from __future__ import annotations

import json
import time

import pytest

from hako.cli.commands.images import image_rows
from hako.cli.commands.ps import ContainerRow, displayable_ports
from hako.cli.commands.run import status_for_start_error
from hako.cli.commands.stats import StatsRow
from hako.cli.formatter import default_table, render_rows
from hako.cli.gofmt import go_json, go_quote, truncate_id
from hako.cli.jsonindent import indent
from hako.cli.progress import display_stream
from hako.cli.reference import familiar, familiar_string, normalize
from hako.cli.tabwriter import ellipsis, tabulate
from hako.cli.timestamps import get_timestamp
from hako.cli.units import (bytes_size, format_go_duration, human_duration, human_size,
                            parse_go_duration, ram_in_bytes)

# -- tabwriter -------------------------------------------------------------------------------


def test_tabwriter_docker_settings():
    text = "REPOSITORY\tTAG\tIMAGE ID\tSIZE\nbusybox\tlatest\t592cd1b8265d\t1.99MB\n"
    assert tabulate(text) == ("REPOSITORY   TAG       IMAGE ID       SIZE\n"
                              "busybox      latest    592cd1b8265d   1.99MB\n")


def test_tabwriter_blocks_follow_cell_counts():
    # the second line has no cell in column 1, which ends that column's block
    text = "a\tbbbbbbbbbbbbbbb\tc\nonly\nxx\ty\tz\n"
    assert tabulate(text, minwidth=0, padding=1) == "a bbbbbbbbbbbbbbb c\nonly\nxx y z\n"


def test_top_uses_minwidth_20():
    assert tabulate("UID\tPID\tCMD\nroot\t1\tsleep\n", minwidth=20) == (
        "UID" + " " * 17 + "PID" + " " * 17 + "CMD\nroot" + " " * 16 + "1" + " " * 19 + "sleep\n")


def test_ellipsis():
    assert ellipsis("sleep 300", 20) == "sleep 300"
    assert ellipsis("sh -c 'echo a long command'", 20) == "sh -c 'echo a long …"
    assert len(ellipsis("x" * 50, 15)) == 15
    assert ellipsis("日本語のテキスト", 7) == "日本語…"


# -- units -----------------------------------------------------------------------------------

@pytest.mark.parametrize("size,text", [(0, "0B"), (999, "999B"), (1000, "1kB"), (1986000, "1.99MB"),
                                       (4264000, "4.26MB"), (123456789012, "123GB")])
def test_human_size(size, text):
    assert human_size(size) == text


def test_human_size_precision_4_and_binary():
    assert human_size(1986048, 4) == "1.986MB"
    assert bytes_size(1248000) == "1.19MiB"
    assert bytes_size(25276502016) == "23.54GiB"
    assert bytes_size(876544) == "856KiB"


@pytest.mark.parametrize("seconds,text", [
    (0.4, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (60, "About a minute"),
    (119, "About a minute"), (120, "2 minutes"), (3599, "59 minutes"), (3600, "About an hour"),
    (5399, "About an hour"), (5400, "2 hours"), (47 * 3600, "47 hours"), (48 * 3600, "2 days"),
    (14 * 86400, "2 weeks"), (60 * 86400, "2 months"), (800 * 86400, "2 years"),
])
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


@pytest.mark.parametrize("text,value", [("512m", 512 << 20), ("1g", 1 << 30), ("1.5GB", 3 << 29),
                                        ("100 kib", 100 << 10), ("42", 42), ("7b", 7)])
def test_ram_in_bytes(text, value):
    assert ram_in_bytes(text) == value


@pytest.mark.parametrize("text", ["abc", "-1", "1x", "m", "1.", ""])
def test_ram_in_bytes_rejects(text):
    with pytest.raises(ValueError, match="invalid size"):
        ram_in_bytes(text)


def test_go_durations():
    assert parse_go_duration("1m30s") == 90_000_000_000
    assert parse_go_duration("500ms") == 500_000_000
    assert parse_go_duration("1.5h") == 5_400_000_000_000
    assert parse_go_duration("0") == 0
    for bad in ("x", "5", "1d"):
        with pytest.raises(ValueError, match="time: "):
            parse_go_duration(bad)
    assert [format_go_duration(n) for n in (0, 90_000_000_000, 500_000_000, 3_723_500_000_000)] == \
        ["0s", "1m30s", "500ms", "1h2m3.5s"]


# -- Go formatting ---------------------------------------------------------------------------

def test_go_quote_and_json():
    assert go_quote("sh -c 'echo \"hi\"'\n\t\x01é") == '"sh -c \'echo \\"hi\\"\'\\n\\t\\x01é"'
    assert go_json({"Digest": "<none>", "a&b": [1, None]}) == '{"Digest":"\\u003cnone\\u003e","a\\u0026b":[1,null]}'
    assert truncate_id("sha256:592cd1b8265d4fcba97786e9") == "592cd1b8265d"


def test_jsonindent_keeps_the_daemons_text():
    raw = '[{"A":1e+06,"B":"\\u003c","C":[],"D":{},"E":[1,{"F":null}]}]'
    assert indent(raw) == ('[\n    {\n        "A": 1e+06,\n        "B": "\\u003c",\n        "C": [],\n'
                           '        "D": {},\n        "E": [\n            1,\n            {\n'
                           '                "F": null\n            }\n        ]\n    }\n]')
    sample = {"x": [1, 2, {"y": "a, b: {c}"}], "z": {}}
    assert indent(json.dumps(sample)) == json.dumps(sample, indent=4)


# -- container and image rows ----------------------------------------------------------------

@pytest.mark.parametrize("ports,text", [
    ([], ""),
    ([{"PrivatePort": 80, "Type": "tcp"}], "80/tcp"),
    ([{"IP": "0.0.0.0", "PrivatePort": p, "PublicPort": p, "Type": "tcp"} for p in (8000, 8001, 8002)],
     "0.0.0.0:8000-8002->8000-8002/tcp"),
    ([{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 18080, "Type": "tcp"},
      {"IP": "::", "PrivatePort": 80, "PublicPort": 18080, "Type": "tcp"},
      {"PrivatePort": 53, "Type": "udp"}],
     "53/udp, 0.0.0.0:18080->80/tcp, [::]:18080->80/tcp"),
    ([{"PrivatePort": 1, "Type": "tcp"}, {"PrivatePort": 3, "Type": "tcp"}], "1/tcp, 3/tcp"),
])
def test_displayable_ports(ports, text):
    assert displayable_ports(ports) == text


def test_container_row_fields():
    summary = {"Id": "4ea5cb9c4ceb3836c4", "Names": ["/web", "/other/alias"], "Image": "busybox@sha256:abc",
               "ImageID": "sha256:1234", "Command": "sleep 300", "Created": time.time() - 3,
               "State": "running", "Status": "Up 3 seconds", "SizeRw": 2, "SizeRootFs": 1986000,
               "Labels": {"b": "2", "a": "1"},
               "Mounts": [{"Name": "vol1", "Driver": "local"}, {"Source": "/very/long/host/path/x"}],
               "NetworkSettings": {"Networks": {"net2": {}, "bridge": {}}}}
    row = ContainerRow(summary)
    assert (row.ID, row.Names, row.Image, row.Command) == ("4ea5cb9c4ceb", "web", "busybox", '"sleep 300"')
    assert row.RunningFor == "3 seconds ago"
    assert row.Size == "2B (virtual 1.99MB)"
    assert (row.Labels, row.Label("b"), row.Label("zz")) == ("a=1,b=2", "2", "")
    assert (row.Mounts, row.LocalVolumes, row.Networks) == ("vol1,/very/long/hos…", "1", "bridge,net2")
    full = ContainerRow(summary, trunc=False)
    assert (full.Names, full.Image) == ("web,other/alias", "busybox@sha256:abc")
    assert list(row.as_dict()) == sorted(row.as_dict())


def test_default_table_and_json_rows():
    rows = [ContainerRow({"Id": "a" * 64, "Names": ["/x"], "Image": "busybox", "Command": "true",
                          "Created": 0, "State": "exited", "Status": "Exited (0)"})]
    table = default_table(rows, [("ID", "CONTAINER ID"), ("Names", "NAMES")])
    assert table == "CONTAINER ID   NAMES\naaaaaaaaaaaa   x\n"
    assert json.loads(render_rows("json", rows, [], {}))["Names"] == "x"


def test_image_rows_follow_docker_expansion():
    base = {"Id": "sha256:" + "c" * 64, "Created": 0, "Size": 5}
    dangling = dict(base, RepoTags=["<none>:<none>"], RepoDigests=["<none>@<none>"])
    tagged = dict(base, RepoTags=["busybox:latest", "localhost:5000/bb:v1"],
                  RepoDigests=["busybox@sha256:d1", "other@sha256:d2"])
    rows = image_rows([dangling, tagged], True, False)
    assert [(r.Repository, r.Tag, r.Digest) for r in rows] == [
        ("<none>", "<none>", "<none>"), ("busybox", "latest", "<none>"),
        ("localhost:5000/bb", "v1", "<none>"), ("other", "<none>", "")]
    rows = image_rows([tagged], True, True)
    assert [(r.Repository, r.Tag, r.Digest) for r in rows] == [
        ("busybox", "latest", "sha256:d1"), ("localhost:5000/bb", "v1", "<none>"),
        ("other", "<none>", "sha256:d2")]
    assert rows[0].CreatedSince == "N/A" and rows[0].Containers == "N/A"


def test_stats_row_computes_like_docker():
    sample = {"id": "f" * 64, "name": "/web",
              "cpu_stats": {"cpu_usage": {"total_usage": 300}, "system_cpu_usage": 2000, "online_cpus": 2},
              "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
              "memory_stats": {"usage": 2_000_000, "limit": 8_000_000,
                               "stats": {"total_inactive_file": 400_000}},
              "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 20}},
              "blkio_stats": {"io_service_bytes_recursive": [{"op": "Read", "value": 4096},
                                                             {"op": "Write", "value": 1}]},
              "pids_stats": {"current": 3}}
    row = StatsRow("web", sample)
    assert (row.ID, row.Name, row.CPUPerc, row.MemPerc, row.PIDs) == ("ffffffffffff", "web", "40.00%", "20.00%", "3")
    assert (row.MemUsage, row.NetIO, row.BlockIO) == ("1.526MiB / 7.629MiB", "1.5kB / 20B", "4.1kB / 1B")
    assert StatsRow("x", None).CPUPerc == "--"


# -- exit codes ------------------------------------------------------------------------------

@pytest.mark.parametrize("message,status", [
    ('OCI runtime create failed: exec: "nope": executable file not found in $PATH', 127),
    ("stat /x: no such file or directory", 127),
    ('exec: "/etc": permission denied', 126),
    ("exec format error: is a directory", 126),
    ("No such image: x", 125),
])
def test_start_error_statuses(message, status):
    assert status_for_start_error(message) == status


# -- references ------------------------------------------------------------------------------

def test_references():
    assert normalize("busybox") == ("docker.io/library/busybox", "latest", "")
    assert normalize("127.0.0.1:5000/trace/bb:v1") == ("127.0.0.1:5000/trace/bb", "v1", "")
    assert normalize("user/app@sha256:ab") == ("docker.io/user/app", "", "sha256:ab")
    assert normalize("localhost/x") == ("localhost/x", "latest", "")
    assert familiar("docker.io/library/busybox") == "busybox"
    assert familiar("docker.io/user/app") == "user/app"
    assert familiar_string("busybox") == "busybox:latest"


# -- progress --------------------------------------------------------------------------------

class Sink:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text


def test_progress_off_a_terminal_skips_bars():
    lines = [b'{"status":"Pulling from library/busybox","id":"latest"}',
             b'{"status":"Pulling fs layer","progressDetail":{},"id":"abc"}',
             b'{"status":"Downloading","progressDetail":{"current":10,"total":100},"id":"abc"}',
             b'{"status":"Download complete","progressDetail":{},"id":"abc"}',
             b'{"aux":{"ID":"sha256:x"}}',
             b'{"status":"Status: Downloaded newer image for busybox:latest"}']
    sink, aux = Sink(), []
    display_stream(lines, sink, False, on_aux=aux.append)
    assert sink.text == ("latest: Pulling from library/busybox\nabc: Pulling fs layer\n"
                         "abc: Download complete\nStatus: Downloaded newer image for busybox:latest\n")
    assert aux == [{"ID": "sha256:x"}]


def test_progress_on_a_terminal_updates_lines_in_place():
    lines = [b'{"status":"Downloading","progressDetail":{"current":10,"total":100},"id":"abc"}',
             b'{"status":"Download complete","progressDetail":{},"id":"abc"}']
    sink = Sink()
    display_stream(lines, sink, True, width=80)
    assert sink.text == ("\n\x1b[1A\x1b[2K\rabc: Downloading      10B/100B\r\x1b[1B"
                         "\x1b[1A\x1b[2K\rabc: Download complete \r\x1b[1B")


def test_progress_error_raises():
    from hako.cli.progress import StreamFailed
    with pytest.raises(StreamFailed, match="manifest unknown"):
        display_stream([b'{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}'],
                       Sink(), False)


# -- timestamps ------------------------------------------------------------------------------

def test_since_until_values():
    now = 1_700_000_000.0
    assert get_timestamp("10m", now) == "1699999400"
    assert get_timestamp("1700000000", now) == "1700000000"
    assert get_timestamp("1700000000.5", now) == "1700000000.5"
    assert get_timestamp("2023-11-14T22:13:20Z", now) == "1700000000.000000000"
    assert get_timestamp("2023-11-14T23:13:20+01:00", now) == "1700000000.000000000"
    with pytest.raises(ValueError):
        get_timestamp("yesterday", now)
