"""The instructions that only change an image's config (ENV, LABEL, CMD, ENTRYPOINT, SHELL, USER,
STOPSIGNAL, EXPOSE, VOLUME, ONBUILD, HEALTHCHECK, MAINTAINER): what each changes, and the text
Docker's classic builder puts after `#(nop)` in the step's history line.

    step = metadata_step(ins, StepContext(env={"A": "1"}, shell=["/bin/sh", "-c"], cmd_set=False))
    step.comment          # 'ENV A=1 B=2'
    step.change(config)   # applies it to a whole image config (its "config" section, or the top)

Pure functions of the instruction and what the stage knows; the builder commits the result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from .dockerfile import Instruction
from .errors import BuildError
from .shellwords import process_word, process_words, split_words


@dataclass
class StepContext:
    env: dict[str, str]          # what $VAR means: build args overridden by the image's Env
    shell: list[str]             # the stage's SHELL, for shell-form CMD and ENTRYPOINT
    cmd_set: bool                # a CMD earlier in this stage (an ENTRYPOINT then keeps it)
    escape: str = "\\"


@dataclass
class MetadataStep:
    comment: str
    change: Callable[[dict], None]


METADATA_INSTRUCTIONS = ("ENV", "LABEL", "MAINTAINER", "CMD", "ENTRYPOINT", "SHELL", "USER", "STOPSIGNAL",
                         "EXPOSE", "VOLUME", "ONBUILD", "HEALTHCHECK")


def metadata_step(ins: Instruction, ctx: StepContext) -> MetadataStep:
    return _HANDLERS[ins.cmd](ins, ctx)


def _run_setter(key: str, value) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        config.setdefault("config", {})[key] = value
    return change


def pairs(ins: Instruction, ctx: StepContext) -> list[tuple[str, str]]:
    """ENV and LABEL: `k=v k2="v 2"`, or the old `k v with spaces` form."""
    words = split_words(ins.args, ctx.escape)
    if words and "=" not in words[0]:
        if len(words) < 2:
            raise BuildError(f"{ins.cmd} must have two arguments")
        key = process_word(words[0], ctx.env, ctx.escape)
        rest = ins.args[len(words[0]):].strip()
        return [(key, process_word(rest, ctx.env, ctx.escape))]
    out = []
    for word in words:
        if "=" not in word:
            raise BuildError(f"Syntax error - can't find = in {word!r}. Must be of the form: name=value")
        key, _, value = word.partition("=")
        out.append((process_word(key, ctx.env, ctx.escape), process_word(value, ctx.env, ctx.escape)))
    return out


def words(ins: Instruction, ctx: StepContext) -> list[str]:
    if ins.json_args is not None:
        return [process_word(w, ctx.env, ctx.escape) for w in ins.json_args]
    return process_words(ins.args, ctx.env, ctx.escape)


def go_list(items: list[str]) -> str:
    """Go's %q of a []string: ["sh" "-c" "echo hi"]."""
    return "[" + " ".join(json.dumps(i, ensure_ascii=False) for i in items) + "]"


def _env(ins, ctx):
    found = pairs(ins, ctx)

    def change(config: dict) -> None:
        run = config.setdefault("config", {})
        env = list(run.get("Env") or [])
        for key, value in found:
            env = [e for e in env if e.partition("=")[0] != key] + [f"{key}={value}"]
        run["Env"] = env
    return MetadataStep("ENV " + " ".join(f"{k}={v}" for k, v in found), change)


def _label(ins, ctx):
    found = pairs(ins, ctx)

    def change(config: dict) -> None:
        run = config.setdefault("config", {})
        run["Labels"] = {**(run.get("Labels") or {}), **dict(found)}
    return MetadataStep("LABEL " + " ".join(f"{k}={v}" for k, v in found), change)


def _maintainer(ins, ctx):
    name = process_word(ins.args, ctx.env, ctx.escape)

    def change(config: dict) -> None:
        config["author"] = name
    return MetadataStep(f"MAINTAINER {name}", change)


def command(ins: Instruction, ctx: StepContext) -> list[str]:
    return list(ins.json_args) if ins.json_args is not None else ctx.shell + [ins.args]


def _cmd(ins, ctx):
    cmd = command(ins, ctx)
    return MetadataStep(f"CMD {go_list(cmd)}", _run_setter("Cmd", cmd))


def _entrypoint(ins, ctx):
    entrypoint = command(ins, ctx)
    keep_cmd = ctx.cmd_set

    def change(config: dict) -> None:
        run = config.setdefault("config", {})
        run["Entrypoint"] = entrypoint
        if not keep_cmd:
            run["Cmd"] = None      # as Docker: an inherited CMD does not survive a new ENTRYPOINT
    return MetadataStep(f"ENTRYPOINT {go_list(entrypoint)}", change)


def _shell(ins, ctx):
    shell = list(ins.json_args or [])
    return MetadataStep(f"SHELL {go_list(shell)}", _run_setter("Shell", shell))


def _user(ins, ctx):
    user = process_word(ins.args, ctx.env, ctx.escape)
    return MetadataStep(f"USER {user}", _run_setter("User", user))


def _stopsignal(ins, ctx):
    sig = process_word(ins.args, ctx.env, ctx.escape)
    return MetadataStep(f"STOPSIGNAL {sig}", _run_setter("StopSignal", sig))


def _expose(ins, ctx):
    ports = set()
    for word in words(ins, ctx):
        number, _, proto = word.partition("/")
        proto = (proto or "tcp").lower()
        low, _, high = number.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise BuildError(f"Invalid containerPort: {number}")
        ports.update(f"{port}/{proto}" for port in range(int(low), int(high or low) + 1))
    listed = sorted(ports)

    def change(config: dict) -> None:
        run = config.setdefault("config", {})
        run["ExposedPorts"] = {**(run.get("ExposedPorts") or {}), **{p: {} for p in listed}}
    return MetadataStep("EXPOSE " + " ".join(listed), change)


def _volume(ins, ctx):
    volumes = words(ins, ctx)
    if any(not v.strip() for v in volumes):
        raise BuildError("VOLUME specified can not be an empty string")

    def change(config: dict) -> None:
        run = config.setdefault("config", {})
        run["Volumes"] = {**(run.get("Volumes") or {}), **{v: {} for v in volumes}}
    return MetadataStep(f"VOLUME [{' '.join(volumes)}]", change)


def _onbuild(ins, ctx):
    trigger = ins.args.strip()

    def change(config: dict) -> None:
        run = config.setdefault("config", {})
        run["OnBuild"] = list(run.get("OnBuild") or []) + [trigger]
    return MetadataStep(f"ONBUILD {trigger}", change)


def _healthcheck(ins, ctx):
    parts = ins.args.split(None, 1)
    kind = parts[0].upper()
    if kind == "NONE":
        if len(parts) > 1:
            raise BuildError("HEALTHCHECK NONE takes no arguments")
        check = {"Test": ["NONE"]}
    elif kind == "CMD":
        rest = parts[1] if len(parts) > 1 else ""
        if not rest:
            raise BuildError("Missing command after HEALTHCHECK CMD")
        try:
            parsed = json.loads(rest) if rest.startswith("[") else None
        except ValueError:
            parsed = None
        check = {"Test": ["CMD"] + parsed if isinstance(parsed, list) else ["CMD-SHELL", rest]}
        for flag, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start-period", "StartPeriod"),
                          ("start-interval", "StartInterval")):
            if flag in ins.flags:
                check[key] = _duration_ns(str(ins.flags[flag]), flag)
        if "retries" in ins.flags:
            try:
                check["Retries"] = int(str(ins.flags["retries"]))
            except ValueError:
                raise BuildError(f"invalid retries value: {ins.flags['retries']}") from None
    else:
        raise BuildError(f"Unknown type \"{kind}\" in HEALTHCHECK (try CMD)")
    return MetadataStep(f"HEALTHCHECK &{{{go_list(check['Test'])} ...}}", _run_setter("Healthcheck", check))


def _duration_ns(text: str, flag: str) -> int:
    from ..containers.logs import parse_duration

    try:
        value = parse_duration(text)
    except ValueError:
        raise BuildError(f"invalid {flag} duration: {text}") from None
    return int(value * 1e9)


_HANDLERS = {"ENV": _env, "LABEL": _label, "MAINTAINER": _maintainer, "CMD": _cmd, "ENTRYPOINT": _entrypoint,
             "SHELL": _shell, "USER": _user, "STOPSIGNAL": _stopsignal, "EXPOSE": _expose, "VOLUME": _volume,
             "ONBUILD": _onbuild, "HEALTHCHECK": _healthcheck}
