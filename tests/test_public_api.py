"""The package's public names (``simulator.__all__``) resolve, lazily, to the documented
objects, and the notebooks use them instead of reaching into modules.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import simulator

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
MODULE_IMPORT = re.compile(r"^\s*from simulator\.(\w+) import (.+)$", re.MULTILINE)


@pytest.mark.parametrize("name", [n for n in simulator.__all__ if n != "__version__"])
def test_every_public_name_resolves_to_its_module(name):
    value = getattr(simulator, name)
    assert value.__name__ == name
    assert value.__module__.startswith("simulator."), value.__module__
    assert name in dir(simulator)


def test_an_unknown_name_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        simulator.nope  # noqa: B018


def test_analysis_helpers_are_public():
    st = simulator.paired_stats(np.array([3.0, 5.0]), np.array([1.0, 2.0]))
    assert st["mean"] == 4.0 and st["diff_vs_first"] == 2.5  # (2 + 3) / 2
    observed = simulator.load_observed("builtin:china_magnet_exports")
    assert {"month", "destination", "observed_t"} <= set(observed.columns)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_import_public_names_not_module_internals(path):
    """A notebook may import modules (``from simulator import metrics``) and the cover
    records' binning constants, nothing else from inside a module.
    """
    cells = json.loads(path.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    inner = [(m, names.split("#")[0].strip()) for m, names in MODULE_IMPORT.findall(code)]
    assert all(names == "COVER_BINS, COVER_EVERY" for _, names in inner), inner
