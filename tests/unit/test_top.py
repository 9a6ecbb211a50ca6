"""hako.containers.top: parsing ps output as dockerd does, and the host's real ps on a child."""

from __future__ import annotations

import subprocess

import pytest

from hako.containers.top import parse_ps_output, top, validate_ps_args
from hako.errdefs import InvalidArgument, SystemError as HakoSystemError

PS_EF = """\
UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root         300       1  0 10:01 ?        00:00:00 sleep 100
root         301     300  0 10:01 pts/0    00:00:00 sh -c echo  two  spaces\u00a0nbsp
root         302       1  0 10:01 ?        00:00:00 other
"""

# `ps axm`: thread rows carry "-" as PID and follow their process
PS_AXM = """\
    PID TTY      STAT   TIME COMMAND
    300 ?        -      0:00 sleep 100
      - -        S      0:00 -
    302 ?        -      0:00 threaded
      - -        S      0:00 -
      - -        S      0:00 -
"""


def test_rows_are_kept_by_pid_and_the_command_keeps_its_spaces():
    result = parse_ps_output(PS_EF, [300, 301])
    assert result["Titles"] == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert result["Processes"] == [
        ["root", "300", "1", "0", "10:01", "?", "00:00:00", "sleep 100"],
        # runs of ASCII spaces collapse (Docker splits into fields and joins with one space);
        # a no-break space is not a separator
        ["root", "301", "300", "0", "10:01", "pts/0", "00:00:00", "sh -c echo two spaces\u00a0nbsp"],
    ]


def test_thread_rows_follow_their_process():
    result = parse_ps_output(PS_AXM, [300])
    assert result["Processes"] == [["300", "?", "-", "0:00", "sleep 100"],
                                   ["-", "-", "S", "0:00", "-"]]
    assert len(parse_ps_output(PS_AXM, [302])["Processes"]) == 3
    assert parse_ps_output(PS_AXM, [])["Processes"] == []


def test_no_pid_column_is_dockers_error():
    with pytest.raises(HakoSystemError) as caught:
        parse_ps_output("USER COMMAND\nroot sleep\n", [1])
    assert str(caught.value) == "Couldn't find PID field in ps output"


def test_a_pid_column_that_is_not_a_number():
    with pytest.raises(HakoSystemError) as caught:
        parse_ps_output("PID CMD\nabc sleep\n", [1])
    assert str(caught.value) == "Unexpected pid 'abc': invalid syntax"


def test_renaming_a_column_to_pid_is_refused():
    validate_ps_args("-o pid=PID,comm")  # pid's own name may be set
    validate_ps_args("-ef")
    with pytest.raises(InvalidArgument) as caught:
        validate_ps_args("-o user=PID,comm")
    assert str(caught.value) == 'specifying "user=PID,comm" is not allowed'


# ---- the real ps -----------------------------------------------------------------------------

@pytest.fixture
def sleepers():
    """Two sleeping children, one of them not "in the container"; killed and reaped after."""
    started = [subprocess.Popen(["sleep", "300"]) for _ in range(2)]
    yield [p.pid for p in started]
    for child in started:
        child.kill()
        child.wait(timeout=10)


def test_top_with_the_hosts_ps(sleepers):
    inside, outside = sleepers
    result = top([inside])
    assert result["Titles"] == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert [row[1] for row in result["Processes"]] == [str(inside)]
    assert result["Processes"][0][-1] == "sleep 300"
    assert str(outside) not in {row[1] for row in result["Processes"]}


def test_top_with_other_ps_args(sleepers):
    inside, _ = sleepers
    result = top([inside], "aux")
    assert result["Titles"][:2] == ["USER", "PID"] and result["Titles"][-1] == "COMMAND"
    assert [row[1] for row in result["Processes"]] == [str(inside)]
    # "f" (forest) refuses -q: the whole list is read and filtered instead
    forest = top([inside], "auxf")
    assert [row[1] for row in forest["Processes"]] == [str(inside)]


def test_top_of_nothing_and_ps_errors(sleepers):
    assert top([], "-ef")["Processes"] == []
    assert top([sleepers[0]], "")["Titles"][1] == "PID"  # empty means -ef
    with pytest.raises(HakoSystemError) as caught:
        top([sleepers[0]], "--no-such-option")
    assert str(caught.value).startswith("ps: ")
    with pytest.raises(HakoSystemError):
        top([sleepers[0]], "-o comm")  # a valid ps call without a PID column
