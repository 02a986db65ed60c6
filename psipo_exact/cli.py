"""psipo-exact: exact answers for preference learning (IPO, DPO, RLHF) on finite action spaces.

Reproduce the results of Azar et al., "A General Theoretical Paradigm to Understand Learning
from Human Preferences" (arXiv:2310.12036), verify its identities symbolically, and compute the
exact optimum of IPO, DPO or Bradley-Terry on your own comparison data.

For developers: each subcommand parses its options, calls the library and writes files.
Any error is one line on stderr and exit status 2; output files are written atomically, so a
failed or interrupted run leaves no half-written file; Ctrl-C exits with status 130.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path

import numpy as np

from . import _checks, experiments, gallery, report
from ._io import write_files

#: Shown by ``psipo-exact --help`` under the list of subcommands.
EPILOG = """examples:
  psipo-exact reproduce --out results     figures, summary and index.html into results/
  psipo-exact reproduce --figure 1 --steps 2000 --seeds 3 --out quick
  psipo-exact check                       verify the paper's identities (sympy)
  psipo-exact check --only eq17           one identity (names: psipo-exact check --list)
  psipo-exact solve data.csv --loss ipo --tau 0.5
                                          exact optimum of your comparisons, as JSON

Run 'psipo-exact COMMAND --help' for the options of a command."""


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
    from . import plotting  # matplotlib (~0.9 s of import): only where figures are made

    return lambda path: plotting.write_png(fig, path)


def _closed_form_outputs() -> dict:
    """Sec. 4.2 / 5.3.1: the closed-form τ sweep as CSV and PNG (name → writer)."""
    from . import plotting

    sweep = experiments.closed_form_sweep()
    return {
        "closed_form.csv": _text_writer(_csv_text(sweep)),
        "closed_form.png": _png_writer(plotting.plot_closed_form_sweep(sweep)),
    }


def _check_out_dir(out: Path) -> None:
    """Fail before any computation if ``--out`` cannot become a writable folder, or holds
    a README.md/index.html that ``reproduce`` did not write (it would overwrite them)."""
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"--out {out}: {existing} exists and is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: {existing} is not writable")
    for page in ("README.md", "index.html"):
        path = out / page
        if path.is_file() and gallery.MARKER not in path.read_text(
                encoding="utf-8", errors="replace")[:400]:
            raise ValueError(f"--out {out}: {path} exists and was not written by psipo-exact "
                             "reproduce; choose another --out")


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
        print(f"wrote {path}", flush=True)
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
    """Sec. 5.4: Figures 1/2 with exact overlays, the final policy against τ, summary.csv and
    summary.md, and the pages README.md and index.html showing them (name → writer)."""
    exp = experiments.run_sampled_experiment(
        settings["figures"], settings["taus"], settings["seeds"], steps=settings["steps"],
        batch_size=settings["batch_size"], lr=settings["lr"], progress=progress)
    from . import plotting

    outputs = {f"figure{figure}.png": _png_writer(plotting.plot_sampled_figure(exp, figure))
               for figure in settings["figures"]}
    outputs["policy_against_tau.png"] = _png_writer(plotting.plot_sampled_against_tau(exp))
    outputs["summary.csv"] = _text_writer(_csv_text(report.summary_columns(exp.rows)))
    summary = report.summary_markdown(exp)
    outputs["summary.md"] = _text_writer(summary)
    captions = gallery.figure_captions(exp.settings)
    outputs["README.md"] = _text_writer(gallery.gallery_markdown(captions, summary))
    outputs["index.html"] = _text_writer(gallery.gallery_html(captions, summary))
    return outputs


def _add_reproduce(sub) -> None:
    p = sub.add_parser(
        "reproduce", help="reproduce the paper's results into --out",
        description="Closed-form results, the Sec. 5.4 figures with their exact limits, the "
        "final policy against tau, summary.csv/summary.md and the pages README.md and "
        "index.html that show them all (open index.html in a browser). All files are "
        "written at the end, all or none.")
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
    from .symbolic import CHECKS, format_check  # sympy is slow to import: only here

    if args.list:
        print("\n".join(CHECKS))
        return 0
    names = list(dict.fromkeys(args.only or CHECKS))
    unknown = [name for name in names if name not in CHECKS]
    if unknown:
        raise _UsageError(f"psipo-exact check: error: --only {unknown[0]!r} is not a check; "
                          f"valid names: {', '.join(CHECKS)}")
    passed = seconds = 0.0
    for name in names:
        check = CHECKS[name]()
        print(format_check(check), flush=True)  # as each finishes, also into a pipe
        passed += check.holds
        seconds += check.seconds
    print(f"{passed:g}/{len(names)} claims hold ({seconds:.1f} s)", flush=True)
    return 0 if passed == len(names) else 1


def _add_check(sub) -> None:
    p = sub.add_parser("check", help="verify the paper's identities symbolically (sympy)",
                       description="Derive each identity of the paper with sympy down to an "
                       "exact 0, printing each line as its check finishes; exit status 1 if "
                       "any fails.")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only this check (repeat for several); see --list")
    p.add_argument("--list", action="store_true", help="list the names of the checks")
    p.set_defaults(func=_cmd_check)


def _cmd_solve(args) -> int:
    import json

    from .files import solution_csv, solve_file

    tau = None
    if args.tau is not None:
        tau = _checks.tau(args.tau[0] if len(args.tau) == 1 else args.tau, "--tau",
                          allow_zero=args.loss == "nash")  # τ = 0: the unregularised game
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in (".json", ".csv"):
        raise ValueError(f"--out {out}: must end in .json or .csv")
    if out is not None:
        _check_out_dir(out.parent)
    options = dict(fmt=args.format, winner=args.winner, loser=args.loser,
                   context=args.context, header=args.header, psi=args.psi,
                   tie_model=args.tie_model, reference=args.reference)
    if args.param:
        options.update(params=_loss_params(args.param))
    if args.bootstrap:
        options.update(bootstrap=args.bootstrap, seed=args.seed, level=args.level)
    result = solve_file(args.file, args.loss, tau, args.pi_ref, **options)
    text = json.dumps(result, indent=2, allow_nan=False)
    print(text)
    if out is not None:
        content = solution_csv(result) if out.suffix.lower() == ".csv" else text + "\n"
        for path in write_files(out.parent, {out.name: _text_writer(content)}):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _reference_arg(value: str):
    return int(value) if value.lstrip("-").isdigit() else value


def _add_solve(sub) -> None:
    from .files import FAMILY, FORMATS, LOSSES

    p = sub.add_parser(
        "solve", help="exact optimum (or its limit) of IPO, DPO or a Bradley-Terry-type fit",
        description="Exact optimum of a comparison file (CSV/TSV with or without a header: "
        "winner,loser[,context][,weight][,tie]; TRL's prompt,chosen,rejected; arena battles "
        "model_a,model_b,winner; or a JSON list) or a JSON preference model {prefs, mu, "
        "pi_ref}; prints JSON, including what was detected ('input'). The file type is read "
        "from the content. For bt/davidson/rao_kupper, 'policy' is softmax(rewards): the "
        "strengths normalised per context, not the optimum of a loss.")
    p.add_argument("file", help="comparisons (CSV/TSV/JSON) or a JSON preference model")
    p.add_argument("--loss", choices=list(LOSSES), required=True, metavar="LOSS",
                   help="ipo (Eq. 17/13), dpo (Eq. 4/5), psipo (Eq. 7 with --psi, models "
                   "only); fits without tau: bt (Eq. 2), davidson, rao_kupper (ties); nash "
                   "(Nash equilibrium of a JSON {prefs, pi_ref} preference game); or any "
                   "loss of the family: " + ", ".join(FAMILY))
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a parameter of a loss of the family, TRL's name (repeatable), e.g. "
                   "label_smoothing=0.1, discopop_tau=0.05, f_divergence_type=js_divergence, "
                   "f_alpha_divergence_coef=0.5; with it, ipo/dpo are the family's "
                   "ipo/sigmoid")
    p.add_argument("--tau", type=float, nargs="+", default=None, metavar="TAU",
                   help="τ > 0, or a grid of them (required for ipo, dpo, psipo); τ >= 0 for "
                   "nash")
    p.add_argument("--psi", default="identity", help="Ψ of --loss psipo (default identity)")
    p.add_argument("--pi-ref", default=None, metavar="FILE",
                   help="JSON list with pi_ref (default: uniform, or the model's pi_ref)")
    p.add_argument("--format", choices=list(FORMATS), default="auto",
                   help="table format (default: detected from the header)")
    p.add_argument("--header", choices=["auto", "yes", "no"], default="auto",
                   help="is the first CSV row a header (default: if it names known columns)")
    p.add_argument("--winner", default=None, help="column of the preferred item")
    p.add_argument("--loser", default=None, help="column of the dispreferred item")
    p.add_argument("--context", default=None, help="column of the contexts (prompts)")
    p.add_argument("--tie-model", default=None, choices=["rao_kupper", "davidson"],
                   help="DPO with ties (DPO-RK / DPO-D, Chen et al. 2024)")
    p.add_argument("--reference", type=_reference_arg, default=None,
                   help="fits: action fixed at reward 0 (default: mean zero)")
    p.add_argument("--bootstrap", type=int, default=0, metavar="B",
                   help="ipo/dpo: B bootstrap resamples for confidence bands of the policy")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--level", type=float, default=0.95, help="bootstrap level (default 0.95)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="also write the result to FILE (.json or .csv, atomically)")
    p.set_defaults(func=_cmd_solve)


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


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help with the description and examples as written, and room for command names."""

    def __init__(self, prog):
        super().__init__(prog, max_help_position=28)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("psipo-exact")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree, not installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The ``psipo-exact`` argument parser.

    Returns
    -------
    argparse.ArgumentParser
        With subcommands ``reproduce``, ``check`` and ``solve``; its errors raise instead of
        exiting, so that :func:`main` prints one line and returns 2.

    References
    ----------
    Azar et al., arXiv:2310.12036: ``reproduce`` covers Sec. 4.2, 5.3.1 and 5.4, ``check``
    the identities of Sec. 4-5 and the appendices, ``solve`` Eq. 2, 4/5 and 13/17.

    Examples
    --------
    >>> from psipo_exact.cli import build_parser
    >>> args = build_parser().parse_args(["solve", "d1.csv", "--loss", "ipo", "--tau", "0.5"])
    >>> args.command, args.file, args.loss, args.tau  # --tau takes one value or a grid
    ('solve', 'd1.csv', 'ipo', [0.5])
    >>> args = build_parser().parse_args(["reproduce", "--figure", "1", "--seeds", "3"])
    >>> args.figure, args.seeds, args.taus
    ([1], 3, [0.01, 0.1, 0.5, 1.0, 2.0, 10.0])
    """
    doc = __doc__.split("\n\nFor developers")[0]
    description = doc.split(":", 1)[1].strip()
    parser = _Parser(prog="psipo-exact", description=description[0].upper() + description[1:],
                     epilog=EPILOG, formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"psipo-exact {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                title="commands")
    _add_reproduce(sub)
    _add_check(sub)
    _add_solve(sub)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that exiting does not try to flush into a closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``psipo-exact``; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 1 when ``check`` finds a claim that fails, 2 on any error (one line on
        stderr), 130 on Ctrl-C (one line, no traceback) and 141 (128 + SIGPIPE) when the reader
        of stdout goes away, as in ``psipo-exact solve ... | head``, silently.

    References
    ----------
    Azar et al., arXiv:2310.12036 (see :func:`build_parser`).

    Examples
    --------
    ``psipo-exact solve`` on D1 prints the exact IPO optimum as JSON:

    >>> import contextlib, io, json, os, tempfile
    >>> import numpy as np
    >>> from psipo_exact.cli import main
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "d1.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("a,b\\nb,c\\na,c\\n")
    >>> out = io.StringIO()
    >>> with contextlib.redirect_stdout(out):
    ...     status = main(["solve", path, "--loss", "ipo", "--tau", "1"])
    >>> status, np.round(json.loads(out.getvalue())["policy"], 4).tolist()
    (0, [0.4484, 0.3213, 0.2302])

    A missing ``--tau`` is an error: one line on stderr and status 2:

    >>> main(["solve", path, "--loss", "ipo"])
    2
    >>> tmp.cleanup()
    """
    try:
        args = build_parser().parse_args(argv)
        status = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handlers below
        return status
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("psipo-exact: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 141
    except (ValueError, TypeError, OSError) as exc:
        message = " ".join(str(exc).split())
        print(f"psipo-exact: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
