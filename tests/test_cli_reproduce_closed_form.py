"""The closed-form part of ``psipo-exact reproduce`` (Sec. 4.2 / 5.3.1): files, CSV contents,
PNG signature, and the error contract (exit 2, one stderr line, no output file)."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from psipo_exact import cli, experiments

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLUMNS = ["tau", "ipo_pi_y1", "ipo_pi_y2", "logit_pi_y1", "logit_pi_y2", "ipo_sigmoid"]


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    status = cli.main(["reproduce", "--out", str(out)])
    return status, out


def test_reproduce_writes_closed_form_csv_and_png(reproduced, capsys):
    status, out = reproduced
    assert status == 0
    assert (out / "closed_form.csv").is_file()
    png = (out / "closed_form.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # atomic writes leave no temporary files


def test_reproduce_csv_parses_and_matches_paper(reproduced):
    _, out = reproduced
    with open(out / "closed_form.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == COLUMNS
    assert len(rows) == len(experiments.DEFAULT_SWEEP_TAUS)
    for row in rows:
        values = {k: float(v) for k, v in row.items()}
        tau = values["tau"]
        sigma = 1 / (1 + math.exp(-0.5 / tau))  # Sec. 5.3.1, computed here independently
        assert values["ipo_pi_y1"] == pytest.approx(sigma, rel=1e-13)
        assert values["ipo_pi_y2"] == pytest.approx(1 - sigma, rel=1e-9, abs=1e-15)
        assert values["ipo_sigmoid"] == pytest.approx(sigma, rel=1e-13)
        assert values["logit_pi_y1"] == 1.0 and values["logit_pi_y2"] == 0.0  # Sec. 4.2
    taus = [float(r["tau"]) for r in rows]
    assert taus == sorted(taus)
    assert taus[0] == pytest.approx(1e-2) and taus[-1] == pytest.approx(1e2)


def _run(args, cwd):
    """Run the installed console script in a subprocess (the user's view)."""
    exe = Path(sys.executable).with_name("psipo-exact")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "psipo_exact.cli"]
    return subprocess.run(cmd + args, cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MPLBACKEND": "Agg"})


@pytest.mark.parametrize("args", [
    ["reproduce", "--bogus"],
    ["reproduce", "--out"],
    ["reproduce", "--out", "results", "extra"],
    ["reproduce-all"],
    [],
])
def test_bad_arguments_exit_2_with_one_stderr_line_and_no_output(tmp_path, args):
    proc = _run(args, tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("psipo-exact")
    assert "error" in lines[0]
    assert proc.stdout == ""
    assert list(tmp_path.iterdir()) == []  # nothing written, not even results/


def test_unwritable_output_directory_exits_2_with_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = _run(["reproduce", "--out", str(blocker / "sub")], tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("psipo-exact: error:")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_failure_while_plotting_leaves_no_png(tmp_path, monkeypatch, capsys):
    """An error in the middle of a run is one stderr line, exit 2, no half-written PNG."""
    from psipo_exact import plotting

    def broken(sweep):
        raise ValueError("plot failed: sweep has no tau column")

    monkeypatch.setattr(plotting, "plot_closed_form_sweep", broken)
    status = cli.main(["reproduce", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.strip().splitlines() == ["psipo-exact: error: plot failed: sweep has no tau column"]
    assert not (tmp_path / "closed_form.png").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
