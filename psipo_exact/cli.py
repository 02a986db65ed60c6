"""The ``psipo-exact`` command line: thin wrappers that parse, call the library, write files.

Subcommands: ``reproduce`` (the paper's closed-form results and sampled experiments),
``check`` (symbolic verification of the paper's identities) and ``solve`` (exact optima of
a comparison file or preference model). Any error is one line on stderr and exit status 2;
output files are written atomically, so a failed run leaves no half-written file.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path

import numpy as np

from . import _checks, experiments, plotting, report
from ._io import write_files


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are a single line on stderr with exit status 2."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message}")


class _UsageError(Exception):
    pass


def _csv_text(columns: dict) -> str:
    """CSV of equal-length columns (name → values); floats written exactly (``repr``)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(columns))
    for row in zip(*columns.values()):
        writer.writerow([repr(float(v)) if isinstance(v, (float, np.floating)) else v
                         for v in row])
    return buf.getvalue()


def _text_writer(text: str):
    return lambda path: path.write_text(text, encoding="utf-8")


def _png_writer(fig):
    return lambda path: plotting.write_png(fig, path)


def _closed_form_outputs() -> dict:
    """Sec. 4.2 / 5.3.1: the closed-form τ sweep as CSV and PNG (name → writer)."""
    sweep = experiments.closed_form_sweep()
    return {
        "closed_form.csv": _text_writer(_csv_text(sweep)),
        "closed_form.png": _png_writer(plotting.plot_closed_form_sweep(sweep)),
    }


def _check_out_dir(out: Path) -> None:
    """Fail before any computation if ``--out`` cannot become a writable folder."""
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"--out {out}: {existing} exists and is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: {existing} is not writable")


def _cmd_reproduce(args) -> int:
    import matplotlib

    matplotlib.use("Agg")  # files only, headless: the one place a backend is chosen
    settings = _validated_sampled_args(args)
    out = Path(args.out)
    _check_out_dir(out)
    # Everything is computed and rendered first; then all files are written or none.
    outputs = _sampled_outputs(settings, progress=not args.no_progress)
    outputs = {**_closed_form_outputs(), **outputs}
    for path in write_files(out, outputs):
        print(f"wrote {path}")
    return 0


def _validated_sampled_args(args) -> dict:
    """Check every Sec. 5.4 option before anything is computed or written."""
    figures = experiments.validate_figures(args.figure)
    taus = _checks.tau(args.taus, "--taus").tolist()
    for name, value in (("--seeds", args.seeds), ("--steps", args.steps),
                        ("--batch-size", args.batch_size)):
        _checks.positive_int(value, name)
    _checks.real_in_range(args.lr, "--lr", 0.0, np.inf, closed_low=False)
    return dict(figures=figures, taus=tuple(dict.fromkeys(taus)), seeds=args.seeds,
                steps=args.steps, batch_size=args.batch_size, lr=args.lr)


def _sampled_outputs(settings: dict, *, progress: bool) -> dict:
    """Sec. 5.4: Figures 1/2 with exact overlays, summary.csv and summary.md (name → writer)."""
    exp = experiments.run_sampled_experiment(
        settings["figures"], settings["taus"], settings["seeds"], steps=settings["steps"],
        batch_size=settings["batch_size"], lr=settings["lr"], progress=progress)
    outputs = {f"figure{figure}.png": _png_writer(plotting.plot_sampled_figure(exp, figure))
               for figure in settings["figures"]}
    outputs["summary.csv"] = _text_writer(_csv_text(report.summary_columns(exp.rows)))
    outputs["summary.md"] = _text_writer(report.summary_markdown(exp))
    return outputs


def _add_reproduce(sub) -> None:
    p = sub.add_parser("reproduce", help="reproduce the paper's results into --out")
    p.add_argument("--out", default="results", help="output directory (default: results/)")
    p.add_argument("--figure", type=int, nargs="+", default=[1, 2], metavar="N",
                   help="Sec. 5.4 figures to reproduce: 1 (D1) and/or 2 (D3) (default: both)")
    p.add_argument("--taus", type=float, nargs="+", default=list(experiments.DEFAULT_TAUS),
                   metavar="TAU", help="τ grid (default: 0.01 0.1 0.5 1 2 10)")
    p.add_argument("--seeds", type=int, default=10, help="number of seeds (default: 10)")
    p.add_argument("--steps", type=int, default=18000, help="Adam steps (default: 18000)")
    p.add_argument("--batch-size", type=int, default=9, help="mini-batch size (default: 9)")
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (default: 0.01)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_reproduce)


def _cmd_check(args) -> int:
    from .symbolic import format_checks, verify_all  # sympy is slow to import: only here

    checks = verify_all()
    print(format_checks(checks))
    return 0 if all(c.holds for c in checks) else 1


def _add_check(sub) -> None:
    p = sub.add_parser("check", help="verify the paper's identities symbolically (sympy)")
    p.set_defaults(func=_cmd_check)


def _cmd_solve(args) -> int:
    import json

    from .files import solve_file

    result = solve_file(args.file, args.loss, args.tau, args.pi_ref,
                        params=_loss_params(args.param))
    print(json.dumps(result, indent=2, allow_nan=False))
    return 0


def _add_solve(sub) -> None:
    p = sub.add_parser(
        "solve", help="exact optimum (or its limit) of IPO, DPO or Bradley-Terry on a file",
        description="Exact optimum of a comparison file (CSV rows winner,loser[,context] or a "
        "JSON list) or a JSON preference model {prefs, mu, pi_ref}; prints JSON. Action "
        "names are indexed in order of first appearance unless a JSON 'actions' list is given.")
    p.add_argument("file", help="comparisons (.csv or .json) or a JSON preference model")
    p.add_argument("--loss", choices=_loss_choices(), required=True, metavar="LOSS",
                   help="ipo (Eq. 17/13), dpo (Eq. 4/5), bt (Bradley-Terry MLE, Eq. 2) or any "
                   "loss of the family: " + ", ".join(_loss_choices()[3:]))
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a parameter of the loss, TRL's name (repeatable), e.g. "
                   "label_smoothing=0.1, discopop_tau=0.05, f_divergence_type=js_divergence, "
                   "f_alpha_divergence_coef=0.5")
    p.add_argument("--tau", type=float, default=None, help="τ > 0 (required for ipo, dpo)")
    p.add_argument("--pi-ref", default=None, metavar="FILE",
                   help="JSON list with pi_ref (default: uniform, or the model's pi_ref)")
    p.set_defaults(func=_cmd_solve)


def _loss_choices() -> list[str]:
    from .losses import PAIRWISE_ALIASES, PAIRWISE_LOSSES

    family = [name for name in (*PAIRWISE_LOSSES, *PAIRWISE_ALIASES) if name not in ("ipo", "dpo")]
    return ["ipo", "dpo", "bt", *family]


def _loss_params(items: list[str]) -> dict:
    """``--param NAME=VALUE`` options as keyword arguments (numbers where they parse)."""
    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--param {item!r}: expected NAME=VALUE, e.g. label_smoothing=0.1")
        try:
            params[name.strip()] = float(value)
        except ValueError:
            params[name.strip()] = value.strip()
    return params


def build_parser() -> argparse.ArgumentParser:
    """The ``psipo-exact`` argument parser."""
    parser = _Parser(prog="psipo-exact", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_reproduce(sub)
    _add_check(sub)
    _add_solve(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``psipo-exact``; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError) as exc:
        message = " ".join(str(exc).split())
        print(f"psipo-exact: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
