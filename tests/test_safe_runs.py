"""Interrupted runs: SIGKILL then ``--resume`` gives the same bytes; Ctrl-C says how to resume.

An ensemble of TINY with 40 replications (6 chunks) runs for a few seconds, long enough to
be stopped after its first chunk is saved in ``DIR.partial/chunks/``.

Runs to be stopped by Ctrl-C start with SIGINT's default action: a shell without job control
starts background commands with SIGINT ignored, and an ignored SIGINT stays ignored in
children (magsim then rightly runs on), so the tests would fail when the suite itself runs in
the background.
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import TINY

from simulator.runner import run

REPLICATIONS = 40
COMPARED = ("summary.csv", "exports_monthly.csv")


def magsim(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "simulator", *map(str, args)]


def run_args(scenario: Path, out: Path, workers: int = 1) -> list[str]:
    return magsim("run", scenario, "-o", out, "--replications", REPLICATIONS,
                  "--workers", workers)


def interruptible(args: list[str], **kwargs: object) -> subprocess.Popen[str]:
    """Start ``args`` with SIGINT's default action (see the module docstring)."""
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            **kwargs)


def partial(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


def wait_for_chunk(proc: subprocess.Popen[str], out: Path) -> None:
    """Block until the run has saved a chunk but is not finished."""
    chunks = partial(out) / "chunks"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if chunks.is_dir() and any(chunks.glob("*.npz")):
            return
        assert proc.poll() is None, f"run ended before a chunk was seen: {proc.stderr}"
        time.sleep(0.01)
    pytest.fail("no chunk saved within 60 s")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def reference(scenario: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run of the same scenario and seed."""
    out = tmp_path_factory.mktemp("reference") / "run"
    subprocess.run(run_args(scenario, out), check=True, capture_output=True, timeout=120)
    return out


def assert_same_outputs(out: Path, reference: Path) -> None:
    for name in COMPARED:
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name
    assert not partial(out).exists()


def test_sigkill_then_resume_is_identical(scenario, reference, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(run_args(scenario, out), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    wait_for_chunk(proc, out)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    kept = len(list((partial(out) / "chunks").glob("*.npz")))
    assert 1 <= kept < REPLICATIONS
    assert not out.exists()

    done = subprocess.run([*run_args(scenario, out), "--resume"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert_same_outputs(out, reference)
    assert json.loads((out / "manifest.json").read_text())["resumed_chunks"] >= kept


def test_ctrl_c_says_how_to_resume(scenario, reference, tmp_path):
    out = tmp_path / "run"
    proc = interruptible(run_args(scenario, out))
    wait_for_chunk(proc, out)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "resume" in lines[0], err
    assert partial(out).is_dir() and not out.exists()

    command = shlex.split(lines[0].split("resume with: ", 1)[1])
    assert command[0] == "magsim" and command[-1] == "--resume"
    done = subprocess.run(magsim(*command[1:]), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert_same_outputs(out, reference)


def test_sigterm_stops_the_workers_and_says_how_to_resume(scenario, tmp_path):
    """SIGTERM to magsim alone (as `kill PID` or a batch scheduler sends it): the pool's
    workers stop with it and the resume command is printed, as after Ctrl-C."""
    out = tmp_path / "run"
    proc = interruptible(run_args(scenario, out, workers=2))
    wait_for_chunk(proc, out)
    workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], text=True,
                                              capture_output=True).stdout.split()]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "resume with: " in err and partial(out).is_dir()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{p}").exists() for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers and not any(Path(f"/proc/{p}").exists() for p in workers)


def test_resume_after_writes_cut_short(tmp_path):
    """A kill mid-write leaves ``*.tmp`` files; the resumed run removes them and redoes the
    unfinished chunk."""
    from conftest import scenario as tiny

    from simulator.ensemble import plan_chunks

    out = tmp_path / "run"
    first, *rest = plan_chunks(4)
    assert rest, "the test needs a chunk after the first"

    def stop_after_first_chunk(done: int, total: int) -> None:
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(tiny(), replications=4, workers=1, out=out, figures=False,
            progress=stop_after_first_chunk)
    work = partial(out)
    (work / "daily.parquet" / f"part-{rest[-1].name}.parquet.tmp").write_bytes(b"PAR1 cut")
    (work / "chunks" / f"{rest[0].name}.npz.tmp").write_bytes(b"PK cut")
    (work / "chunks" / "0000009-0000010.npz.tmp").write_bytes(b"PK from another chunking")
    run(tiny(), replications=4, workers=1, out=out, figures=False, resume=True)
    daily = pd.read_parquet(out / "daily.parquet")
    assert sorted(daily.replication.unique()) == [0, 1, 2, 3]
    assert not list(out.rglob("*.tmp"))


def test_ctrl_c_without_out_dir_resumes_the_same_default_directory(scenario, tmp_path):
    """With --replications/--seed and no -o, the hint names the directory being written."""
    args = magsim("run", scenario, "--replications", REPLICATIONS, "--seed", 5,
                  "--workers", 1)
    proc = interruptible(args, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not list((tmp_path / "runs").glob("*.partial/chunks/*.npz")):
        assert proc.poll() is None and time.monotonic() < deadline, "no chunk saved"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    command = shlex.split(err.strip().split("resume with: ", 1)[1])
    out = Path(command[command.index("-o") + 1])
    assert (tmp_path / partial(out)).is_dir()
    done = subprocess.run(magsim(*command[1:]), cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / out / "manifest.json").read_text())
    assert manifest["resumed_chunks"] >= 1 and manifest["seed"] == 5
