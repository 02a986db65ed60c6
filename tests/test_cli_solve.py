"""Tests of ``psipo-exact solve``: JSON/CSV comparisons and preference models, every loss,
and one-line errors with exit status 2 on malformed input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from psipo_exact.cli import main
from psipo_exact.closed_form import psipo_policy


def _run(capsys, *argv):
    code = main(["solve", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_names_ipo_d1(tmp_path, capsys):
    """D1 with names and a header: IPO gives s_a − s_b = s_b − s_c = 1/(3τ)."""
    path = _write(tmp_path, "d1.csv", "winner,loser\na,b\nb,c\n\na,c\n")
    code, out, err = _run(capsys, path, "--loss", "ipo", "--tau", 0.5)
    assert code == 0 and err == ""
    result = json.loads(out)
    assert result["actions"] == ["a", "b", "c"]
    np.testing.assert_allclose(np.diff(result["logits"]), [-2 / 3, -2 / 3], rtol=1e-12)
    assert result["exists"] and result["unique"] and result["free"] == []


def test_json_dpo_limit_with_declared_actions(tmp_path, capsys):
    """D3_never_wins with a never-compared fourth action d declared: b, c → 0 and d's
    mass stays free relative to a."""
    path = _write(tmp_path, "d.json", json.dumps(
        {"actions": ["a", "b", "c", "d"], "comparisons": [["a", "b"], ["b", "c"]]}))
    code, out, _ = _run(capsys, path, "--loss", "dpo", "--tau", 1)
    result = json.loads(out)
    assert code == 0
    assert result["exists"] is False and result["unique"] is False
    assert result["free"] == [["a"], ["d"]]
    assert result["policy"][1:3] == [0.0, 0.0] and result["logits"][1] is None
    assert "no finite minimiser" in result["message"]


def test_json_objects_with_contexts_and_pi_ref_bt(tmp_path, capsys):
    items = [{"winner": 0, "loser": 1, "context": 0}, {"winner": 1, "loser": 0, "context": 0},
             {"winner": 0, "loser": 1, "context": 0}, {"winner": 1, "loser": 0, "context": 1}]
    path = _write(tmp_path, "ctx.json", json.dumps(items))
    code, out, _ = _run(capsys, path, "--loss", "bt")
    result = json.loads(out)
    assert code == 0 and result["tau"] is None
    np.testing.assert_allclose(result["rewards"][0], [np.log(2) / 2, -np.log(2) / 2])
    assert result["rewards"][1] == [None, 0.0] and result["exists"] is False  # 1 beats 0
    ref = _write(tmp_path, "ref.json", json.dumps([[0.5, 0.5], [0.25, 0.75]]))
    code, out, _ = _run(capsys, path, "--loss", "dpo", "--tau", 2, "--pi-ref", ref)
    assert code == 0
    np.testing.assert_allclose(json.loads(out)["policy"][0],
                               [2**0.5 / (1 + 2**0.5), 1 / (1 + 2**0.5)])


def test_preference_model_ipo(tmp_path, capsys):
    prefs = [[0.5, 0.9, 0.2], [0.1, 0.5, 0.7], [0.8, 0.3, 0.5]]
    mu, pi_ref = [0.2, 0.3, 0.5], [0.5, 0.25, 0.25]
    path = _write(tmp_path, "model.json", json.dumps({"prefs": prefs, "mu": mu,
                                                      "pi_ref": pi_ref}))
    code, out, _ = _run(capsys, path, "--loss", "ipo", "--tau", 0.3)
    assert code == 0
    np.testing.assert_allclose(json.loads(out)["policy"],
                               psipo_policy(prefs, mu, pi_ref, 0.3), rtol=1e-12)


@pytest.mark.parametrize("name, text, argv, fragment", [
    ("bad.csv", "a,b\nb,c\nc,a\nx\n", ["--loss", "ipo", "--tau", "1"],
     "bad.csv line 4: expected 2 or 3 columns, got 1"),
    ("empty.csv", "winner,loser\n", ["--loss", "bt"], "empty.csv: no comparisons"),
    ("bad.json", "[[0, 1], [1", ["--loss", "bt"], "bad.json line 1 column 12: invalid JSON"),
    ("item.json", "[[0, 1], [1, 2, 3, 4]]", ["--loss", "bt"], "item.json item 1: expected"),
    ("names.json", '{"actions": ["a", "b"], "comparisons": [["a", "z"]]}', ["--loss", "bt"],
     "unknown action 'z'"),
    ("d.csv", "0,1\n1,2\n", ["--loss", "ipo"], "--tau is required for --loss ipo"),
    ("t.csv", "0,1\n1,2\n", ["--loss", "ipo", "--tau", "-1"], "tau = -1.0, must be > 0"),
    ("same.csv", "0,0\n", ["--loss", "bt"], "cannot be compared with itself"),
    ("empty.json", "", ["--loss", "bt"], "empty.json: no comparisons"),
    ("nan.csv", "0,1\n", ["--loss", "ipo", "--tau", "nan"], "tau is NaN"),
    ("word.csv", "0,1\n", ["--loss", "ipo", "--tau", "abc"], "--tau: invalid float value"),
    ("nomu.json", '{"prefs": [[0.5, 0.5], [0.5, 0.5]]}', ["--loss", "bt"],
     "nomu.json: a preference model needs 'mu'"),
    ("scalar.json", '{"prefs": 0.5, "mu": [1]}', ["--loss", "bt"],
     "scalar.json: prefs must have at least 2 axes"),
    ("text.json", '{"prefs": "abc", "mu": [1]}', ["--loss", "bt"],
     "text.json: prefs must be a numeric array"),
    ("nullmu.json", '{"prefs": [[0.5, 0.5], [0.5, 0.5]], "mu": null}', ["--loss", "bt"],
     "nullmu.json: mu must be a numeric array"),
    ("acts.json", '{"prefs": [[0.5, 0.5], [0.5, 0.5]], "mu": [0.5, 0.5], "actions": 3}',
     ["--loss", "bt"], "acts.json: 'actions' must be a list of names"),
])
def test_malformed_input_one_line_exit_2(tmp_path, capsys, name, text, argv, fragment):
    path = _write(tmp_path, name, text)
    code, out, err = _run(capsys, path, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err


def test_action_outside_pi_ref_and_missing_file(tmp_path, capsys):
    path = _write(tmp_path, "d.csv", "0,1\n1,3\n")
    ref = _write(tmp_path, "ref.json", "[0.25, 0.25, 0.5]")
    code, _, err = _run(capsys, path, "--loss", "ipo", "--tau", 1, "--pi-ref", ref)
    assert code == 2 and "action 3 is not in pi_ref, which has 3 actions" in err
    code, _, err = _run(capsys, tmp_path / "missing.csv", "--loss", "bt")
    assert code == 2 and err.count("\n") == 1


@pytest.mark.parametrize("text, fragment", [
    ('{"a": 1}', "ref.json: pi_ref must be a numeric array"),
    ('[0.5, "x", 0.5]', "ref.json: pi_ref must be a numeric array"),
    ("[0.5, 0.6, 0.5]", "ref.json: pi_ref[:] sums to 1.6"),
    ("0.5", "ref.json: pi_ref must have at least 1 axes"),
])
def test_malformed_pi_ref_file(tmp_path, capsys, text, fragment):
    path = _write(tmp_path, "d.csv", "0,1\n1,2\n")
    ref = _write(tmp_path, "ref.json", text)
    code, out, err = _run(capsys, path, "--loss", "dpo", "--tau", 1, "--pi-ref", ref)
    assert code == 2 and out == "" and err.count("\n") == 1 and fragment in err


def test_subprocess_entry_point(tmp_path):
    path = _write(tmp_path, "d.csv", "a,b\nb,a\n")
    done = subprocess.run([sys.executable, "-m", "psipo_exact.cli", "solve", str(path),
                           "--loss", "dpo", "--tau", "1"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["policy"] == pytest.approx([0.5, 0.5])
    bad = _write(tmp_path, "bad.csv", "a\n")
    done = subprocess.run([sys.executable, "-m", "psipo_exact.cli", "solve", str(bad),
                           "--loss", "bt"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1


@pytest.mark.parametrize("loss", ["dpo", "bt"])
def test_preference_model_dpo_and_bt_deterministic(tmp_path, capsys, loss):
    """Sec. 4.2: p(y1 ≻ y2) = 1 has no finite BT/DPO optimum; y2's reward → −∞ (null)."""
    path = _write(tmp_path, "det.json", json.dumps(
        {"prefs": [[0.5, 1.0], [0.0, 0.5]], "mu": [0.5, 0.5], "actions": ["y1", "y2"]}))
    code, out, _ = _run(capsys, path, "--loss", loss, *(["--tau", 0.1] if loss == "dpo" else []))
    result = json.loads(out)
    assert code == 0 and result["exists"] is False and result["policy"] == [1.0, 0.0]
    assert result["logits"][1] is None and result["actions"] == ["y1", "y2"]
