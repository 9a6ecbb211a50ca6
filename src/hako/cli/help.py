"""Help texts in docker's layout: usage line, description, aliases, options."""

from __future__ import annotations

from .context import PROG
from .registry import COMMON, GROUPS, OTHERS

_ROOT_DESCRIPTION = "A self-sufficient runtime for containers"


def root_help() -> str:
    from .main import GLOBAL_FLAGS, GLOBAL_USAGE

    lines = [f"Usage:  {PROG} {GLOBAL_USAGE}", "", _ROOT_DESCRIPTION, "", "Common Commands:"]
    lines += _listing({name: entry[2] for name, entry in COMMON.items()})
    lines += ["", "Management Commands:"]
    lines += _listing({name: group[0] for name, group in GROUPS.items()})
    lines += ["", "Commands:"]
    lines += _listing({name: entry[2] for name, entry in sorted(OTHERS.items())})
    lines += ["", "Global Options:"]
    lines += _flag_lines(GLOBAL_FLAGS)
    lines += ["", f"Run '{PROG} COMMAND --help' for more information on a command.", ""]
    return "\n".join(lines)


def group_help(group: str) -> str:
    description, subs = GROUPS[group]
    lines = [f"Usage:  {PROG} {group} COMMAND", "", description, "", "Commands:"]
    lines += _listing({name: entry[2] for name, entry in sorted(subs.items())})
    lines += ["", f"Run '{PROG} {group} COMMAND --help' for more information on a command.", ""]
    return "\n".join(lines)


def command_help(full_name: str, command) -> str:
    lines = [f"Usage:  {full_name} {command.usage}".rstrip(), "", command.long or command.short]
    if command.aliases:
        lines += ["", "Aliases:", "  " + ", ".join(f"{PROG} {a}" for a in command.aliases)]
    flags = [f for f in command.flags if not f.hidden]
    if flags:
        lines += ["", "Options:"]
        lines += _flag_lines(flags)
    lines.append("")
    return "\n".join(lines)


def _listing(items: dict) -> list[str]:
    # cobra pads command names to 11 columns plus a space, wider only for longer names
    width = max(11, max(len(name) for name in items)) + 1
    return [f"  {name.ljust(width)}{text}" for name, text in items.items()]


def _flag_lines(flags) -> list[str]:
    heads = []
    for flag in sorted(flags, key=lambda f: f.name):
        short = f"-{flag.short}, " if flag.short else "    "
        type_name = "" if flag.is_bool else f" {flag.kind.type_name}"
        heads.append((f"  {short}--{flag.name}{type_name}", flag.help))
    width = max(len(head) for head, _ in heads) + 3
    return [f"{head.ljust(width)}{text}".rstrip() for head, text in heads]
