"""Errors of the command line: one line each, exit status 2, nothing written.

An unreachable Dask scheduler, a scenario's variants or sweep that compare and sweep would
refuse, paths the system refuses (a name too long, a symlink loop), a closed stdout, a
malformed CSV of observed exports, and Ctrl-C with the Dask backend.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import TINY

from simulator import ensemble
from simulator.cli import main

LONG = "x" * 300  # longer than a file name may be (255 bytes on Linux)


def run_main(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str]:
    status = main([str(a) for a in argv])
    return status, capsys.readouterr().err


def nothing_written(out: Path) -> bool:
    return not out.exists() and not out.with_name(out.name + ".partial").exists()


def write(path: Path, doc: dict) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write(tmp_path / "tiny.yaml", {**TINY, "variants": {"more": {"gate.reviewers": 5}},
                                          "sweep": {"gate.reviewers": [3, 5]}})


# ------------------------------------------------------------------------- Dask scheduler
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("verb", [["run"], ["compare"], ["sweep"],
                                  ["calibrate", "--params", "gate.reviewers"]], ids=str)
def test_malformed_scheduler_address_fails_at_once(verb, tiny, tmp_path, capsys):
    out = tmp_path / "out"
    t0 = time.monotonic()
    status, err = run_main(capsys, verb[0], tiny, *verb[1:], "-o", out, "--backend", "dask",
                           "--scheduler", "nonsense")
    assert time.monotonic() - t0 < ensemble.SCHEDULER_TIMEOUT / 2  # no waiting
    assert (status, err) == (2, f"error: magsim {verb[0]}: cannot reach the Dask scheduler "
                                "at nonsense: not an address like tcp://HOST:PORT (missing "
                                "port number in address 'nonsense')\n")
    assert nothing_written(out)


def test_scheduler_nobody_listens_at(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(ensemble, "SCHEDULER_TIMEOUT", 0.5)
    out, address = tmp_path / "out", f"tcp://127.0.0.1:{closed_port()}"
    status, err = run_main(capsys, "run", tiny, "-o", out, "--backend", "dask",
                           "--scheduler", address)
    # refused, or on a busy machine no attempt finished in the 0.5 s
    assert status == 2 and err in [f"error: magsim run: cannot reach the Dask scheduler at "
                                   f"{address}: {why} (tried for 0.5 s)\n"
                                   for why in ("Connection refused", "timed out")]
    assert nothing_written(out)


def test_scheduler_address_that_never_answers(tiny, tmp_path, capsys, monkeypatch):
    """Like a web server's port: the connection is accepted, the handshake never comes."""
    monkeypatch.setattr(ensemble, "SCHEDULER_TIMEOUT", 0.5)
    out = tmp_path / "out"
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        status, err = run_main(capsys, "run", tiny, "-o", out, "--backend", "dask",
                               "--scheduler", address)
    assert (status, err) == (2, f"error: magsim run: cannot reach the Dask scheduler at "
                                f"{address}: no answer in 1 s (is it a Dask scheduler?)\n")
    assert nothing_written(out)


def test_ctrl_c_with_dask_is_clean(tmp_path):
    """Ctrl-C at a terminal signals the whole foreground group, LocalCluster workers too:
    they ignore it, and magsim stops them and exits 130 with its one message."""
    path = write(tmp_path / "tiny.yaml", {**TINY, "horizon": {"start": "2025-01-06",
                                                               "end": "2026-12-31"}})
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "run", str(path), "-o", str(out),
         "--replications", "200", "--workers", "2", "--backend", "dask"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, process_group=0,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    chunks = out.with_name("out.partial") / "chunks"
    deadline = time.monotonic() + 30
    try:
        while not (chunks.is_dir() and any(chunks.glob("*.npz"))):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err
    assert err.startswith("interrupted: finished replications are kept in ") and (
        err.count("\n") == 1), err


# ------------------------------------------------------------------- variants and sweeps
@pytest.mark.parametrize("verb", ["validate", "compare", "sweep"])
def test_validate_refuses_what_compare_and_sweep_refuse(verb, tiny, tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("extends: tiny.yaml\n"
                    "variants:\n"
                    "  fixed: {seed: 3}\n"
                    "sweep:\n"
                    "  replications: [2, 3]\n")
    variants = f"{path}:3:11: variants.fixed.seed: cannot differ between variants (the " \
               "comparison fixes it)"
    sweep = f"{path}:5:3: sweep.replications: cannot differ between variants (the " \
            "comparison fixes it)"
    out = tmp_path / "out"
    status, err = run_main(capsys, verb, path, *(["-o", out] if verb != "validate" else []))
    # both at load time, in one round, whichever command reads the file
    assert (status, err.splitlines()) == (2, [variants, sweep])
    assert nothing_written(out)


def test_a_fixed_section_and_a_bad_path_in_one_round(tiny, tmp_path, capsys):
    """A variant that sets a section the comparison fixes and misspells a path: both are
    reported at once, each at its own line.
    """
    path = tmp_path / "s.yaml"
    path.write_text("extends: tiny.yaml\n"
                    "variants:\n"
                    "  oops:\n"
                    "    seed: 5\n"
                    "    gate.reviewerz: 3\n")
    status, err = run_main(capsys, "validate", path)
    assert (status, err.splitlines()) == (2, [
        f"{path}:4:5: variants.oops.seed: cannot differ between variants (the comparison "
        "fixes it)",
        f"{path}:5:5: variants.oops.gate.reviewerz: no field 'reviewerz' in gate; "
        "did you mean 'reviewers'?"])


@pytest.mark.parametrize("verb, line", [
    ("compare", "variants: the scenario defines no variants to compare"),
    ("sweep", "sweep: the scenario defines no sweep grid"),
])
def test_missing_section_is_named_once(verb, line, tmp_path, capsys):
    path = write(tmp_path / "s.yaml", TINY)
    out = tmp_path / "out"
    assert run_main(capsys, verb, path, "-o", out) == (2, f"{path}: {line}\n")
    assert nothing_written(out)


def test_a_sweep_point_that_fails_only_in_combination_is_named(tmp_path, capsys):
    write(tmp_path / "base.yaml", TINY)
    path = tmp_path / "s.yaml"
    path.write_text("extends: base.yaml\n"
                    "sweep:\n"
                    "  horizon.end: [2025-03-01]\n"
                    "  horizon.start: [2025-04-01]\n")
    status, err = run_main(capsys, "validate", path)
    assert (status, err) == (2, f'{path}:2:1: sweep: point horizon.end="2025-03-01",'
                                'horizon.start="2025-04-01": horizon: end must be after start '
                                "(got start 2025-04-01, end 2025-03-01)\n")


# ------------------------------------------------------------------------ paths and pipes
def test_names_too_long(tiny, tmp_path, capsys):
    long = tmp_path / LONG
    assert run_main(capsys, "validate", f"{long}.yaml") == (
        2, f"{long}.yaml: file name too long\n")
    assert run_main(capsys, "run", tiny, "-o", long) == (
        2, f"error: {long}: File name too long\n")
    assert run_main(capsys, "calibrate", tiny, "--params", "gate.reviewers",
                    "--data", f"{long}.csv") == (2, f"{long}.csv: file name too long\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]


def test_symlink_loop(tiny, tmp_path, capsys):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert run_main(capsys, "validate", loop) == (
        2, f"{loop}: too many levels of symbolic links\n")
    for out in (loop, loop / "out"):
        assert run_main(capsys, "run", tiny, "-o", out) == (
            2, f"error: {out}: Too many levels of symbolic links\n")
    assert run_main(capsys, "plot", loop) == (
        2, f"error: {loop}: Too many levels of symbolic links\n")
    assert run_main(capsys, "plot", tiny) == (
        2, f"error: {tiny}: not a directory (give a run or comparison directory)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop", "tiny.yaml"]


def test_stdout_closed_by_the_reader_ends_quietly(tiny):
    """``magsim validate ... | head -0``: Python's way, no traceback, no message."""
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "validate", str(tiny)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    assert proc.wait(timeout=60) == 1
    assert proc.stderr.read() == b""
    proc.stderr.close()


# ------------------------------------------------------------------- observed exports CSV
@pytest.mark.parametrize("text, line", [
    ("month,destination,tonnes\n2025-03,US,10\n2025-04,US,1,2\n",
     "{f}:3:1: expected 3 fields, saw 4"),
    ('month,destination,tonnes\n2025-03,US,"10\n2025-04,US,1\n',
     "{f}:2:1: a quoted field is not closed"),
    (None, "{f}: is a directory"),
])
def test_calibrate_data_that_is_not_a_csv_file(text, line, tiny, tmp_path, capsys):
    data, out = tmp_path / "obs.csv", tmp_path / "out"
    if text is None:
        data.mkdir()
    else:
        data.write_text(text)
    assert run_main(capsys, "calibrate", tiny, "--params", "gate.reviewers",
                    "--data", data, "-o", out) == (2, line.format(f=data) + "\n")
    assert nothing_written(out)
