"""Tables printed on the terminal by ``magsim run``, ``compare`` and ``calibrate``.

Laid out to fit 80 columns (the width rich assumes when output is not a terminal): headers
break before a unit ``(t)`` or an interval ``[95% CI]``, a cell's interval ``[lo, hi]`` goes
on the line under its mean, and a cell too wide is folded, never cut short with an ellipsis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]],
                left: Sequence[str] = ()) -> None:
    """Print ``rows`` under ``columns``; columns named in ``left`` are left-aligned (the
    others, numbers, right-aligned).
    """
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
                  title=escape(title))
    for col in columns:
        head = col.replace(" [", "\n[").replace(" (", "\n(").replace("CVaR95 ", "CVaR95\n")
        table.add_column(escape(head), overflow="fold",
                         justify="left" if col in left else "right")
    for row in rows:
        table.add_row(*(escape(str(v).replace(" [", "\n[")) for v in row))
    Console().print(table)
