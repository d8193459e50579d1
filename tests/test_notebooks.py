"""The notebooks run from top to bottom, their own checks pass, and each draws a figure.

Each notebook is executed with nbclient in a fresh ``python3`` kernel, from the
``notebooks/`` folder (the notebooks find ``scenarios/`` by walking up from there and write
their runs to a temporary directory). Stored notebooks carry no outputs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 600
# what the notebooks' own checks print when they fail
FAILED_CHECK = ("NOT identical", "NOT the same", "DIFFER")


def _outputs(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def test_the_three_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == [
        "01_replay_2025.ipynb", "02_stockpile_policies.ipynb", "03_what_if.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code cells"
    assert not _outputs(nb), f"{path.name} is stored with outputs (clear them)"
    assert all(c.execution_count is None for c in code), f"{path.name}: execution counts"


@pytest.mark.slow
@pytest.mark.xdist_group("notebooks")  # one worker for all three with --dist loadgroup
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_draws_a_figure(path):
    nb = nbformat.read(path, as_version=4)
    before = sorted(p.name for p in NOTEBOOK_DIR.iterdir())
    client = NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT_S,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    after = sorted(p.name for p in NOTEBOOK_DIR.iterdir())
    assert after == before, f"{path.name} wrote into notebooks/: {set(after) - set(before)}"
    outputs = _outputs(nb)
    errors = [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: {errors}"
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    failed = [w for w in FAILED_CHECK if w in text]
    assert not failed, f"{path.name}: a check in the notebook failed ({failed})"
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert figures, f"{path.name} drew no figure (no image/png output)"


def test_importing_the_package_keeps_the_users_matplotlib_backend():
    """Notebooks show figures inline only if importing magsim leaves the backend alone."""
    import subprocess
    import sys

    code = ("import matplotlib; matplotlib.use('svg'); import simulator, simulator.plots, "
            "simulator.report; print(matplotlib.get_backend())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "svg"
