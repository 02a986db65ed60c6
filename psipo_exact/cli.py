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
import sys
from pathlib import Path

from . import experiments, plotting
from ._io import write_text


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are a single line on stderr with exit status 2."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message}")


class _UsageError(Exception):
    pass


def _csv_text(columns: dict) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    names = list(columns)
    writer.writerow(names)
    for row in zip(*(columns[k] for k in names)):
        writer.writerow([repr(float(v)) for v in row])
    return buf.getvalue()


def _reproduce_closed_form(out: Path) -> list[Path]:
    """Sec. 4.2 / 5.3.1: the closed-form τ sweep as CSV and PNG."""
    sweep = experiments.closed_form_sweep()
    csv_path = write_text(out / "closed_form.csv", _csv_text(sweep))
    png_path = out / "closed_form.png"
    plotting.save_figure(plotting.plot_closed_form_sweep(sweep), png_path)
    return [csv_path, png_path]


def _cmd_reproduce(args) -> int:
    out = Path(args.out)
    written = _reproduce_closed_form(out)
    for path in written:
        print(f"wrote {path}")
    return 0


def _add_reproduce(sub) -> None:
    p = sub.add_parser("reproduce", help="reproduce the paper's results into --out")
    p.add_argument("--out", default="results", help="output directory (default: results/)")
    p.set_defaults(func=_cmd_reproduce)


def _cmd_check(args) -> int:
    from .symbolic import format_checks, verify_all  # sympy is slow to import: only here

    checks = verify_all()
    print(format_checks(checks))
    return 0 if all(c.holds for c in checks) else 1


def _add_check(sub) -> None:
    p = sub.add_parser("check", help="verify the paper's identities symbolically (sympy)")
    p.set_defaults(func=_cmd_check)


def build_parser() -> argparse.ArgumentParser:
    """The ``psipo-exact`` argument parser."""
    parser = _Parser(prog="psipo-exact", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_reproduce(sub)
    _add_check(sub)
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
