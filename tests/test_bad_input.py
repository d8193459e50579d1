"""Bad input gets one located line per problem, exit status 2, no traceback, nothing written.

The corpus is ``tests/bad_scenarios/*.yaml``; ``expected.yaml`` there gives, for each file,
the message fragment and ``line:col`` that ``magsim validate`` must print. Every case runs
in-process through :func:`simulator.cli.main` (``validate`` and ``run -o DIR``); a few run
through ``python -m simulator`` as a subprocess to check the real entry point.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from simulator.cli import main
from simulator.yamlsrc import MAX_BYTES

CASES = Path(__file__).parent / "bad_scenarios"
EXPECTED: dict[str, dict[str, str] | list[dict[str, str]]] = yaml.safe_load(
    (CASES / "expected.yaml").read_text())
BASE = CASES / "support" / "base.yaml"  # a valid scenario, for the flag cases
SUBPROCESS_CASES = ["alias_bomb.yaml", "extends_cycle.yaml", "unknown_region.yaml"]


def expectations(name: str) -> list[tuple[str, str]]:
    """(location prefix, message fragment) pairs that stderr must contain for case ``name``."""
    entries = EXPECTED[name]
    out = []
    for e in entries if isinstance(entries, list) else [entries]:
        at = e["at"]
        where = f"{CASES / at}" if at.count(":") == 2 else f"{CASES / name}:{at}"
        out.append((where, e["message"]))
    return out


def check_failed(status: int, err: str, expected: list[tuple[str, str]], out: Path | None,
                 located_in: Path | str = CASES) -> None:
    """Exit 2, the expected located lines, one located line per problem, nothing written."""
    assert status == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines, "no message"
    for where, message in expected:
        assert any(line.startswith(f"{where}: ") and message in line for line in lines), (
            f"expected {where}: ...{message}... in\n{err}")
    assert all(line.startswith(str(located_in)) for line in lines), err
    if out is not None:
        assert not out.exists()
        assert not out.with_name(out.name + ".partial").exists()


def run_main(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str]:
    status = main([str(a) for a in argv])
    return status, capsys.readouterr().err


def test_corpus_is_complete():
    files = {p.name for p in CASES.glob("*.yaml")} - {"expected.yaml"}
    assert files == set(EXPECTED), files ^ set(EXPECTED)
    assert len(files) >= 40


@pytest.mark.parametrize("name", sorted(EXPECTED), ids=lambda n: n.removesuffix(".yaml"))
def test_validate(name, capsys):
    status, err = run_main(capsys, "validate", CASES / name)
    check_failed(status, err, expectations(name), None)


@pytest.mark.parametrize("name", sorted(EXPECTED), ids=lambda n: n.removesuffix(".yaml"))
def test_run_writes_nothing(name, tmp_path, capsys):
    out = tmp_path / "out"
    status, err = run_main(capsys, "run", CASES / name, "-o", out)
    check_failed(status, err, expectations(name), out)


def test_subprocess_validate_whole_corpus(tmp_path):
    """One ``python -m simulator validate`` of every case: each reported, in one run."""
    names = sorted(EXPECTED)
    argv = [sys.executable, "-m", "simulator", "validate", *(str(CASES / n) for n in names)]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    check_failed(proc.returncode, proc.stderr, [e for n in names for e in expectations(n)],
                 None)
    assert proc.stdout == ""


@pytest.mark.parametrize("name", SUBPROCESS_CASES, ids=lambda n: n.removesuffix(".yaml"))
def test_subprocess_run(name, tmp_path):
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "simulator", "run", str(CASES / name), "-o", str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    check_failed(proc.returncode, proc.stderr, expectations(name), out)
    assert not (tmp_path / "runs").exists()


def test_validate_reports_every_file(capsys):
    bad = [CASES / "zero_reviewers.yaml", CASES / "unknown_top_key.yaml"]
    status = main(["validate", str(BASE), *map(str, bad)])
    captured = capsys.readouterr()
    assert status == 2
    assert f"{BASE}: ok" in captured.out
    check_failed(status, captured.err,
                 expectations("zero_reviewers.yaml") + expectations("unknown_top_key.yaml"), None)


def test_file_over_size_limit(tmp_path, capsys):
    big = tmp_path / "big.yaml"
    big.write_text("name: big\n" + "#" * MAX_BYTES + "\n")
    for verb in ("validate", "run"):
        out = tmp_path / "out"
        argv = [verb, big] + (["-o", out] if verb == "run" else [])
        status, err = run_main(capsys, *argv)
        check_failed(status, err, [(str(big), f"the limit is {MAX_BYTES} bytes")], out, big)


@pytest.mark.parametrize("verb", ["validate", "run"])
def test_scenario_path_missing_or_directory(verb, tmp_path, capsys):
    out = tmp_path / "out"
    for path, message in [(tmp_path / "nope.yaml", "no such file"),
                          (CASES / "support", "is a directory, not a scenario file")]:
        argv = [verb, path] + (["-o", out] if verb == "run" else [])
        status, err = run_main(capsys, *argv)
        check_failed(status, err, [(str(path), message)], out, path)


SET_CASES = {
    "set-unknown-path": ("gate.reviewrs=4", "gate.reviewrs: no field 'reviewrs' in gate; did "
                                            "you mean 'reviewers'?"),
    "set-not-integer": ("gate.reviewers=abc", "gate.reviewers: input should be a valid integer "
                                              "(got 'abc')"),
    "set-float-for-integer": ("replications=2.5", "replications: input should be a valid "
                                                  "integer (got 2.5)"),
    "set-negative": ("gate.reviewers=-1", "gate.reviewers: input should be greater than 0 "
                                          "(got -1)"),
    "set-nan": ("gray_channel.leak_share=.nan", "gray_channel.leak_share: input should be a "
                                                "finite number (got nan)"),
    "set-unreadable": ("gate.reviewers=[1", "gate.reviewers: unreadable value (got '[1')"),
    "set-no-equals": ("gate.reviewers", "expected PATH=VALUE (got 'gate.reviewers')"),
    "set-no-path": ("=3", "expected PATH=VALUE (got '=3')"),
    "set-empty-segment": ("gate..reviewers=3", "gate..reviewers: not a dot path"),
    "set-into-scalar": ("seed.x=1", "seed.x: seed has no fields (it is a number, 11)"),
    "set-into-empty-mapping": ("costs.shortage_usd_per_t.wind=5",
                               "costs.shortage_usd_per_t.wind: costs.shortage_usd_per_t has no "
                               "fields (it is an empty mapping); to add keys, set the mapping "
                               "itself: costs.shortage_usd_per_t={wind: ...}"),
    "set-missing-list-item": ("timeline.0.date=2025-02-03",
                              "timeline.0.date: no item '0' in timeline (it is a list of 0)"),
    "set-breaks-horizon": ("horizon.end=2024-12-31", "horizon: end must be after start"),
    "set-wildcard-bad-value": ("gate.regions.*.regime.civil=banned",
                               "gate.regions.EU.regime.civil: input should be 'open', "
                               "'licensing' or 'embargo' (got 'banned')"),
    "set-unknown-region": ("buyers.us_auto.region=MX", "buyers.us_auto.region: unknown region "
                                                       "'MX'"),
}


@pytest.mark.parametrize("verb", ["validate", "run"])
@pytest.mark.parametrize("case", SET_CASES, ids=str)
def test_bad_set(case, verb, tmp_path, capsys):
    item, message = SET_CASES[case]
    out = tmp_path / "out"
    argv = [verb, BASE, "--set", item] + (["-o", out] if verb == "run" else [])
    status, err = run_main(capsys, *argv)
    check_failed(status, err, [("--set", message)], out, "--set")


def test_bad_sets_reported_together(capsys):
    status, err = run_main(capsys, "validate", BASE, "--set", "junk", "--set", "seed=[1")
    check_failed(status, err, [("--set", "expected PATH=VALUE (got 'junk')"),
                               ("--set", "seed: unreadable value")], None, "--set")


def test_repeated_sets_apply_in_the_order_given():
    """A path set again overrides what came between; a path a later set removed is fine."""
    from simulator import load_scenario

    sc = load_scenario(BASE, ["gate.regions.*.approval_prob.civil=0.5",
                              "gate.regions.US.approval_prob.civil=0.9",
                              "gate.regions.*.approval_prob.civil=0.2"])
    assert {r: g.approval_prob.civil for r, g in sc.gate.regions.items()} == {"US": 0.2,
                                                                              "EU": 0.2}
    sc = load_scenario(BASE, ["buyers.us_auto.policy.target_days=30",
                              "buyers.us_auto.policy={kind: sS, order_up_to_t: 30, "
                              "reorder_point_t: 10}"])
    assert sc.buyers["us_auto"].policy.kind == "sS"
    assert sc.buyers["us_auto"].policy.target_days is None


def test_observed_exports_is_read_relative_to_the_file_that_names_it(tmp_path, monkeypatch):
    """From any working directory: the CSV beside the scenario, not in the cwd."""
    from simulator import load_scenario
    from simulator.observed import load_observed

    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "exports.csv").write_text("month,destination,tonnes\n2025-02,US,7\n")
    (tmp_path / "s" / "sc.yaml").write_text(f"extends: {BASE}\nobserved_exports: exports.csv\n")
    monkeypatch.chdir(tmp_path)
    sc = load_scenario("s/sc.yaml")
    assert load_observed(sc.observed_exports).observed_t.tolist() == [7]


def test_scenario_hash_follows_the_observed_csv_content_not_its_place(tmp_path):
    """A scenario and its CSV copied elsewhere hash (and name their run directory) the
    same; editing the CSV changes the hash.
    """
    from simulator import load_scenario, scenario_hash

    def copy(folder: str, tonnes: int) -> str:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "exports.csv").write_text(
            f"month,destination,tonnes\n2025-02,US,{tonnes}\n")
        (tmp_path / folder / "sc.yaml").write_text(
            f"extends: {BASE}\nobserved_exports: exports.csv\n")
        return scenario_hash(load_scenario(tmp_path / folder / "sc.yaml"))

    assert copy("a", 7) == copy("b", 7) != copy("c", 8)


@pytest.mark.parametrize("verb", [["run"], ["calibrate", "--params", "gate.reviewers"]],
                         ids=str)
@pytest.mark.parametrize("out", [".", "..", "here"])
def test_output_cannot_be_the_working_directory(verb, out, tmp_path, monkeypatch, capsys):
    """The output directory is replaced whole: never ., .. or a directory one is in."""
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    status, err = run_main(capsys, verb[0], BASE, *verb[1:], "-o",
                           tmp_path / "here" if out == "here" else out)
    assert status == 2 and err.count("\n") == 1
    assert "the output directory is written whole and replaced on success" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]
    assert not any((tmp_path / "here").iterdir())


FLAG_CASES = {
    "replications-negative": (["--replications", "-3"],
                              "argument --replications: must be > 0 (got -3)"),
    "replications-zero": (["--replications", "0"], "argument --replications: must be > 0"),
    "replications-abc": (["--replications", "abc"],
                         "argument --replications: must be a whole number (got 'abc')"),
    "replications-float": (["--replications", "2.5"], "must be a whole number (got '2.5')"),
    "seed-negative": (["--seed", "-1"], "argument --seed: must be >= 0 (got -1)"),
    "workers-zero": (["--workers", "0"], "argument --workers: must be > 0 (got 0)"),
    "backend-nosuch": (["--backend", "nosuch"], "argument --backend: invalid choice: 'nosuch'"),
    "unknown-flag": (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    "set-without-value": (["--set"], "argument --set: expected one argument"),
}


@pytest.mark.parametrize("case", FLAG_CASES, ids=str)
def test_bad_flag(case, tmp_path, capsys):
    flags, message = FLAG_CASES[case]
    out = tmp_path / "out"
    status, err = run_main(capsys, "run", BASE, "-o", out, *flags)
    check_failed(status, err, [("error", message)], out, "error: magsim")


@pytest.mark.parametrize("argv,message", [
    ([], "the following arguments are required: verb"),
    (["simulate", str(BASE)], "invalid choice: 'simulate'"),
    (["run"], "the following arguments are required: scenario"),
])
def test_bad_verb(argv, message, capsys):
    status, err = run_main(capsys, *argv)
    check_failed(status, err, [("error", message)], None, "error: magsim")


@pytest.mark.parametrize("case", ["replications-negative", "backend-nosuch"])
def test_bad_flag_subprocess(case, tmp_path):
    flags, message = FLAG_CASES[case]
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "simulator", "run", str(BASE), "-o", str(out),
                           *flags], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    check_failed(proc.returncode, proc.stderr, [("error", message)], out, "error: magsim")


def test_out_is_a_file(tmp_path, capsys):
    out = tmp_path / "out.txt"
    out.write_text("keep me")
    status, err = run_main(capsys, "run", BASE, "-o", out)
    check_failed(status, err, [("error", f"{out}: exists and is not a directory")], None,
                 "error")
    assert out.read_text() == "keep me"
    assert not (tmp_path / "out.txt.partial").exists()


def test_out_is_not_a_run_directory(tmp_path, capsys):
    out = tmp_path / "home"
    (out / "notes").mkdir(parents=True)
    status, err = run_main(capsys, "run", BASE, "-o", out)
    check_failed(status, err, [("error", f"{out}: exists and is not a magsim run directory")],
                 None, "error")
    assert (out / "notes").is_dir()
    assert not (tmp_path / "home.partial").exists()


def test_resume_of_another_run(tmp_path, capsys):
    out = tmp_path / "out"
    marker = tmp_path / "out.partial" / "run.json"
    marker.parent.mkdir()
    marker.write_text(json.dumps({"hash": "0123456789ab", "replications": 7}))
    status, err = run_main(capsys, "run", BASE, "-o", out, "--resume")
    check_failed(status, err, [("error", "holds a different run")], None, "error")
    assert json.loads(marker.read_text())["hash"] == "0123456789ab"
    assert sorted(p.name for p in marker.parent.iterdir()) == ["run.json"]


@pytest.mark.parametrize("name", ["../escape", "", ".."])
def test_name_that_cannot_be_a_run_directory(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status, err = run_main(capsys, "run", BASE, "--set", f"name={name!r}")
    check_failed(status, err, [("--set", "name: string should ")], None, "--set")
    assert list(tmp_path.iterdir()) == [] and not (tmp_path.parent / "escape").exists()


@pytest.mark.parametrize("path, value", [
    ("buyers.us_auto.shortage", "backorder"),
    ("gray_channel.premium_usd_per_kg", 80.0),
    ("buyers.*.shortage", "backorder"),
    ("buyers.us_auto", {"shortage": "backorder"}),
    ("buyers", {"us_auto": {"region": "EU"}}),
])
def test_timeline_may_not_set_a_field_read_once_per_run(path, value):
    """Such an event would be a silent no-op; it is refused with its location."""
    from conftest import TINY, scenario

    from simulator.yamlsrc import InputError

    event = {"date": "2025-03-03", "label": "x", "source": "test", "set": {path: value}}
    with pytest.raises(InputError, match=rf"timeline\.0\.set\.{path}: \S+ cannot change "
                                         "during a run"):
        scenario(base=TINY, timeline=[event])
