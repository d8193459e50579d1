"""``magsim`` command line (DESIGN §5): a thin layer that turns errors into one-line messages.

Exit status: 0 success, 2 bad input (scenario, flags, paths, an unreachable Dask scheduler),
1 internal error (or, silently, stdout closed by the reader: ``magsim ... | head -1``), 130 on
Ctrl-C. Without ``--debug`` no traceback is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from simulator import __version__, calibrate_cli, compare_cli, forkserver

T = TypeVar("T")

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BROKEN_PIPE = 1  # stdout closed by the reader: quietly, as Python's docs and rich do


class UsageError(Exception):
    """Bad flags or paths (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so every error gets the same format."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Raise :class:`UsageError` (argparse would print usage and exit)."""
        raise UsageError(f"{self.prog}: {message}")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0 (got {value})")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (got {value})")
    return value


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: X)" only where the help text does not give the default already and
    there is one to show.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or action.default in (None, [], False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


def _simulation_flags(p: argparse.ArgumentParser, out: str = "runs/<scenario>-<hash>",
                      daily: bool = True) -> None:
    """The flags of a verb that simulates; ``out``: its default run directory; ``daily``:
    whether it keeps daily rows (else ``--daily-replications`` is hidden, and refused).
    """
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("-o", "--out", metavar="DIR", default=None,
                   help=f"run directory (default: {out})")
    p.add_argument("--replications", type=_positive, metavar="N", default=None,
                   help="Monte Carlo replications (default: the scenario's)")
    p.add_argument("--seed", type=_non_negative, metavar="S", default=None,
                   help="root seed (default: the scenario's)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                   help="override a scenario field by dot path (repeatable). Inside a "
                   "timeline event's or a disruption's `set:`, a variant, or the sweep, write "
                   "the key as it appears there, then optionally a path into its value: "
                   "timeline.3.set.gate.reviewers=500, "
                   "variants.cover_30d.stockpiles.buffer_us_auto.stock_t=300, "
                   "sweep.gate.reviewers=[300,600]. A path or key that does not exist is an "
                   "error; replacing a whole `set:` mapping drops the entries you leave out")
    p.add_argument("--workers", type=_positive, metavar="N", default=None,
                   help="worker processes (default: all cores)")
    p.add_argument("--backend", choices=("local", "dask"), default="local",
                   help="where replications run (default: local)")
    p.add_argument("--scheduler", metavar="ADDR", default=None,
                   help="Dask scheduler address, e.g. tcp://host:8786 (with --backend dask)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run in -o DIR, keeping finished chunks")
    p.add_argument("--daily-replications", type=_non_negative, metavar="N", default=None,
                   help="replications whose daily rows go to daily.parquet (default: 20)"
                   if daily else argparse.SUPPRESS)
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def build_parser() -> Parser:
    """The full ``magsim`` parser."""
    fmt = HelpFormatter
    root = Parser(prog="magsim", formatter_class=fmt,
                  description="Rare-earth magnet supply-disruption simulator (SimPy).")
    root.add_argument("--version", action="version", version=f"magsim {__version__}")
    sub = root.add_subparsers(dest="verb", required=True, parser_class=Parser)
    run = sub.add_parser("run", formatter_class=fmt, help="run a Monte Carlo ensemble",
                         description="Run a scenario's ensemble and write a run directory.")
    _simulation_flags(run)
    val = sub.add_parser("validate", formatter_class=fmt, help="check scenario files",
                         description="Validate scenarios: exit 0 if all valid, 2 if not.")
    val.add_argument("scenarios", nargs="+", help="scenario YAML files")
    val.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                     help="override a field by dot path (repeatable)")
    val.add_argument("--debug", action="store_true", help="show tracebacks")
    sch = sub.add_parser(
        "schema", formatter_class=fmt, help="print the JSON Schema for editors",
        description="Print the JSON Schema of scenario files on stdout, for editors: it "
        "flags unknown keys, wrong types and out-of-range values. It allows `extends` and "
        "requires no field, since a file that extends another holds only its changes; "
        "`magsim validate` checks that the merged scenario is complete.")
    sch.add_argument("--debug", action="store_true", help="show tracebacks")
    plot = sub.add_parser("plot", formatter_class=fmt, help="redraw a run's figures",
                          description="(Re)draw figures and report.md from a run directory.")
    plot.add_argument("run_dir", help="directory written by `magsim run`, `compare` or `sweep`")
    plot.add_argument("--debug", action="store_true", help="show tracebacks")
    compare_cli.register(sub)
    calibrate_cli.register(sub)
    return root


def _progress() -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """A rich progress bar on a terminal, nothing otherwise."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(TextColumn("replications"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                   transient=True)
    task = bar.add_task("run", total=None)
    bar.start()

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return update, bar.stop


def _print_summary(results: Any) -> None:
    from simulator.report import sector_units
    from simulator.tables import print_table

    s = results.summary

    def cell(entity: str, level: str, metric: str, fmt: str) -> str:
        row = s[(s.entity == entity) & (s.level == level) & (s.metric == metric)].iloc[0]
        if row["mean"] != row["mean"]:
            return "–"
        return f"{row['mean']:{fmt}} [{row['p5']:{fmt}}–{row['p95']:{fmt}}]"

    levels = [("sector", e) for e in dict.fromkeys(s[s.level == "sector"].entity)]
    rows = [(e, cell(e, level, "unmet_t", ",.0f"), cell(e, level, "fill_rate", ".3f"),
             cell(e, level, "stockout_days", ",.0f"), cell(e, level, "lost_units", ",.0f"))
            for level, e in [*levels, ("total", "total")]]
    print_table(f"{results.manifest['scenario']['name']}: {results.manifest['replications']} "
                "replications (mean [p5–p95])",
                ("sector", "unmet (t)", "fill rate", "stockout days", "lost units"), rows,
                left=("sector",))
    units = sector_units(results.manifest["scenario"])
    if units:
        print("lost units: " + "; ".join(f"{sec} in {u}" for sec, u in units.items()))
    print(f"outputs: {results.directory}")


def _plain_name(name: str) -> bool:
    """True if ``name`` can name one directory (no separators, not empty, not . or ..)."""
    return name not in ("", ".", "..") and "/" not in name and "\\" not in name


def check_out(out: Path, marker: str = "manifest.json", what: str = "magsim run") -> None:
    """Refuse an output directory ``out`` that would replace something other than an
    earlier output (a ``what`` directory, which holds ``marker``), or the working directory.
    """
    here = Path(os.path.realpath(Path.cwd()))  # realpath: no error on a symlink loop
    if here.is_relative_to(os.path.realpath(out)):  # ., .., /, a parent
        raise UsageError(f"-o {out}: the output directory is written whole and replaced on "
                         "success; name a new directory (e.g. -o runs/NAME), not . or a "
                         "directory you are in")
    for d in (out, out.with_name(out.name + ".partial")):
        if _exists(d) and not d.is_dir():
            raise UsageError(f"{d}: exists and is not a directory (choose another -o)")
    if out.is_dir() and any(out.iterdir()) and not (out / marker).is_file():
        raise UsageError(f"{out}: exists and is not a {what} directory; refusing to "
                         "replace it (choose another -o)")


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; an OSError other than "no such file" (a symlink loop, a
    name too long, a file where a directory should be) is raised, for :func:`main` to
    report before anything is written.
    """
    try:
        path.stat()
    except FileNotFoundError:
        return False
    return True


def check_backend(args: argparse.Namespace) -> None:
    """``--scheduler`` needs ``--backend dask``, and the scheduler must answer: checked
    before anything is written, so that a run that cannot start leaves nothing behind.
    """
    if not args.scheduler:
        return
    if args.backend != "dask":
        raise UsageError(f"magsim {args.verb}: --scheduler needs --backend dask")
    from simulator.ensemble import SchedulerError, reach

    try:
        reach(args.scheduler)
    except SchedulerError as err:
        raise UsageError(f"magsim {args.verb}: {err}") from None


def interruptible(args: argparse.Namespace, out: Path,
                  job: Callable[[Callable[[int, int], None] | None], T]) -> T | None:
    """Run ``job(progress)`` with a progress bar; on Ctrl-C say how to resume into ``out``
    and return None (finished chunks stay in ``out.partial``).
    """
    update, stop = _progress()
    try:
        return job(update)
    except KeyboardInterrupt:
        stop()
        argv = [a for a in getattr(args, "argv", sys.argv[1:]) if a != "--resume"]
        again = shlex.join(argv if args.out else [*argv, "-o", str(out)])
        print(f"interrupted: finished replications are kept in {out}.partial; resume with: "
              f"magsim {again} --resume", file=sys.stderr)
        return None
    finally:
        stop()


def cmd_run(args: argparse.Namespace) -> int:
    """``magsim run``: an ensemble written to a run directory."""
    from simulator.runner import default_dir, prepare, run
    from simulator.scenarios import load_scenario

    # the run directory's default name hashes the scenario as run (replications, seed)
    scenario = prepare(load_scenario(args.scenario, args.sets), args.replications, args.seed)
    if args.out is None and not _plain_name(scenario.name):
        raise UsageError(f"scenario name {scenario.name!r} cannot name a directory under "
                         "runs/; give -o DIR")
    out = Path(args.out) if args.out else default_dir(scenario)
    check_out(out)
    check_backend(args)
    results = interruptible(args, out, lambda update: run(
        scenario, None, None, args.workers, out, args.resume,
        daily_replications=args.daily_replications, progress=update, backend=args.backend,
        scheduler=args.scheduler))
    if results is None:
        return EXIT_INTERRUPTED
    _print_summary(results)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    """``magsim validate``: exit 0 if every file is valid, 2 if any is not."""
    from simulator.scenarios import load_located
    from simulator.variants import check
    from simulator.yamlsrc import InputError

    bad = 0
    for path in args.scenarios:
        try:
            sc, place = load_located(path, args.sets)
            try:
                check(sc)  # what compare and sweep check of its variants and sweep
            except InputError as err:
                raise place(err) from None
            print(f"{path}: ok ({len(sc.buyers)} buyers, {len(sc.timeline)} events)")
        except InputError as err:
            bad += 1
            print(str(err), file=sys.stderr)
    return EXIT_INPUT if bad else EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    """``magsim schema``: the JSON Schema of scenario files on stdout, for editors.

    It allows ``extends`` and requires no field (a file that extends another is partial);
    ``magsim validate`` checks completeness after merging.
    """
    from simulator.schema import editor_schema

    print(json.dumps(editor_schema(), indent=1))
    return EXIT_OK


def cmd_plot(args: argparse.Namespace) -> int:
    """``magsim plot``: redraw a run directory's figures and report."""
    from simulator.report import write_figures, write_report
    from simulator.results import load_run

    d = Path(args.run_dir)
    d.stat()  # a symlink loop, no access ...: main reports the system's reason
    if not d.is_dir():
        raise UsageError(f"{d}: not a directory (give a run or comparison directory)")
    if (d / "comparison.csv").is_file():
        from simulator.comparison import redraw

        for path in redraw(d):
            print(path)
        return EXIT_OK
    results = load_run(d)
    for path in write_figures(results, d / "figures"):
        print(path)
    write_report(results, d)
    return EXIT_OK


COMMANDS = {"run": cmd_run, "validate": cmd_validate, "schema": cmd_schema, "plot": cmd_plot,
            **compare_cli.COMMANDS, **calibrate_cli.COMMANDS}


def _start_workers_early(argv: list[str]) -> None:
    """With ``--backend dask`` and no ``--scheduler``, start the LocalCluster's fork server
    now, so that it imports Dask and magsim while this process loads the rest (a bad
    command line is left for :func:`main` to report).
    """
    try:
        args = build_parser().parse_args(argv)
    except UsageError:
        return
    if getattr(args, "backend", None) == "dask" and not getattr(args, "scheduler", None):
        forkserver.start()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``magsim`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _start_workers_early(argv)
    import matplotlib

    from simulator.runner import ResumeError
    from simulator.yamlsrc import InputError

    matplotlib.use("Agg")  # the CLI only writes figures to files, never opens a window
    debug = "--debug" in argv
    # SIGTERM (kill, a batch scheduler's time limit) stops a run as Ctrl-C does: workers
    # stopped, finished chunks kept, the resume command printed
    on_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        args = build_parser().parse_args(argv)
        args.argv = argv
        return COMMANDS[args.verb](args)
    except InputError as err:
        print(str(err), file=sys.stderr)
        return EXIT_INPUT
    except (UsageError, ResumeError) as err:
        if debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:  # stdout closed early (`magsim validate ... | head -1`)
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE
    except OSError as err:  # a path: missing, a symlink loop, a name too long, no access ...
        if debug:
            raise
        print(f"error: {_os_message(err)}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # noqa: BLE001 - the CLI's last line of defence
        if debug:
            raise
        print(f"internal error: {type(err).__name__}: {err} (rerun with --debug for a "
              "traceback)", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        signal.signal(signal.SIGTERM, on_term)


def _os_message(err: OSError) -> str:
    """``path: reason``: ``[Errno 36] File name too long: 'x...'`` as ``x...: File name too
    long``.
    """
    if err.filename is None or not err.strerror:
        return str(err)
    return f"{err.filename}: {err.strerror}"


def _stdout_to_devnull() -> None:
    """After a broken pipe on stdout, send what is left of it to /dev/null, so that Python's
    flush at exit does not fail again (docs.python.org/3/library/signal.html#note-on-sigpipe;
    rich's console does the same and exits with 1).
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file (captured, closed)
        pass


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def console() -> None:
    """The ``magsim`` command: :func:`main`, then exit with its status. An interrupted run
    exits at once: its finished work is on disk, and a pool worker stopped in mid-reply can
    leave the pool's result reader waiting forever at interpreter exit.
    """
    try:
        status = main()
    except KeyboardInterrupt:  # Ctrl-C while magsim was still importing
        print("interrupted", file=sys.stderr)
        status = EXIT_INTERRUPTED
    if status == EXIT_INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":
    console()
