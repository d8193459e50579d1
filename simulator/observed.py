"""Observed monthly exports (customs data) that runs are compared with."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

BUILTIN = "builtin:"


def load_observed(ref: str | None) -> pd.DataFrame:
    """Observed exports: columns month (YYYY-MM), destination, observed_t, source.

    ``ref`` is ``builtin:<name>`` for a file shipped in ``simulator/data/`` or a CSV path
    with columns month, destination, tonnes (and optionally source).
    """
    import pandas as pd  # here: loading a scenario checks paths without importing pandas

    if ref is None:
        return pd.DataFrame(columns=["month", "destination", "observed_t", "source"])
    path = observed_path(ref)
    df = pd.read_csv(path, dtype={"month": str, "destination": str})
    if "source" not in df:
        df["source"] = str(path)
    return df.rename(columns={"tonnes": "observed_t"})[
        ["month", "destination", "observed_t", "source"]]


def observed_path(ref: str) -> Path:
    """The CSV that ``ref`` (``builtin:<name>`` or a path) names."""
    if ref.startswith(BUILTIN):
        return Path(str(resources.files("simulator") / "data" / f"{ref[len(BUILTIN):]}.csv"))
    return Path(ref)
