"""Tests of ``psipo-exact reproduce`` for the Sec. 5.4 figures (arXiv:2310.12036)."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from psipo_exact.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FAST = ["--steps", "120", "--seeds", "2", "--no-progress"]


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_reproduce_writes_figures_and_summaries(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["reproduce", "--out", str(out), "--taus", "0.5", "2", *FAST]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"figure1.png", "figure2.png", "summary.csv", "summary.md", "closed_form.csv",
            "closed_form.png"} <= names
    assert not [n for n in names if n.startswith(".")]      # no temporary files left
    for png in ("figure1.png", "figure2.png"):
        assert (out / png).read_bytes()[:8] == PNG_SIGNATURE
    rows = _rows(out / "summary.csv")
    assert {"dataset", "loss", "tau", "mean_a", "ci95_a", "exact_a", "mean_c", "exact_c",
            "distance", "reached", "exact_exists"} <= set(rows[0])
    keys = {(r["dataset"], r["loss"], float(r["tau"])) for r in rows}
    assert keys == {(d, loss, t) for d in ("D1", "D3", "D3_never_wins")
                    for loss in ("dpo", "ipo") for t in (0.5, 2.0)}
    assert len(rows) == 12
    for r in rows:
        total = float(r["mean_a"]) + float(r["mean_b"]) + float(r["mean_c"])
        assert total == pytest.approx(1.0)
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "readings of D3" in md and "120 steps" in md
    assert "wrote" in capsys.readouterr().out


def test_reproduce_single_figure(tmp_path):
    out = tmp_path / "one"
    assert main(["reproduce", "--out", str(out), "--figure", "1", "--taus", "1",
                 "--batch-size", "3", "--lr", "0.05", *FAST]) == 0
    assert (out / "figure1.png").exists() and not (out / "figure2.png").exists()
    rows = _rows(out / "summary.csv")
    assert {r["dataset"] for r in rows} == {"D1"} and len(rows) == 2
    assert "lr 0.05" in (out / "summary.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("bad", [
    ["--steps", "-5"], ["--steps", "0"], ["--taus", "0"], ["--taus", "1", "-0.5"],
    ["--taus", "nan"], ["--taus", "inf"], ["--figure", "3"], ["--figure", "x"],
    ["--seeds", "0"], ["--batch-size", "0"], ["--lr", "0"], ["--lr", "-1"],
    ["--steps", "1.5"],
])
def test_bad_arguments_exit_2_without_output(tmp_path, capsys, bad):
    out = tmp_path / "never"
    assert main(["reproduce", "--out", str(out), *bad]) == 2
    err = capsys.readouterr().err
    assert err.strip() and len(err.strip().splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())


def test_one_seed_reports_no_interval(tmp_path):
    """One seed gives no confidence interval: ``inf`` in the CSV, ``n/a`` in the markdown,
    no band in the figure (and no NaN or warning anywhere)."""
    out = tmp_path / "one_seed"
    assert main(["reproduce", "--out", str(out), "--figure", "2", "--taus", "0.5", "2",
                 "--steps", "60", "--seeds", "1", "--no-progress"]) == 0
    rows = _rows(out / "summary.csv")
    assert {r["ci95_a"] for r in rows} == {"inf"}
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "± n/a" in md and "± inf" not in md and "nan" not in md
    assert (out / "figure2.png").read_bytes()[:8] == PNG_SIGNATURE


def test_failure_during_the_sampled_run_leaves_no_files(tmp_path, capsys, monkeypatch):
    """The long computation runs before any file is written: an error in it leaves nothing."""
    from psipo_exact import experiments

    def fail(*args, **kwargs):
        raise ValueError("simulated failure")

    monkeypatch.setattr(experiments, "run_sampled_experiment", fail)
    out = tmp_path / "never"
    assert main(["reproduce", "--out", str(out), *FAST]) == 2
    assert "simulated failure" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_console_script_bad_argument_exit_status(tmp_path):
    out = tmp_path / "never"
    proc = subprocess.run([sys.executable, "-m", "psipo_exact.cli", "reproduce", "--out",
                           str(out), "--taus", "-1"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "--taus" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()
