"""Mutation score of `make mutation`, read from mutmut's results in mutants/.

Usage: ``python scripts/mutation_score.py PATTERN...`` (fnmatch patterns of mutant names, as
given to ``mutmut run``), or ``--sample K [PATTERN...]``: only the mutants whose name hashes
(CRC-32) to 0 modulo K, a deterministic sample of one mutant in K that does not depend on
the tests (the interval printed for a sample holds only once all of it is checked: mutmut
runs the cheapest mutants first). ``--list`` prints the names instead of the score (the
Makefile passes them to ``mutmut run``). Prints the counts per module and in total, and the score

    killed / (total - not checked)

where ``killed`` counts the mutants a test failed on; timeouts are reported apart and counted
as NOT killed in the score (a second line gives the score with them counted as killed);
"no tests" (no selected test calls the mutated function) count as surviving. Outside
`make test`; docs/mutation.md explains the counts.

The triage of the surviving mutants is ``docs/mutation_triage.tsv`` (name, verdict, reason;
``--triage FILE`` for another): a second score leaves out the survivors triaged
``equivalent`` (no input can tell them from the original: the usual definition of the
mutation score), and the survivors without a triage entry are listed.
"""

import fnmatch
import json
import math
import sys
import zlib
from collections import Counter
from pathlib import Path

STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests",
          36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout",
          None: "not checked", 37: "killed"}


def mutants(patterns, sample):
    """(name, exit code) of every generated mutant matching a pattern and in the sample."""
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        for key, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if any(fnmatch.fnmatch(key, p) for p in patterns) and \
                    zlib.crc32(key.encode()) % sample == 0:
                yield key, code


TRIAGE = Path(__file__).resolve().parent.parent / "docs" / "mutation_triage.tsv"


def triage(path):
    """{mutant name: verdict} of the triage table (tab-separated; '#' starts a comment)."""
    verdicts = {}
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, verdict, _reason = line.split("\t")
            verdicts[name] = verdict
    return verdicts


def main(patterns, sample=1, listing=False, triage_path=TRIAGE):
    if listing:
        print("\n".join(key for key, _ in mutants(patterns, sample)))
        return
    verdicts = triage(triage_path) if Path(triage_path).exists() else {}
    per_module, survivors = {}, []
    for key, code in mutants(patterns, sample):
        if STATUS.get(code) in ("survived", "timeout", "no tests"):
            survivors.append(key)
        module = key.partition("__mutmut_")[0].rpartition(".")[0]
        per_module.setdefault(module, Counter())[STATUS.get(code, "suspicious")] += 1
    total = Counter()
    cols = ("killed", "survived", "timeout", "no tests", "suspicious", "not checked")
    print(f"{'module':45s}" + "".join(f"{c:>12s}" for c in cols) + f"{'total':>8s}")
    for module, c in per_module.items():
        total += c
        print(f"{module:45s}" + "".join(f"{c[k]:12d}" for k in cols) + f"{sum(c.values()):8d}")
    print(f"{'TOTAL':45s}" + "".join(f"{total[k]:12d}" for k in cols)
          + f"{sum(total.values()):8d}")
    checked = sum(total.values()) - total["not checked"]
    if checked:
        p = total["killed"] / checked
        half = 1.96 * math.sqrt(p * (1 - p) / checked)  # normal approximation
        print(f"score: {total['killed']}/{checked} = {100 * p:.1f}% (timeouts as not killed)"
              + (f", 95% interval for all mutants ±{100 * half:.1f} points"
                 if sample > 1 and not total["not checked"] else "")
              + f"; {100 * (total['killed'] + total['timeout']) / checked:.1f}% with timeouts "
              "as killed")
        report_triage(survivors, verdicts, total["killed"], checked)


def report_triage(survivors, verdicts, killed, checked):
    """Survivors by verdict, the score without the equivalent ones, and the untriaged."""
    by_verdict = Counter(verdicts.get(key, "untriaged") for key in survivors)
    print("survivors by triage verdict: "
          + ", ".join(f"{v} {c}" for v, c in sorted(by_verdict.items())))
    equivalent = by_verdict["equivalent"]
    if checked > equivalent:
        print(f"score without the {equivalent} equivalent mutants: {killed}/"
              f"{checked - equivalent} = {100 * killed / (checked - equivalent):.1f}%")
    for key in survivors:
        if key not in verdicts:
            print(f"  untriaged: {key}")


if __name__ == "__main__":
    args = sys.argv[1:]
    listing = "--list" in args
    args = [a for a in args if a != "--list"]
    k, table = 1, TRIAGE
    if args[:1] == ["--sample"]:
        k, args = int(args[1]), args[2:]
    if args[:1] == ["--triage"]:
        table, args = args[1], args[2:]
    main(args or ["*"], k, listing, table)
