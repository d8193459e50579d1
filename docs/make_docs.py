"""Regenerate docs/scenario-reference.md and docs/cli.md from the code.

    python docs/make_docs.py

The pages come from :func:`simulator.reference.scenario_reference` (the scenario schema) and
:func:`simulator.reference.cli_reference` (the ``magsim`` parser). tests/test_docs.py fails
when the committed pages differ from what these functions return.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from simulator.reference import cli_reference, scenario_reference

DOCS = Path(__file__).resolve().parent
PAGES: dict[str, Callable[[], str]] = {
    "scenario-reference.md": scenario_reference,
    "cli.md": cli_reference,
}


def main() -> None:
    """Write every generated page and say which ones changed."""
    for name, render in PAGES.items():
        path = DOCS / name
        text = render()
        old = path.read_text(encoding="utf-8") if path.is_file() else None
        path.write_text(text, encoding="utf-8", newline="\n")
        print(f"{path}: {'unchanged' if old == text else 'written'}")


if __name__ == "__main__":
    main()
