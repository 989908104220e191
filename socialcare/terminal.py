"""Customer text made safe to print: it is data, and a terminal obeys escape sequences in data.

A post or a display name can hold ESC sequences (clear the screen, retitle the window, OSC 8
links), 8-bit controls (U+009B is a CSI on many terminals), bidi overrides (U+202E reorders what
follows) and zero-width characters. Every listing and view runs names and texts through here; the
store keeps them verbatim. Drafts use :func:`plain` too, since a greeting is posted publicly.
"""

from __future__ import annotations

import re
import unicodedata

from rich.cells import cell_len
from rich.text import Text

NAME_WIDTH = 24
"""Characters of a name in a listing: a display name can be 100,000 characters long."""

_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, clear screen
    r"|(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC (titles, links), DCS, ...
    r"|\x1b[@-Z\\-_]"  # other two-character escapes
)


def plain(text: str) -> str:
    """``text`` without control, format or unassigned characters, on one line.

    Escape sequences (ESC, 8-bit CSI), bidi overrides (U+202E), zero-width characters and lone
    surrogates are dropped; line breaks and tabs become spaces.
    """
    return _keep(text, "")


def lines(text: str) -> str:
    """As :func:`plain`, keeping line breaks: a message shown whole in ``show`` or ``review``."""
    return _keep(text.replace("\r\n", "\n"), "\n")


def _keep(text: str, breaks: str) -> str:
    text = _ESCAPE_SEQUENCE.sub("", text)
    return "".join(
        ch if ch in breaks else " " if ch in "\t\n\r" else ch
        for ch in text
        if ch in "\t\n\r" or not unicodedata.category(ch).startswith("C")
    )


def cut(text: str | None, width: int) -> str:
    """Safe, on one line with runs of space folded, and at most ``width`` cells, ending in … when cut."""
    flat = " ".join(plain((text or "")[: width * 8]).split())
    if cell_len(flat) <= width:
        return flat
    shown = Text(flat)
    shown.truncate(width, overflow="ellipsis")
    return shown.plain


def safe_text(text: str | None, style: str = "") -> Text:
    """A Rich Text of customer text (never markup), multi-line kept."""
    return Text(lines(text or ""), style=style)


def columns(
    header: list[str], rows: list[list[Text]], width: int, flex: int, shrink: tuple[int, ...] = ()
) -> list[Text]:
    """One line per row at ``width`` cells: every column as wide as its widest cell, except ``flex``,
    which takes what is left and is cut with an ellipsis (a listing is read, and grepped, line by line).

    On a narrow terminal the ``shrink`` columns (names) give way first, down to 8 cells each, so that
    ``flex`` keeps at least ``FLEX_MIN``.
    """
    widths = [max([len(header[i]), *(r[i].cell_len for r in rows)]) for i in range(len(header))]
    gaps = 2 * (len(header) - 1)

    def room() -> int:
        return width - sum(w for i, w in enumerate(widths) if i != flex) - gaps

    while room() < FLEX_MIN and any(widths[i] > 8 for i in shrink):
        widest = max(shrink, key=lambda i: widths[i])
        widths[widest] -= 1
    widths[flex] = max(10, room())
    out = []
    for cells in [[Text(h, style="bold") for h in header], *rows]:
        line = Text()
        for i, cell in enumerate(cells):
            cell = cell.copy()
            cell.truncate(widths[i], overflow="ellipsis", pad=i != len(cells) - 1)
            line.append_text(cell)
            if i != len(cells) - 1:
                line.append("  ")
        line.truncate(width, overflow="ellipsis")
        out.append(line)
    return out


FLEX_MIN = 24
"""Cells the message keeps in a listing on an 80-column terminal."""
