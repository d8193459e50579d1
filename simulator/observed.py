"""Observed monthly exports (customs data) that runs are compared with.

One reader checks the file for every use (a scenario's ``observed_exports`` when it is
loaded, ``magsim calibrate --data``): columns ``month``, ``destination`` and ``tonnes``
(``source`` and ``note`` optional, others ignored); ``month`` YYYY-MM; ``destination`` not
empty; ``tonnes`` a number >= 0, or empty where nothing was observed. Of rows for the same
month and destination the last with a figure counts (a correction may be appended). Each
problem is one line ``file:line:col: column: what is wrong (got X)``.
It uses the csv module, not pandas, so that loading a scenario stays fast.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from simulator.yamlsrc import InputError, Problem, file_problem

if TYPE_CHECKING:
    import pandas as pd

BUILTIN = "builtin:"
COLUMNS = ("month", "destination", "tonnes")
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
NOT_OBSERVED = frozenset({"", "NA", "N/A", "n/a", "#N/A", "NaN", "nan", "null", "NULL"})
"""``tonnes`` cells that mean "no figure" (common spellings of a missing value)."""
MAX_SHOWN = 20  # problems listed per file; the rest are counted


class Observation(NamedTuple):
    """One row of an observed-exports file."""

    month: str  # YYYY-MM
    destination: str  # a region of the scenario, or WORLD
    observed_t: float  # tonnes; NaN where the file gives no figure
    source: str  # citation (the file's path if it has no source column)
    derived: bool  # the note starts with DERIVED: back-calculated, not stated by the source


def load_observed(ref: str | None) -> pd.DataFrame:
    """Observed exports: columns month (YYYY-MM), destination, observed_t (t), source, derived.

    ``ref`` is ``builtin:<name>`` for a file shipped in ``simulator/data/`` or a CSV path
    (see the module docstring). Raises :class:`InputError` if the file is missing or bad.
    """
    import pandas as pd  # here: loading a scenario checks the file without importing pandas

    rows = [] if ref is None else read_observations(ref)
    return pd.DataFrame(rows, columns=list(Observation._fields)).astype(
        {"month": str, "destination": str, "observed_t": float, "source": str, "derived": bool})


def read_observations(ref: str) -> list[Observation]:
    """The rows of the observed-exports file ``ref`` names, checked, one per month and
    destination (in the order they first appear).

    Raises :class:`InputError` with one located line per problem (the first
    :data:`MAX_SHOWN`, then a count of the rest).
    """
    path = observed_path(ref)
    name = str(path)
    problem = file_problem(path)
    if problem is not None:
        builtin = ref.startswith(BUILTIN) and problem == "no such file"
        raise InputError([Problem(ref, 0, 0, "", "no such builtin data" if builtin else problem)])
    records = _records(path)
    header = _header(name, next(records, None))
    at = {c: header.index(c) for c in (*COLUMNS, "source", "note") if c in header}
    rows: dict[tuple[str, str], Observation] = {}
    problems: list[Problem] = []
    for line, fields in records:
        if len(fields) != len(header):
            problems.append(Problem(name, line, 1, "", f"expected {len(header)} fields, "
                                    f"saw {len(fields)}"))
            continue
        row, bad = _row(name, line, [fields[at[c]].strip() for c in COLUMNS])
        problems += bad
        source = fields[at["source"]] if "source" in at else name
        note = fields[at["note"]] if "note" in at else ""
        if math.isnan(row[2]) and row[:2] in rows:
            continue  # no figure: an earlier row's stands
        rows[row[:2]] = Observation(*row, source, note.upper().startswith("DERIVED"))
    if problems:
        more = len(problems) - MAX_SHOWN
        tail = [Problem(name, 0, 0, "", f"{more} more problems not shown")] if more > 0 else []
        raise InputError(problems[:MAX_SHOWN] + tail)
    return list(rows.values())


def _header(name: str, record: tuple[int, list[str]] | None) -> list[str]:
    """Column names of the header ``record`` (line, fields), which has the ones needed."""
    want = f"expected columns {', '.join(COLUMNS)}"
    if record is None:
        raise InputError([Problem(name, 1, 1, "", f"{want} (the file is empty)")])
    line, fields = record
    header = [f.strip() for f in fields]
    missing = [c for c in COLUMNS if c not in header]
    twice = [c for c in dict.fromkeys(header) if c and header.count(c) > 1]
    if missing:
        raise InputError([Problem(name, line, 1, "", f"{want} (missing {', '.join(missing)})")])
    if twice:
        raise InputError([Problem(name, line, 1, twice[0], "column named twice")])
    return header


def _row(name: str, line: int, cells: list[str]) -> tuple[tuple[str, str, float], list[Problem]]:
    """(month, destination, tonnes) of a row's stripped cells, and what is wrong with them."""
    month, destination, text = cells
    problems = []
    if not MONTH.fullmatch(month):
        problems.append(Problem(name, line, 1, "month", f"expected YYYY-MM (got {month!r})"))
    if not destination:
        problems.append(Problem(name, line, 1, "destination",
                                "expected a region or WORLD (got '')"))
    tonnes = math.nan
    if text not in NOT_OBSERVED:
        with contextlib.suppress(ValueError):
            tonnes = float(text)
        if not 0 <= tonnes < math.inf:
            problems.append(Problem(name, line, 1, "tonnes",
                                    f"expected a number >= 0 (got {text!r})"))
    return (month, destination, tonnes), problems


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of each non-blank record of the CSV file ``path``."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as err:  # e.g. no permission to read it
        reason = err.strerror or str(err)
        raise InputError([Problem(name, 0, 0, "", reason[:1].lower() + reason[1:])]) from None
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")  # a spreadsheet's byte-order mark
    except UnicodeDecodeError as err:
        before = raw[: err.start].decode("utf-8")
        line, col = before.count("\n") + 1, len(before) - before.rfind("\n")
        raise InputError([Problem(name, line, col, "", f"not UTF-8 text (byte "
                                  f"0x{raw[err.start]:02x})")]) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            if "unexpected end of data" in str(err):
                raise InputError([Problem(name, start, 1, "", "a quoted field is not closed")]
                                 ) from None
            raise InputError([Problem(name, reader.line_num, 1, "", f"not a CSV file ({err})")]
                             ) from None
        if fields:
            yield start, fields


def observed_path(ref: str) -> Path:
    """The CSV that ``ref`` (``builtin:<name>`` or a path) names."""
    if ref.startswith(BUILTIN):
        return Path(str(resources.files("simulator") / "data" / f"{ref[len(BUILTIN):]}.csv"))
    return Path(ref)
