"""`hako top`: the processes of a container, as the daemon's ps reports them."""

from __future__ import annotations

from ..command import Command, at_least
from ..tabwriter import tabulate


def top(cli, opts, args) -> int:
    query = {"ps_args": " ".join(args[1:])} if len(args) > 1 else None
    result = cli.client.get_json(f"/containers/{args[0]}/top", query)
    lines = ["\t".join(result.get("Titles") or [])]
    lines += ["\t".join(process) for process in result.get("Processes") or []]
    # docker's top uses a wider minimum column than its other tables: tabwriter(20, 1, 3)
    cli.out.write(tabulate("\n".join(lines) + "\n", minwidth=20))
    return 0


TOP = Command("CONTAINER [ps OPTIONS]", "Display the running processes of a container",
              args=at_least(1), action=top, interspersed=False, aliases=("container top", "top"))
