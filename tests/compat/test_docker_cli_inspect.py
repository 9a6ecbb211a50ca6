"""The real docker CLI against hakod: looking at containers — inspect templates, ps, top, stats.

Go templates (`-f`, `--format`) are evaluated by the CLI over the JSON hakod returns, so these
tests pin the JSON's shape (field names, types, nulls) as much as its values.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from tests.conftest import needs_root

pytestmark = needs_root


def ok(hakod, *args, **kwargs) -> str:
    return hakod.docker(*args, check=True, **kwargs).stdout


def fmt(hakod, template: str, *names: str) -> str:
    return ok(hakod, "inspect", "-f", template, *names).strip()


@pytest.fixture
def web(hakod, tmp_path):
    """A running container with a bind mount, labels, env and a working directory."""
    share = tmp_path / "share"
    share.mkdir()
    ok(hakod, "run", "-d", "--name", "web", "-v", f"{share}:/share:ro", "-l", "tier=front", "-l", "team=a b",
       "-e", "MODE=test", "-w", "/tmp", "busybox", "sleep", "300")
    return str(share)


# --- inspect ----------------------------------------------------------------------------------------

def test_inspect_pid_is_the_containers_process_on_the_host(hakod, web):
    pid = int(fmt(hakod, "{{.State.Pid}}", "web"))
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"sleep", b"300"]


def test_inspect_json_of_config(hakod, web):
    config = json.loads(fmt(hakod, "{{json .Config}}", "web"))
    assert config["Cmd"] == ["sleep", "300"]
    assert config["Image"] == "busybox"
    assert "MODE=test" in config["Env"]
    assert config["WorkingDir"] == "/tmp"
    assert config["Labels"] == {"tier": "front", "team": "a b"}
    assert config["Tty"] is False and config["OpenStdin"] is False
    cid = fmt(hakod, "{{.Id}}", "web")
    assert config["Hostname"] == cid[:12]


def test_inspect_range_over_mounts(hakod, web):
    out = fmt(hakod, "{{range .Mounts}}{{.Type}}|{{.Source}}|{{.Destination}}|{{.RW}}|{{.Mode}};{{end}}", "web")
    assert out == f"bind|{web}|/share|false|ro;"


def test_inspect_index_of_labels(hakod, web):
    assert fmt(hakod, '{{index .Config.Labels "tier"}}/{{index .Config.Labels "team"}}', "web") == "front/a b"


def test_inspect_top_level_fields(hakod, web):
    image_id = fmt(hakod, "{{.Id}}", "busybox")
    out = fmt(hakod, "{{.Name}}|{{.Path}}|{{.Args}}|{{.Image}}|{{.State.Status}}|{{.RestartCount}}|{{.Driver}}", "web")
    assert out == f"/web|sleep|[300]|{image_id}|running|0|overlay2"
    cid = fmt(hakod, "{{.Id}}", "web")
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    # A unique prefix of the id finds it too, as with Docker.
    assert fmt(hakod, "{{.Name}}", cid[:10]) == "/web"
    started = fmt(hakod, "{{.State.StartedAt}}", "web")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", started)
    assert fmt(hakod, "{{.State.FinishedAt}}", "web") == "0001-01-01T00:00:00Z"


def test_inspect_whole_document_is_a_json_array(hakod, web):
    docs = json.loads(ok(hakod, "inspect", "web", "busybox"))
    assert [d["Id"][:7] for d in docs][1] == "sha256:"
    assert docs[0]["Name"] == "/web"
    assert docs[0]["HostConfig"]["Binds"] == [f"{web}:/share:ro"]
    # Both kinds answered in one call; a missing one makes the CLI exit 1 but print the rest.
    result = hakod.docker("inspect", "web", "nope")
    assert result.returncode == 1
    assert json.loads(result.stdout)[0]["Name"] == "/web"
    assert "Error: No such object: nope" in result.stderr


def test_inspect_type_and_subcommand_forms(hakod, web):
    assert fmt(hakod, "{{.Name}}", "web") == ok(hakod, "container", "inspect", "-f", "{{.Name}}", "web").strip()
    assert ok(hakod, "image", "inspect", "-f", "{{.RepoTags}}", "busybox").strip() == "[busybox:latest]"
    result = hakod.docker("inspect", "--type", "container", "busybox")
    assert result.returncode == 1
    assert "No such container: busybox" in result.stderr


def test_inspect_size(hakod, web):
    ok(hakod, "exec", "web", "sh", "-c", "head -c 100000 /dev/zero > /tmp/blob")
    size = int(ok(hakod, "inspect", "-s", "-f", "{{.SizeRw}}", "web").strip())
    assert size >= 100000


# --- ps -------------------------------------------------------------------------------------------

@pytest.fixture
def three(hakod):
    """A running, a created and an exited container, made in that order."""
    ok(hakod, "run", "-d", "--name", "p-run", "-l", "tier=web", "busybox", "sleep", "300")
    ok(hakod, "create", "--name", "p-new", "-l", "tier=db", "busybox", "true")
    assert hakod.docker("run", "--name", "p-done", "busybox", "sh", "-c", "exit 2").returncode == 2
    assert fmt(hakod, "{{.State.Status}}", "p-done") == "exited"
    return {name: fmt(hakod, "{{.Id}}", name) for name in ("p-run", "p-new", "p-done")}


def names(out: str) -> list[str]:
    return out.split()


def test_ps_default_shows_running_only_and_a_shows_all(hakod, three):
    assert names(ok(hakod, "ps", "--format", "{{.Names}}")) == ["p-run"]
    assert names(ok(hakod, "ps", "-a", "--format", "{{.Names}}")) == ["p-done", "p-new", "p-run"]  # newest first
    assert ok(hakod, "container", "ls", "-aq") == ok(hakod, "ps", "-aq")


def test_ps_quiet_and_no_trunc(hakod, three):
    assert ok(hakod, "ps", "-q") == three["p-run"][:12] + "\n"
    assert ok(hakod, "ps", "-q", "--no-trunc") == three["p-run"] + "\n"
    table = ok(hakod, "ps", "--no-trunc").splitlines()
    assert table[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert table[1].startswith(three["p-run"])
    assert '"sleep 300"' in table[1]


def test_ps_filters(hakod, three):
    assert names(ok(hakod, "ps", "-a", "-f", "name=p-new", "--format", "{{.Names}}")) == ["p-new"]
    assert names(ok(hakod, "ps", "-a", "-f", "label=tier=db", "--format", "{{.Names}}")) == ["p-new"]
    assert names(ok(hakod, "ps", "-a", "-f", "label=tier", "--format", "{{.Names}}")) == ["p-new", "p-run"]
    assert names(ok(hakod, "ps", "-a", "-f", "status=exited", "--format", "{{.Names}}")) == ["p-done"]
    assert names(ok(hakod, "ps", "-a", "-f", "status=created", "--format", "{{.Names}}")) == ["p-new"]
    assert names(ok(hakod, "ps", "-f", "status=running", "--format", "{{.Names}}")) == ["p-run"]
    assert names(ok(hakod, "ps", "-a", "-f", "exited=2", "--format", "{{.Names}}")) == ["p-done"]
    assert names(ok(hakod, "ps", "-a", "-f", f"id={three['p-new'][:8]}", "--format", "{{.Names}}")) == ["p-new"]
    assert names(ok(hakod, "ps", "-a", "-f", "ancestor=busybox", "-q")) == [three[n][:12] for n in ("p-done", "p-new", "p-run")]


def test_ps_last_and_n(hakod, three):
    assert names(ok(hakod, "ps", "-l", "--format", "{{.Names}}")) == ["p-done"]
    assert names(ok(hakod, "ps", "-n", "2", "--format", "{{.Names}}")) == ["p-done", "p-new"]


def test_ps_format_fields(hakod, three):
    out = ok(hakod, "ps", "-a", "-f", "name=p-done", "--format",
             "{{.ID}}|{{.Image}}|{{.Command}}|{{.Status}}|{{.State}}|{{.Label \"tier\"}}|{{.Labels}}")
    status = out.strip().split("|")
    assert status[0] == three["p-done"][:12]
    assert status[1:3] == ["busybox", '"sh -c \'exit 2\'"']
    assert re.fullmatch(r"Exited \(2\) (Less than a second|\d+ seconds?) ago", status[3]), status[3]
    assert status[4:] == ["exited", "", ""]
    row = json.loads(ok(hakod, "ps", "-f", "name=p-run", "--format", "json"))
    assert row["Names"] == "p-run" and row["State"] == "running" and row["Labels"] == "tier=web"
    assert re.fullmatch(r"Up (Less than a second|\d+ seconds?)", row["Status"])


def test_ps_size(hakod, three):
    ok(hakod, "exec", "p-run", "sh", "-c", "head -c 2000000 /dev/zero > /tmp/blob")
    out = ok(hakod, "ps", "-s", "--format", "{{.Names}} {{.Size}}").strip()
    assert re.fullmatch(r"p-run 2(\.\d+)?MB \(virtual \d+(\.\d+)?MB\)", out), out


# --- top, stats -----------------------------------------------------------------------------------

def test_top(hakod, web):
    pid = fmt(hakod, "{{.State.Pid}}", "web")
    lines = ok(hakod, "top", "web").splitlines()
    assert lines[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert len(lines) == 2 and lines[1].split()[1] == pid and lines[1].endswith("sleep 300")
    lines = ok(hakod, "container", "top", "web", "-o", "pid,comm").splitlines()
    assert [line.split() for line in lines] == [["PID", "COMMAND"], [pid, "sleep"]]


def test_top_of_a_stopped_container_is_refused(hakod):
    ok(hakod, "create", "--name", "idle", "busybox", "true")
    result = hakod.docker("top", "idle")
    assert result.returncode == 1
    assert re.search(r"Error response from daemon: Container [0-9a-f]{64} is not running", result.stderr)


def test_stats_no_stream(hakod, web):
    ok(hakod, "exec", "-d", "web", "sleep", "30")
    out = ok(hakod, "stats", "--no-stream", "--format", "{{.Name}}|{{.PIDs}}|{{.MemUsage}}|{{.CPUPerc}}", "web")
    name, pids, mem, cpu = out.strip().split("|")
    assert (name, pids) == ("web", "2")
    assert re.fullmatch(r"\d+(\.\d+)?[KMG]iB / \d+(\.\d+)?[KMG]iB", mem), mem
    assert re.fullmatch(r"\d+\.\d\d%", cpu), cpu
    table = ok(hakod, "stats", "--no-stream").splitlines()
    assert table[0].split()[:4] == ["CONTAINER", "ID", "NAME", "CPU"]
    assert len(table) == 2 and table[1].split()[1] == "web"


def test_stats_shows_the_memory_limit(hakod):
    ok(hakod, "run", "-d", "--name", "limited", "-m", "64m", "busybox", "sleep", "300")
    out = ok(hakod, "stats", "--no-stream", "--format", "{{.MemUsage}}", "limited").strip()
    assert out.endswith(" / 64MiB"), out
    assert os.path.exists(f"/proc/{fmt(hakod, '{{.State.Pid}}', 'limited')}")
