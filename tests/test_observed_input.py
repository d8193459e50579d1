"""A scenario's ``observed_exports`` CSV is checked when the scenario is loaded.

Each problem is one line ``file:line:col: column: what is wrong (got X)``, exit status 2,
nothing written, for every verb that loads a scenario; ``magsim calibrate --data`` reads the
same format through the same checker.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import TINY

from simulator.cli import main
from simulator.observed import MAX_SHOWN, load_observed, read_observations
from simulator.scenarios import load_scenario
from simulator.yamlsrc import InputError

HEADER = "month,destination,tonnes\n"

# (CSV text, the one line expected; {f} is the CSV's path)
BAD = {
    "wrong_header": ("month,dest,t\n2025-01,US,5\n",
                     "{f}:1:1: expected columns month, destination, tonnes "
                     "(missing destination, tonnes)"),
    "tonnes_not_a_number": (HEADER + "2025-01,US,5\n2025-02,US,abc\n",
                            "{f}:3:1: tonnes: expected a number >= 0 (got 'abc')"),
    "bad_month": (HEADER + "2025-13,US,5\n", "{f}:2:1: month: expected YYYY-MM (got '2025-13')"),
    "negative_tonnes": (HEADER + "2025-01,US,-5\n",
                        "{f}:2:1: tonnes: expected a number >= 0 (got '-5')"),
    "infinite_tonnes": (HEADER + "2025-01,US,inf\n",
                        "{f}:2:1: tonnes: expected a number >= 0 (got 'inf')"),
    "empty_destination": (HEADER + "2025-01,,5\n",
                          "{f}:2:1: destination: expected a region or WORLD (got '')"),
    "too_many_fields": (HEADER + "2025-01,US,5,x\n", "{f}:2:1: expected 3 fields, saw 4"),
    "too_few_fields": (HEADER + "2025-01,US\n", "{f}:2:1: expected 3 fields, saw 2"),
    "column_twice": ("month,destination,tonnes,month\n",
                     "{f}:1:1: month: column named twice"),
    "empty_file": ("", "{f}:1:1: expected columns month, destination, tonnes (the file is empty)"),
    "quote_not_closed": (HEADER + '2025-01,US,"5\n2025-02,US,6\n',
                         "{f}:2:1: a quoted field is not closed"),
}


def real(path: Path) -> str:
    """How the loader names a CSV that a scenario file names (its real path)."""
    return os.path.realpath(path)


def scenario_with(tmp_path: Path, csv: str | bytes, **extra: object) -> tuple[Path, Path]:
    """(a TINY scenario file naming obs.csv, obs.csv holding ``csv``)."""
    data = tmp_path / "obs.csv"
    data.write_bytes(csv if isinstance(csv, bytes) else csv.encode())
    path = tmp_path / "tiny.yaml"
    doc = {**TINY, "observed_exports": "obs.csv", "variants": {"more": {"gate.reviewers": 5}},
           "sweep": {"gate.reviewers": [3, 5]}, **extra}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path, data


def run_main(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str]:
    status = main([str(a) for a in argv])
    return status, capsys.readouterr().err


def nothing_written(out: Path) -> bool:
    return not out.exists() and not out.with_name(out.name + ".partial").exists()


@pytest.mark.parametrize("case", sorted(BAD))
def test_validate_names_file_line_column_and_field(case, tmp_path, capsys):
    text, line = BAD[case]
    path, data = scenario_with(tmp_path, text)
    assert run_main(capsys, "validate", path) == (2, line.format(f=real(data)) + "\n")


@pytest.mark.parametrize("case", ["wrong_header", "tonnes_not_a_number", "bad_month",
                                  "negative_tonnes"])
@pytest.mark.parametrize("verb", ["run", "compare", "sweep"])
def test_verbs_fail_at_load_and_write_nothing(verb, case, tmp_path, capsys):
    text, line = BAD[case]
    path, data = scenario_with(tmp_path, text)
    out = tmp_path / "out"
    status, err = run_main(capsys, verb, path, "-o", out, "--replications", "1")
    assert (status, err) == (2, line.format(f=real(data)) + "\n")
    assert nothing_written(out)


def test_every_problem_is_reported_at_once(tmp_path, capsys):
    path, data = scenario_with(tmp_path, HEADER + "2025-13,US,abc\n2025-01,US,1\n"
                                              "2025-2,,-1\n")
    f = real(data)
    assert run_main(capsys, "validate", path) == (2, "\n".join([
        f"{f}:2:1: month: expected YYYY-MM (got '2025-13')",
        f"{f}:2:1: tonnes: expected a number >= 0 (got 'abc')",
        f"{f}:4:1: month: expected YYYY-MM (got '2025-2')",
        f"{f}:4:1: destination: expected a region or WORLD (got '')",
        f"{f}:4:1: tonnes: expected a number >= 0 (got '-1')"]) + "\n")


def test_scenario_problems_and_csv_problems_come_together(tmp_path, capsys):
    path, data = scenario_with(tmp_path, HEADER + "2025-01,US,abc\n", seed=-1)
    assert run_main(capsys, "validate", path) == (2, (
        f"{path}:5:1: seed: input should be greater than or equal to 0 (got -1)\n"
        f"{real(data)}:2:1: tonnes: expected a number >= 0 (got 'abc')\n"))


def test_a_long_list_of_problems_is_cut(tmp_path):
    path, data = scenario_with(tmp_path, HEADER + "2025-01,US,x\n" * (MAX_SHOWN + 5))
    with pytest.raises(InputError) as err:
        load_scenario(path)
    lines = str(err.value).splitlines()
    assert len(lines) == MAX_SHOWN + 1
    assert lines[-1] == f"{real(data)}: 5 more problems not shown"


def test_not_utf8_is_located(tmp_path, capsys):
    path, data = scenario_with(tmp_path, (HEADER + "2025-01,M\xfcnchen,5\n").encode("latin-1"))
    assert run_main(capsys, "validate", path) == (
        2, f"{real(data)}:2:10: not UTF-8 text (byte 0xfc)\n")


def test_a_good_file_loads_with_optional_columns(tmp_path, capsys):
    text = ("\ufeffmonth, destination ,tonnes,source,note,confidence\n"
            "2025-01,US,5,customs,,high\n"
            "\n"
            '2025-02,WORLD,,customs,"DERIVED: from a share,\nsee note",low\n'
            "2025-03,EU,NA,customs,,low\n")
    path, data = scenario_with(tmp_path, text)
    assert run_main(capsys, "validate", path)[0] == 0
    obs = load_observed(str(data))
    assert obs.month.tolist() == ["2025-01", "2025-02", "2025-03"]
    assert obs.destination.tolist() == ["US", "WORLD", "EU"]
    assert obs.observed_t.tolist()[0] == 5 and math.isnan(obs.observed_t.tolist()[1])
    assert obs.derived.tolist() == [False, True, False]


def test_a_repeated_month_and_destination_takes_the_last_figure(tmp_path):
    """A correction may be appended; a row with no figure does not undo one."""
    _, data = scenario_with(tmp_path, HEADER + "2025-01,US,5\n2025-02,US,6\n2025-01,US,7\n"
                                               "2025-01,US,\n")
    obs = load_observed(str(data))
    assert obs[["month", "observed_t"]].values.tolist() == [["2025-01", 7.0], ["2025-02", 6.0]]


def test_the_builtin_data_passes():
    rows = read_observations("builtin:china_magnet_exports")
    assert len(rows) > 30 and all(r.observed_t >= 0 for r in rows)
    with pytest.raises(InputError, match="^builtin:nope: no such builtin data$"):
        read_observations("builtin:nope")


def test_loading_a_scenario_does_not_import_pandas(tmp_path):
    path, _ = scenario_with(tmp_path, HEADER + "2025-01,US,5\n")
    code = ("import sys; from simulator.scenarios import load_scenario; "
            f"load_scenario({str(path)!r}); assert 'pandas' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("case", ["bad_month", "too_few_fields", "empty_destination"])
def test_calibrate_data_uses_the_same_checker(case, tmp_path, capsys):
    text, line = BAD[case]
    path, _ = scenario_with(tmp_path, HEADER)
    data, out = tmp_path / "data.csv", tmp_path / "out"
    data.write_text(text)
    assert run_main(capsys, "calibrate", path, "--params", "gate.reviewers", "--data", data,
                    "-o", out) == (2, line.format(f=data) + "\n")
    assert nothing_written(out)
