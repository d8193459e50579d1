"""``magsim calibrate`` (DESIGN §5-6): fit scenario parameters to observed exports.

Wiring (in :mod:`simulator.cli`): call ``calibrate_cli.register(sub)`` in ``build_parser``
and add ``calibrate_cli.COMMANDS`` to its ``COMMANDS``. This module imports
:mod:`simulator.cli` only inside functions, so ``cli`` may import it at module level.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Command = Callable[[argparse.Namespace], int]
EXAMPLE = "2025-05-12:gate.reviewers"


def register(sub: Any) -> dict[str, Command]:
    """Add the ``calibrate`` verb to ``magsim``'s subparsers."""
    from simulator.cli import HelpFormatter, _non_negative, _positive, _simulation_flags

    fmt = HelpFormatter
    cal = sub.add_parser(
        "calibrate", formatter_class=fmt, help="fit parameters to observed exports",
        description="Fit scenario parameters to observed monthly exports by destination "
        "(mean squared log error, common random numbers, derivative-free optimiser within "
        "bounds) and write calibration.json, calibrated.yaml (an overlay that extends the "
        "scenario) and figures/{calibration,profiles}.png. Every simulated parameter vector "
        "is saved in DIR.partial as it finishes; after Ctrl-C, the same command with "
        "--resume continues from them. See docs/calibration.md.")
    _simulation_flags(cal, "runs/<scenario>-calibrate-<hash>", daily=False)
    cal.add_argument("--params", action="append", required=True, metavar="P,...",
                     help="parameters to fit: dot paths (gate.reviewers), timeline values "
                     f"(timeline.3.set.gate.reviewers or {EXAMPLE}); A+B ties two")
    cal.add_argument("--data", metavar="CSV", default=None,
                     help="observed exports: month, destination, tonnes (default: the "
                     "scenario's observed_exports)")
    cal.add_argument("--budget", type=_positive, metavar="N", default=60,
                     help="most parameter vectors the optimiser simulates")
    cal.add_argument("--bounds", action="append", default=[], metavar="P=LO:HI",
                     help="bounds of a parameter (default: the schema's, else start/4 to "
                     "start x 4)")
    cal.add_argument("--start", action="append", default=[], metavar="P=VALUE",
                     help="start the fit from VALUE instead of the scenario's value")
    cal.add_argument("--months", metavar="FROM:TO", default=None,
                     help="observed months used, YYYY-MM:YYYY-MM (default: from the month "
                     "the earliest parameter takes effect)")
    cal.add_argument("--destinations", metavar="A,B", default=None,
                     help="destinations used (default: every region and WORLD observed)")
    cal.add_argument("--method", choices=("nelder-mead", "powell"), default="nelder-mead",
                     help="derivative-free optimiser (scipy.optimize)")
    cal.add_argument("--profile-points", type=_non_negative, metavar="K", default=5,
                     help="points on each side of the fit in each parameter's loss slice "
                     "(0: none)")
    return COMMANDS


def _pairs(items: list[str], flag: str, form: str) -> dict[str, str]:
    from simulator.yamlsrc import InputError, Problem

    out = {}
    for item in items:
        name, sep, value = item.rpartition("=")
        if not sep or not name.strip() or not value.strip():
            raise InputError([Problem(flag, 0, 0, "", f"expected {form} (got {item!r})")])
        out[name.strip()] = value.strip()
    return out


def _numbers(text: str, flag: str, name: str, count: int) -> list[float]:
    from simulator.yamlsrc import InputError, Problem

    parts = text.split(":")
    try:
        if len(parts) != count:
            raise ValueError
        return [float(p) for p in parts]
    except ValueError:
        form = "LO:HI" if count == 2 else "a number"
        raise InputError([Problem(flag, 0, 0, name, f"expected {form} (got {text!r})")]
                         ) from None


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of :func:`simulator.calibration.calibrate` from the flags."""
    from simulator.calib_objective import MONTH
    from simulator.cli import UsageError
    from simulator.observed import BUILTIN
    from simulator.yamlsrc import InputError, Problem, file_problem

    if args.daily_replications is not None:
        raise UsageError("magsim calibrate: --daily-replications does not apply (a "
                         "calibration keeps no daily rows)")
    params = [p.strip() for item in args.params for p in item.split(",")]
    if not all(params):
        raise InputError([Problem("--params", 0, 0, "", "expected P,P,... with no empty "
                                  f"names (got {','.join(args.params)!r})")])
    bounds = {k: tuple(_numbers(v, "--bounds", k, 2))
              for k, v in _pairs(args.bounds, "--bounds", "P=LO:HI").items()}
    start = {k: _numbers(v, "--start", k, 1)[0]
             for k, v in _pairs(args.start, "--start", "P=VALUE").items()}
    months = None
    if args.months is not None:
        months = tuple(m.strip() for m in args.months.split(":"))
        if len(months) != 2 or not all(MONTH.fullmatch(m) for m in months) or (
                months[0] > months[1]):
            raise InputError([Problem("--months", 0, 0, "", "expected FROM:TO as "
                                      f"YYYY-MM:YYYY-MM, FROM <= TO (got {args.months!r})")])
    dests = [d.strip() for d in args.destinations.split(",")] if args.destinations else None
    # a directory, a symlink loop ... (a missing file is reported with the data, after the
    # parameters)
    if args.data and not args.data.startswith(BUILTIN) and (
            problem := file_problem(Path(args.data))) not in (None, "no such file"):
        raise InputError([Problem(args.data, 0, 0, "", problem)])
    return {"params": params, "data": args.data, "replications": args.replications,
            "seed": args.seed, "workers": args.workers, "budget": args.budget,
            "bounds": bounds, "start": start, "sets": args.sets, "months": months,
            "destinations": dests, "method": args.method,
            "profile_points": args.profile_points, "backend": args.backend,
            "scheduler": args.scheduler, "resume": args.resume}


class _Bar:
    """A rich progress bar per stage (fit, profiles) on a terminal; nothing otherwise."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}
        if sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(TextColumn("{task.description:9}"), BarColumn(),
                                MofNCompleteColumn(), TextColumn("best loss {task.fields[best]}"),
                                TimeElapsedColumn(), transient=True)
            self.bar.start()

    def __call__(self, stage: str, done: int, total: int, best: float) -> None:
        if self.bar is None:
            return
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total, best="")
        self.bar.update(self.tasks[stage], completed=done, total=total, best=f"{best:.4g}")

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def cmd_calibrate(args: argparse.Namespace) -> int:
    """``magsim calibrate SCENARIO --params P,...``."""
    import shlex

    from simulator.calibration import Interrupted, calibrate
    from simulator.cli import EXIT_INTERRUPTED, EXIT_OK, check_backend, check_out

    opts = _options(args)
    if args.out is not None:
        check_out(Path(args.out), "calibration.json", "calibration")
    check_backend(args)
    bar = _Bar()
    try:
        cal = calibrate(args.scenario, out=args.out, progress=bar, **opts)
    except Interrupted as stop:
        bar.stop()
        argv = [a for a in getattr(args, "argv", sys.argv[1:]) if a != "--resume"]
        again = shlex.join(argv if args.out else [*argv, "-o", str(stop.out)])
        print(f"interrupted: {stop.evaluations} evaluations are kept in {stop.out}.partial; "
              f"resume with: magsim {again} --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        bar.stop()
    print_calibration(cal)
    return EXIT_OK


def _label(p: Any) -> str:
    """A parameter as the table shows it: its first field, and how many are tied to it."""
    t = p.targets[0]
    name = ".".join([t.key, *t.sub])
    return name + (f" (+{len(p.targets) - 1} tied)" if len(p.targets) > 1 else "")


def print_calibration(cal: Any) -> None:
    """A rich table: each parameter, the date it takes effect, its value before and after,
    its joint 95% interval and how well the data pin it; then loss and MAPE.
    """
    from simulator.tables import print_table

    rows = []
    for p, a, iv in zip(cal.params, cal.after, cal.intervals, strict=True):
        lo, hi = iv["interval95"]
        rows.append((_label(p), str(p.since), f"{p.cast(p.before):g}", f"{p.cast(a):g}",
                     f"{lo:.4g}–{hi:.4g}", iv["pinned"]))
    print_table(f"{cal.scenario.name}: {len(cal.obs)} observations, "
                f"{cal.info['replications']} replications, seed {cal.info['seed']}",
                ("parameter", "from", "before", "after", "95% interval", "pinned"), rows,
                left=("parameter", "pinned"))
    opt = cal.info["optimizer"]
    print(f"loss {cal.loss_before:.4g} -> {cal.loss_after:.4g}; MAPE {cal.mape_before:.1f}% -> "
          f"{cal.mape_after:.1f}%; {opt['method']}, {opt['evaluations']} evaluations "
          f"({opt['message']})")
    h = cal.holdout
    print(f"with other random numbers (seed {h['seed']}): loss {h['loss_before']:.4g} -> "
          f"{h['loss_after']:.4g}; MAPE {h['mape_before']:.1f}% -> {h['mape_after']:.1f}%")
    print(f"outputs: {cal.directory} (calibration.json has the full names, the intervals "
          "with the others held at the fit, and the correlations)")


COMMANDS: dict[str, Command] = {"calibrate": cmd_calibrate}
