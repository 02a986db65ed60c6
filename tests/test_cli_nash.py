"""``psipo-exact solve --loss nash``: the (regularised) Nash equilibrium of a JSON preference
game, τ = 0 allowed; one-line errors with exit status 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

import psipo_exact as px
from psipo_exact.cli import main

RPS = [[0.5, 0.9, 0.2], [0.1, 0.5, 0.8], [0.8, 0.2, 0.5]]


def _run(capsys, *argv):
    code = main(["solve", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path, obj, name="game.json"):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")
    return path


def test_regularised_equilibrium_matches_the_library(tmp_path, capsys):
    ref = [0.5, 0.3, 0.2]
    path = _write(tmp_path, {"prefs": RPS, "pi_ref": ref, "actions": ["r", "p", "s"]})
    code, out, err = _run(capsys, path, "--loss", "nash", "--tau", 0.1)
    assert code == 0 and err == ""
    result = json.loads(out)
    np.testing.assert_allclose(result["policy"], px.solve_nash(RPS, ref, 0.1).policy,
                               rtol=1e-15)
    assert result["actions"] == ["r", "p", "s"] and result["exploitability"] <= 1e-12


def test_tau_zero_non_unique_names_the_free_actions(tmp_path, capsys):
    """Rock cloned: the two rocks share 0.3 freely; the file's πref splits it 1:3."""
    prefs = np.array(RPS)[np.ix_([0, 0, 1, 2], [0, 0, 1, 2])]
    path = _write(tmp_path, {"prefs": prefs.tolist(), "pi_ref": [0.1, 0.3, 0.3, 0.3],
                             "actions": ["rock", "stone", "paper", "scissors"]})
    code, out, _ = _run(capsys, path, "--loss", "nash", "--tau", 0)
    result = json.loads(out)
    assert code == 0 and result["unique"] is False
    assert result["free"] == [["rock"], ["stone"]]
    np.testing.assert_allclose(result["policy"], [0.075, 0.225, 0.3, 0.4], atol=1e-12)
    assert "game value 0.5" in result["message"]


@pytest.mark.parametrize("obj, argv, fragment", [
    ({"prefs": RPS}, ["--tau", -1], "--tau = -1.0, must be >= 0"),
    ({"prefs": RPS}, [], "--tau is required for --loss nash"),
    ({"mu": [1.0]}, ["--tau", 1], "needs a JSON object with 'prefs'"),
    ({"prefs": [[0.5, 0.9], [0.2, 0.5]]}, ["--tau", 1], "game.json: prefs[0, 1] + prefs[1, 0]"),
    ({"prefs": RPS, "pi_ref": [0.5, 0.5]}, ["--tau", 1], "pi_ref has 2 actions"),
    ("[[0, 1]]", ["--tau", 1], "needs a JSON object with 'prefs'"),
])
def test_bad_game_files_one_line_exit_2(tmp_path, capsys, obj, argv, fragment):
    path = _write(tmp_path, obj)
    code, out, err = _run(capsys, path, "--loss", "nash", *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and fragment in err
