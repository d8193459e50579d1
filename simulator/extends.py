"""``extends:``: a scenario file read with the files it extends, deep-merged (child wins),
with the YAML marks that say which file wrote each value.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from simulator import paths
from simulator.observed import BUILTIN
from simulator.schema_errors import got
from simulator.yamlsrc import InputError, Marks, Problem, file_problem, read


def resolve(path: Path, stack: tuple[Path, ...]) -> tuple[dict[str, Any], Marks]:
    """Read ``path`` and everything it extends, merged (child wins)."""
    doc, marks = read(path)
    real = _real(path)
    _anchor_observed(doc, path.parent)
    parent = doc.pop("extends", None)
    if parent is None:
        return doc, marks
    where = marks[("extends",)]
    if not isinstance(parent, str):
        raise InputError([Problem(*where, "extends", f"must be a file path{got(parent)}")])
    base_path = path.parent / parent
    problem = file_problem(base_path)
    if problem is not None:
        raise InputError([Problem(*where, "extends", f"{problem} {parent!r}")])
    if _real(base_path) in (*stack, real):
        chain = " -> ".join(p.name for p in (*stack, real, _real(base_path)))
        raise InputError([Problem(*where, "extends", f"cycle: {chain}")])
    base, base_marks = resolve(base_path, (*stack, real))
    return paths.deep_merge(base, doc), merged_marks(base, base_marks, doc, marks)


def merged_marks(base: dict[str, Any], base_marks: Marks, doc: dict[str, Any],
                  marks: Marks) -> Marks:
    """Marks of ``doc`` (``marks``) merged over ``base``.

    The base's marks go at the root, at every path ``doc`` writes and, where ``doc`` replaces
    a value (a list, a scalar) instead of merging into it, below it: a field missing from a
    replaced list item is blamed on the file that wrote the list, not on the base.
    """
    written = dict(_overlaid(base, doc, ()))
    kept = {k: w for k, w in base_marks.items() if k and k not in written
            and not any(written.get(k[:n]) for n in range(1, len(k)))}
    return {**kept, **marks}


def _overlaid(base: dict[str, Any], over: dict[str, Any], at: tuple[str, ...]
              ) -> Iterable[tuple[tuple[str, ...], bool]]:
    """(path, replaced) for each path of ``over`` that ``base`` has: replaced if
    :func:`paths.deep_merge` puts ``over``'s value there instead of merging mappings.
    """
    for key, value in over.items():
        if key in base:
            merged = isinstance(base[key], dict) and isinstance(value, dict)
            yield (*at, key), not merged
            if merged:
                yield from _overlaid(base[key], value, (*at, key))


def _real(path: Path) -> Path:
    """``path`` with symlinks resolved as far as they go (unlike ``Path.resolve`` on Python
    3.11, which raises RuntimeError on a symlink loop: the read that follows reports it).
    """
    return Path(os.path.realpath(path))


def _anchor_observed(doc: dict[str, Any], folder: Path) -> None:
    """Make a relative ``observed_exports`` path relative to ``folder``, the directory of
    the file that names it (a path in a ``--set`` or a mapping stays relative to the working
    directory).
    """
    ref = doc.get("observed_exports")
    if isinstance(ref, str) and ref and not ref.startswith(BUILTIN) and not Path(ref).is_absolute():
        doc["observed_exports"] = str(_real(folder / ref))
