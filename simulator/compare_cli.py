"""``magsim compare`` and ``magsim sweep`` (DESIGN §5): policies side by side, with CRN.

Wiring (in :mod:`simulator.cli`): call ``compare_cli.register(sub)`` in ``build_parser`` and
add ``compare_cli.COMMANDS`` to its ``COMMANDS``. This module imports :mod:`simulator.cli`
only inside functions, so ``cli`` may import it at module level without a cycle.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Command = Callable[[argparse.Namespace], int]


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected NAME,NAME,... (got {text!r})")
    return names


def register(sub: Any) -> dict[str, Command]:
    """Add the ``compare`` and ``sweep`` verbs to ``magsim``'s subparsers."""
    from simulator.cli import HelpFormatter, _simulation_flags

    fmt = HelpFormatter
    comp = sub.add_parser(
        "compare", formatter_class=fmt, help="compare policy variants (common random numbers)",
        description="Run the scenario's `variants:` with common random numbers and write "
        "comparison.csv (paired differences vs the first variant), figures/frontier.png and "
        "report.md.")
    _simulation_flags(comp, "runs/<scenario>-compare-<hash>", daily=False)
    comp.add_argument("--variants", type=_names, metavar="A,B,...", default=None,
                      help="variants to run, reference first (default: all, `base` first)")
    swp = sub.add_parser(
        "sweep", formatter_class=fmt, help="run the scenario's sweep: grid (common random "
        "numbers)", description="Run every point of the scenario's `sweep:` grid with "
        "common random numbers; outputs as for compare.")
    _simulation_flags(swp, "runs/<scenario>-sweep-<hash>", daily=False)
    return COMMANDS


def _check(args: argparse.Namespace) -> None:
    from simulator.cli import UsageError

    if args.daily_replications is not None:
        raise UsageError(f"magsim {args.verb}: --daily-replications does not apply (a "
                         "comparison keeps no daily rows)")


def _run(args: argparse.Namespace, names: list[str] | None) -> int:
    from pathlib import Path

    from simulator import comparison as cmp
    from simulator.cli import (
        EXIT_INTERRUPTED,
        EXIT_OK,
        UsageError,
        _plain_name,
        check_backend,
        check_out,
        interruptible,
    )
    from simulator.scenarios import load_located
    from simulator.yamlsrc import InputError

    _check(args)
    scenario, place = load_located(args.scenario, args.sets)
    try:  # a problem in the scenario's variants or sweep, named with its line in the file
        chosen = cmp.variants_of(scenario, names) if args.verb == "compare" else (
            cmp.sweep_variants(scenario))
        if args.out is None and not _plain_name(scenario.name):
            raise UsageError(f"scenario name {scenario.name!r} cannot name a directory "
                             "under runs/; give -o DIR")
        out = Path(args.out) if args.out else cmp.default_dir(
            cmp.prepared(scenario, args.replications, args.seed), chosen, args.verb)
        check_out(out)
        check_backend(args)
        result = interruptible(args, out, lambda update: cmp.compare_variants(
            scenario, chosen, args.replications, args.seed, args.workers, out, update,
            resume=args.resume, verb=args.verb, backend=args.backend,
            scheduler=args.scheduler))
    except InputError as err:
        raise place(err) from None
    if result is None:
        return EXIT_INTERRUPTED
    print_comparison(result)
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    """``magsim compare SCENARIO [--variants a,b]``."""
    return _run(args, args.variants)


def cmd_sweep(args: argparse.Namespace) -> int:
    """``magsim sweep SCENARIO``."""
    return _run(args, None)


def print_comparison(comp: Any) -> None:
    """A rich table of the comparison: cost and unmet tonnes, means and paired differences
    with 95% CIs (fill rate and stockout days are in comparison.csv and report.md).
    """
    from simulator.compare_report import report_rows
    from simulator.tables import print_table

    m = comp.manifest
    df = report_rows(comp)
    df = df[[c for c in df.columns if "fill" not in c and "stockout" not in c]]  # 80 columns
    print_table(f"{m['scenario']['name']}: {len(comp.variants)} variants x "
                f"{m['replications']} replications, common random numbers "
                f"(Δ vs {comp.variants[0]})", list(df.columns),
                df.itertuples(index=False), left=("variant",))
    print(f"outputs: {comp.directory}")


COMMANDS: dict[str, Command] = {"compare": cmd_compare, "sweep": cmd_sweep}
