"""``psipo-exact solve --loss NAME --param NAME=VALUE`` for every loss of the family."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import psipo_exact as px
from psipo_exact import losses
from psipo_exact.cli import main

D1 = "winner,loser\na,b\nb,c\na,c\n"


def _run(capsys, *argv):
    code = main(["solve", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", losses.PAIRWISE_LOSSES)
def test_every_loss_solves_from_the_command_line(name, tmp_path, capsys):
    path = tmp_path / "d1.csv"
    path.write_text(D1, encoding="utf-8")
    params = {"robust": 0.1, "cdpo": 0.1, "exo_pair": 0.01}
    extra = ["--param", f"label_smoothing={params[name]}"] if name in params else []
    code, out, err = _run(capsys, path, "--loss", name, "--tau", 0.5, *extra)
    assert code == 0 and err == ""
    result = json.loads(out)
    kwargs = {"label_smoothing": params[name]} if name in params else {}
    sol = px.solve_pairwise_empirical(name, px.paper_dataset("D1"), np.ones(3) / 3, 0.5,
                                      **kwargs)
    np.testing.assert_allclose(result["policy"], sol.policy, rtol=1e-12, atol=1e-300)
    if name != "ipo":  # "ipo" without parameters is the paper's solver (Eq. 17), same policy
        assert result["status"] == sol.status and result["message"] == sol.message
        assert result["params"] == kwargs


def test_population_model_with_f_divergence_and_alias(tmp_path, capsys):
    prefs = [[0.5, 0.8], [0.2, 0.5]]
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"prefs": prefs, "mu": [0.5, 0.5]}), encoding="utf-8")
    code, out, _ = _run(capsys, path, "--loss", "dpo", "--tau", 2,
                        "--param", "f_divergence_type=js_divergence")
    assert code == 0
    sol = px.solve_pairwise_population("sigmoid", prefs, [0.5, 0.5], [0.5, 0.5], 2.0,
                                       f_divergence_type="js_divergence")
    np.testing.assert_allclose(json.loads(out)["policy"], sol.policy, rtol=1e-12)


@pytest.mark.parametrize("argv, match", [
    (["--loss", "kto", "--tau", "1"], r"invalid choice: 'kto' \(choose from 'ipo', 'dpo', "
                                      r"'psipo', 'bt', .*'nash', 'sigmoid', .*'slic'\)"),
    (["--loss", "robust", "--tau", "1", "--param", "label_smoothing=0.7"],
     r"label_smoothing = 0.7, must be in \[0.0, 0.5\)"),
    (["--loss", "hinge", "--tau", "1", "--param", "label_smoothing"], r"expected NAME=VALUE"),
    (["--loss", "hinge", "--tau", "1", "--param", "beta=2"], r"unknown parameter 'beta'"),
    (["--loss", "discopop", "--tau", "1", "--param", "discopop_tau=-1"],
     r"discopop_tau = -1.0, must be in"),
])
def test_bad_loss_or_parameter_is_one_line_exit_2(argv, match, tmp_path, capsys):
    path = tmp_path / "d1.csv"
    path.write_text(D1, encoding="utf-8")
    code, out, err = _run(capsys, path, *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert re.search(match, err)
