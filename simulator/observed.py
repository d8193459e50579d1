"""Observed monthly exports (customs data) that runs are compared with."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

BUILTIN = "builtin:"


def load_observed(ref: str | None) -> pd.DataFrame:
    """Observed exports: columns month (YYYY-MM), destination, observed_t, source.

    ``ref`` is ``builtin:<name>`` for a file shipped in ``simulator/data/`` or a CSV path
    with columns month, destination, tonnes (and optionally source).
    """
    if ref is None:
        return pd.DataFrame(columns=["month", "destination", "observed_t", "source"])
    if ref.startswith(BUILTIN):
        path = Path(str(resources.files("simulator") / "data" / f"{ref[len(BUILTIN):]}.csv"))
    else:
        path = Path(ref)
    df = pd.read_csv(path, dtype={"month": str, "destination": str})
    if "source" not in df:
        df["source"] = str(path)
    return df.rename(columns={"tonnes": "observed_t"})[
        ["month", "destination", "observed_t", "source"]]
