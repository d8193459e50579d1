"""The code passes ``ruff check`` under the project's configuration (pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_reports_nothing() -> None:
    """ruff's findings, if any, are the failure message (file:line:col rule text)."""
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format=concise",
                           str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
