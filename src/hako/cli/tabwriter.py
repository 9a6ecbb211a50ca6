"""Aligning tab-separated cells into columns, as Go's text/tabwriter does for docker's tables.

Docker writes its tables through ``tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)``: a column is as
wide as its widest cell plus 3 spaces, but at least 10; the text after a line's last tab is not a
column and is written as is. Columns are computed per *block*: consecutive lines that have a
cell in that column. So::

    tabulate("REPOSITORY\\tTAG\\tSIZE\\nbusybox\\tlatest\\t1.99MB\\n")
    == "REPOSITORY   TAG       SIZE\\nbusybox      latest    1.99MB\\n"
"""

from __future__ import annotations

import unicodedata


def tabulate(text: str, minwidth: int = 10, padding: int = 3) -> str:
    """Format the whole of ``text`` (cells end with a tab, lines with a newline)."""
    ends_with_newline = text.endswith("\n")
    lines = [line.split("\t") for line in (text[:-1] if ends_with_newline else text).split("\n")]
    out: list[str] = []
    _format(lines, 0, len(lines), [], minwidth, padding, out)
    result = "\n".join(out)
    return result + "\n" if ends_with_newline else result


def _format(lines, line0: int, line1: int, widths: list[int], minwidth: int, padding: int, out) -> None:
    column = len(widths)
    this = line0
    while this < line1:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        # A block of lines with a cell in this column starts here: print the lines before it.
        _write_lines(lines, line0, this, widths, out)
        line0 = this
        width = minwidth
        while this < line1 and column < len(lines[this]) - 1:
            width = max(width, display_width(lines[this][column]) + padding)
            this += 1
        _format(lines, line0, this, widths + [width], minwidth, padding, out)
        line0 = this
    _write_lines(lines, line0, line1, widths, out)


def _write_lines(lines, line0: int, line1: int, widths: list[int], out) -> None:
    for cells in lines[line0:line1]:
        parts = []
        for j, cell in enumerate(cells):
            if j < len(widths) and j < len(cells) - 1:
                parts.append(cell + " " * (widths[j] - display_width(cell)))
            else:
                parts.append(cell)
        out.append("".join(parts))


def display_width(text: str) -> int:
    """Width in terminal cells as tabwriter counts it: one per character (rune)."""
    return len(text)


def ellipsis(text: str, max_width: int) -> str:
    """docker's formatter.Ellipsis: cut to ``max_width`` display cells, the last being "…"."""
    if max_width <= 0:
        return ""
    if _cells(text) <= max_width:
        return text
    out, used = [], 0
    for ch in text:
        w = _char_cells(ch)
        if used + w > max_width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _char_cells(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _cells(text: str) -> int:
    return sum(_char_cells(ch) for ch in text) if not text.isascii() else len(text)
