"""Build the OCI process for `exec` from --process or from runc's exec flags."""

from __future__ import annotations

import copy

from .errors import ConfigError
from .spec import read_json_argument


def process_from_flags(config: dict, args) -> dict:
    if args.process:
        return read_json_argument(args.process, "--process")
    if not args.command:
        raise ConfigError("exec: a command is required (or --process)")
    # As runc: start from the container's own process and override what the flags set.
    process = copy.deepcopy(config["process"])
    process["args"] = args.command[1:] if args.command[0] == "--" else args.command
    process["terminal"] = args.tty
    process.pop("consoleSize", None)
    if args.cwd:
        process["cwd"] = args.cwd
    env = process.setdefault("env", [])
    env.extend(args.env)
    if args.user:
        uid, _, gid = args.user.partition(":")
        try:
            process["user"] = {"uid": int(uid), "gid": int(gid or 0)}
        except ValueError:
            raise ConfigError(f"--user {args.user}: must be uid[:gid]") from None
    if args.additional_gids:
        process.setdefault("user", {})["additionalGids"] = [int(g) for g in args.additional_gids]
    if args.cap:
        caps = process.setdefault("capabilities", {})
        for kind in ("bounding", "effective", "permitted", "ambient"):
            caps[kind] = sorted(set(caps.get(kind, [])) | set(args.cap))
    if args.no_new_privs:
        process["noNewPrivileges"] = True
    return process
