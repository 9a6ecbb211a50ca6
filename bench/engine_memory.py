"""Memory of a set of processes, as the kernel accounts it (/proc/<pid>/smaps_rollup).

RSS counts every resident page a process maps, so pages shared between forked monitors (or between
shims running one Go binary) are counted once per process. PSS divides each shared page among the
processes that map it, so a sum of PSS is what the set really costs: that is the figure compared.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass
class Usage:
    """Summed RSS and PSS (KiB) over some processes, plus each process's PSS for per-helper figures."""

    rss_kib: int = 0
    pss_kib: int = 0
    pss_each: list[int] = field(default_factory=list)

    def add(self, other: "Usage") -> "Usage":
        return Usage(self.rss_kib + other.rss_kib, self.pss_kib + other.pss_kib, self.pss_each + other.pss_each)

    def median_pss_kib(self) -> float:
        return statistics.median(self.pss_each) if self.pss_each else 0.0


def rollup(pid: int) -> tuple[int, int]:
    """(Rss, Pss) in KiB of one process; (0, 0) if it is gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def usage(pids: list[int]) -> Usage:
    total = Usage()
    for pid in pids:
        rss, pss = rollup(pid)
        if rss or pss:
            total = total.add(Usage(rss, pss, [pss]))
    return total
