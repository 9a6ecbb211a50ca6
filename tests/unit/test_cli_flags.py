"""The pflag-compatible flag parser: grammar, value kinds, and pflag's error messages."""

from __future__ import annotations

import pytest

from hako.cli.flags import BOOL, INT, LIST, STRING, Flag, FlagError, HelpRequested, parse, parse_int

FLAGS = (
    Flag("all", "a"),
    Flag("interactive", "i"),
    Flag("tty", "t"),
    Flag("env", "e", LIST),
    Flag("name", None, STRING),
    Flag("last", "n", INT, default=-1),
    Flag("publish", "p", LIST),
    Flag("hostname", "h", STRING),
    Flag("timeout", None, INT, default=None),
)


def values(argv, interspersed=True):
    return parse(FLAGS, argv, interspersed)


def test_defaults():
    opts, args = values([])
    assert opts == {"all": False, "interactive": False, "tty": False, "env": [], "name": "",
                    "last": -1, "publish": [], "hostname": "", "timeout": None}
    assert args == []


@pytest.mark.parametrize("argv,expected", [
    (["-it"], {"interactive": True, "tty": True}),
    (["-a=false"], {"all": False}),
    (["--all=false", "-a"], {"all": True}),
    (["-e", "A=1", "-e=B=2", "-eC=3", "--env", "D", "--env=E=5"], {"env": ["A=1", "B=2", "C=3", "D", "E=5"]}),
    (["-p8080:80"], {"publish": ["8080:80"]}),
    (["--name", "-x"], {"name": "-x"}),
    (["-n", "-1"], {"last": -1}),
    (["-n0x10"], {"last": 16}),
    (["-itp", "80"], {"interactive": True, "tty": True, "publish": ["80"]}),
    (["-h", "box"], {"hostname": "box"}),
    (["--timeout", "0"], {"timeout": 0}),
])
def test_grammar(argv, expected):
    opts, _ = values(argv)
    assert {k: opts[k] for k in expected} == expected


def test_interspersed_and_not():
    opts, args = values(["img", "-a", "cmd"])
    assert (opts["all"], args) == (True, ["img", "cmd"])
    opts, args = values(["-a", "busybox", "ls", "-l", "--name", "x"], interspersed=False)
    assert (opts["all"], opts["name"], args) == (True, "", ["busybox", "ls", "-l", "--name", "x"])
    opts, args = values(["--", "-a"])
    assert (opts["all"], args) == (False, ["-a"])
    assert values(["-"])[1] == ["-"]


@pytest.mark.parametrize("argv,message", [
    (["--bogus"], "unknown flag: --bogus"),
    (["-x"], "unknown shorthand flag: 'x' in -x"),
    (["-ax"], "unknown shorthand flag: 'x' in -ax"),
    (["--name"], "flag needs an argument: --name"),
    (["-an"], "flag needs an argument: 'n' in -an"),
    (["--all=maybe"], 'invalid argument "maybe" for "-a, --all" flag: strconv.ParseBool: parsing "maybe": invalid syntax'),
    (["-n", "x"], 'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax'),
    (["--timeout", "1.5"], 'invalid argument "1.5" for "--timeout" flag: strconv.ParseInt: parsing "1.5": invalid syntax'),
])
def test_errors_have_pflag_wording(argv, message):
    with pytest.raises(FlagError) as info:
        values(argv)
    assert str(info.value) == message


def test_help():
    with pytest.raises(HelpRequested):
        parse((Flag("all", "a"),), ["-h"])
    with pytest.raises(HelpRequested):
        values(["--help"])
    # -h belongs to --hostname here, as in `run`
    assert values(["-h", "x"])[0]["hostname"] == "x"
    # every flag is checked before help is honoured
    with pytest.raises(FlagError):
        values(["--help", "--bogus"])


@pytest.mark.parametrize("text,value", [("10", 10), ("-3", -3), ("+4", 4), ("0x1f", 31), ("0o17", 15),
                                         ("017", 15), ("0b11", 3), ("0", 0)])
def test_parse_int_like_go(text, value):
    assert parse_int(text) == value


def test_bool_kind_values():
    flag = Flag("rm", None, BOOL)
    for text, value in (("1", True), ("t", True), ("TRUE", True), ("F", False), ("0", False)):
        assert parse((flag,), [f"--rm={text}"])[0]["rm"] is value
