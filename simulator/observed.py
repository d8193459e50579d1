"""Observed monthly exports (customs data) that runs are compared with."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from simulator.yamlsrc import InputError, Problem

if TYPE_CHECKING:
    import pandas as pd

BUILTIN = "builtin:"


def load_observed(ref: str | None) -> pd.DataFrame:
    """Observed exports: columns month (YYYY-MM), destination, observed_t, source, derived.

    ``ref`` is ``builtin:<name>`` for a file shipped in ``simulator/data/`` or a CSV path
    with columns month, destination, tonnes (and optionally source and note). ``derived``
    is True where the note starts with ``DERIVED`` (a figure back-calculated from a
    reported change or share, not stated by the source).
    """
    import pandas as pd  # here: loading a scenario checks paths without importing pandas

    cols = ["month", "destination", "observed_t", "source", "derived"]
    if ref is None:
        return pd.DataFrame(columns=cols)
    path = observed_path(ref)
    try:
        df = pd.read_csv(path, dtype={"month": str, "destination": str})
    except pd.errors.ParserError as err:
        raise InputError([_parse_problem(str(path), err)]) from None
    if "source" not in df:
        df["source"] = str(path)
    note = df["note"].fillna("").astype(str) if "note" in df else pd.Series("", index=df.index)
    df["derived"] = note.str.upper().str.startswith("DERIVED")
    return df.rename(columns={"tonnes": "observed_t"})[cols]


def _parse_problem(file: str, err: Exception) -> Problem:
    """The complaint of pandas about a malformed CSV as one located line (its message may
    end in a newline, and counts rows from 0 at the header).
    """
    text = " ".join(str(err).split()).removeprefix("Error tokenizing data. C error: ")
    if m := re.fullmatch(r"Expected (\d+) fields in line (\d+), saw (\d+)", text):
        return Problem(file, int(m[2]), 1, "", f"expected {m[1]} fields, saw {m[3]}")
    if m := re.fullmatch(r"EOF inside string starting at row (\d+)", text):
        return Problem(file, int(m[1]) + 1, 1, "", "a quoted field is not closed")
    return Problem(file, 0, 0, "", f"not a CSV file ({text})")


def observed_path(ref: str) -> Path:
    """The CSV that ``ref`` (``builtin:<name>`` or a path) names."""
    if ref.startswith(BUILTIN):
        return Path(str(resources.files("simulator") / "data" / f"{ref[len(BUILTIN):]}.csv"))
    return Path(ref)
