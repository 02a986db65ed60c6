"""The defects of issue 12 in ``psipo-exact solve`` (each test failed before the fix), and
the new inputs and outputs: header detection, formats, τ grids, Ψ, ties, --out."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

import psipo_exact as px
from psipo_exact.cli import main


def _run(capsys, *argv):
    code = main(["solve", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _ok(capsys, *argv):
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    return json.loads(out)


def _error(capsys, *argv):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1, (code, out, err)
    return err


def test_trl_header_is_detected_not_read_as_a_comparison(tmp_path, capsys):
    path = _write(tmp_path, "h.csv", "chosen,rejected\na,b\nb,c\n")
    result = _ok(capsys, path, "--loss", "ipo", "--tau", 1)
    assert result["actions"] == ["a", "b", "c"]
    assert result["input"]["format"] == "trl" and result["input"]["header"] == [
        "chosen", "rejected"]
    assert result["input"]["winner"] == "chosen" and result["input"]["loser"] == "rejected"


def test_any_header_named_by_options(tmp_path, capsys):
    path = _write(tmp_path, "h.csv", "better,worse,q\na,b,x\nb,c,y\n")
    err = _error(capsys, path, "--loss", "bt")
    assert "h.csv line 1 column 1: 'better' mixes" not in err  # not read as data silently
    result = _ok(capsys, path, "--loss", "ipo", "--tau", 1, "--winner", "better", "--loser",
                 "worse", "--context", "q")
    assert result["actions"] == ["a", "b", "c"] and result["contexts"] == ["x", "y"]


def test_prompt_chosen_rejected_contexts_are_prompts(tmp_path, capsys):
    path = _write(tmp_path, "trl.csv",
                  "prompt,chosen,rejected\nq1,a,b\nq1,b,c\nq2,c,a\n")
    result = _ok(capsys, path, "--loss", "ipo", "--tau", 0.5)
    assert result["contexts"] == ["q1", "q2"] and result["actions"] == ["a", "b", "c"]
    assert np.shape(result["policy"]) == (2, 3)


@pytest.mark.parametrize("text, fragment", [
    ("0,1\nnan,1\n", "line 2 column 1: missing value 'nan'"),
    ("a,b\nb,\n", "line 2 column 2: missing value ''"),
    ("0,1\n1,7\n", "line 2 column 2: action id 7, but ids [2, 3, 4, 5, 6] never occur"),
    ("0,1\n-1,0\n", "line 2 column 1: action id -1, must be >= 0"),
    ("0,1\n1,a\n", "line 2 column 2: 'a' mixes integer ids and names"),
    ("winner,loser\na,b\nb,b\n", "line 3: winner = loser = 'b'"),
    ("model_a,model_b,winner\nx,y,model_c\n", "line 2 column 3 (winner): 'model_c', must be"),
])
def test_malformed_cells_name_line_and_column(tmp_path, capsys, text, fragment):
    path = _write(tmp_path, "d.csv", text)
    assert fragment in _error(capsys, path, "--loss", "ipo", "--tau", 1)


def test_out_of_range_id_against_pi_ref(tmp_path, capsys):
    path = _write(tmp_path, "d.csv", "0,1\n1,3\n")
    ref = _write(tmp_path, "ref.json", "[0.25, 0.25, 0.5]")
    err = _error(capsys, path, "--loss", "ipo", "--tau", 1, "--pi-ref", ref)
    assert "d.csv line 2 column 2: action 3 is not in pi_ref, which has 3 actions" in err


def test_integer_contexts_are_names_and_kept(tmp_path, capsys):
    path = _write(tmp_path, "c.csv", "0,1,5\n1,2,5\n0,2,5\n")
    result = _ok(capsys, path, "--loss", "ipo", "--tau", 1)
    assert result["contexts"] == ["5"] and np.shape(result["policy"]) == (1, 3)
    assert result["unique"] and result["free"] == []
    path = _write(tmp_path, "c2.csv", "a,b,x\nc,d,y\nb,a,y\n")
    result = _ok(capsys, path, "--loss", "ipo", "--tau", 1)
    assert result["free"][0][0][0] in ("x", "y")  # free groups name their context


@pytest.mark.parametrize("name, text", [
    ("d.txt", "a,b\nb,c\n"), ("d.tsv", "a\tb\nb\tc\n"), ("d.csv", '[["a", "b"], ["b", "c"]]'),
    ("d.dat", "winner\tloser\na\tb\nb\tc\n"),
])
def test_file_type_from_content_not_extension(tmp_path, capsys, name, text):
    result = _ok(capsys, _write(tmp_path, name, text), "--loss", "ipo", "--tau", 1)
    assert result["actions"] == ["a", "b", "c"]


def test_decode_error_names_file_and_line(tmp_path, capsys):
    path = _write(tmp_path, "bad.csv", b"a,b\n\xff,c\n")
    assert "bad.csv line 2: not UTF-8 text" in _error(capsys, path, "--loss", "bt")


def test_bt_rejects_tau_and_documents_policy(tmp_path, capsys):
    path = _write(tmp_path, "d.csv", "a,b\nb,a\na,b\n")
    assert "remove --tau" in _error(capsys, path, "--loss", "bt", "--tau", 1)
    result = _ok(capsys, path, "--loss", "bt", "--reference", "b")
    assert "softmax(rewards)" in result["policy_meaning"] and result["tau"] is None
    assert result["rewards"] == pytest.approx([np.log(2), 0.0])
    assert result["stderr"] == pytest.approx([np.sqrt(1.5), 0.0])
    assert result["loglik"] == pytest.approx(2 * np.log(2 / 3) + np.log(1 / 3))


def test_preference_model_in_population_solvers():
    model = px.PreferenceModel([[0.5, 0.8], [0.2, 0.5]], [0.5, 0.5], [0.3, 0.7])
    for solve in (px.solve_ipo_population, px.solve_dpo_population):
        np.testing.assert_array_equal(solve(model, 0.7).policy,
                                      solve(model.prefs, model.mu, model.pi_ref, 0.7).policy)
        np.testing.assert_array_equal(solve(model, tau=0.7).policy, solve(model, 0.7).policy)
    np.testing.assert_array_equal(px.fit_bradley_terry(model).rewards,
                                  px.fit_bradley_terry(model.prefs, model.mu).rewards)
    with pytest.raises(TypeError, match="pi_ref comes from the model"):
        px.solve_ipo_population(model, [0.5, 0.5], [0.5, 0.5], 1.0)


def test_arena_battles_with_ties(tmp_path, capsys):
    path = _write(tmp_path, "arena.csv", "model_a,model_b,winner\nx,y,model_a\ny,x,model_a\n"
                  "x,y,tie\ny,z,model_b\nz,y,tie (bothbad)\nx,z,model_a\nz,x,model_a\n")
    result = _ok(capsys, path, "--loss", "ipo", "--tau", 1)
    assert result["input"]["format"] == "arena" and result["actions"] == ["x", "y", "z"]
    assert "tie_model='rao_kupper'" in _error(capsys, path, "--loss", "dpo", "--tau", 1)
    assert "fit_davidson" in _error(capsys, path, "--loss", "bt")
    fit = _ok(capsys, path, "--loss", "davidson")
    assert fit["tie_model"] == "davidson" and fit["tie_parameter"] > 0
    dpo = _ok(capsys, path, "--loss", "dpo", "--tau", 1, "--tie-model", "davidson")
    assert dpo["policy"] == pytest.approx(px.rlhf_policy(fit["rewards"], np.ones(3) / 3, 1.0))


def test_tau_grid_and_psi(tmp_path, capsys):
    path = _write(tmp_path, "d.csv", "a,b\nb,c\na,c\nc,a\n")
    grid = _ok(capsys, path, "--loss", "ipo", "--tau", 0.5, 2)
    assert np.shape(grid["policy"]) == (2, 3)
    for k, tau in enumerate((0.5, 2)):
        single = _ok(capsys, path, "--loss", "ipo", "--tau", tau)
        assert grid["policy"][k] == pytest.approx(single["policy"], rel=1e-12)
    model = _write(tmp_path, "m.json", json.dumps(
        {"prefs": [[0.5, 0.9], [0.1, 0.5]], "mu": [0.5, 0.5], "pi_ref": [0.5, 0.5]}))
    out = _ok(capsys, model, "--loss", "psipo", "--psi", "logit", "--tau", 1, 3)
    np.testing.assert_allclose(out["policy"], px.psipo_policy(
        [[0.5, 0.9], [0.1, 0.5]], [0.5, 0.5], [0.5, 0.5], np.array([1.0, 3.0]), "logit"))
    assert "--psi applies to --loss psipo" in _error(capsys, path, "--loss", "ipo", "--tau",
                                                     1, "--psi", "logit")


def test_out_csv_and_json_atomic(tmp_path, capsys):
    path = _write(tmp_path, "d.csv", "prompt,chosen,rejected\nq,a,b\nq,b,c\n")
    target = tmp_path / "res" / "out.csv"
    code, out, err = _run(capsys, path, "--loss", "ipo", "--tau", 1, 2, "--out", target)
    assert code == 0 and "wrote" in err
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [r["action"] for r in rows[:3]] == ["a", "b", "c"] and rows[0]["context"] == "q"
    assert {r["tau"] for r in rows} == {"1.0", "2.0"}
    assert float(rows[0]["policy"]) == pytest.approx(json.loads(out)["policy"][0][0][0])
    target = tmp_path / "out.json"
    _run(capsys, path, "--loss", "ipo", "--tau", 1, "--out", target)
    assert json.loads(target.read_text())["actions"] == ["a", "b", "c"]
    missing = tmp_path / "never.json"
    code, _, _ = _run(capsys, tmp_path / "nope.csv", "--loss", "bt", "--out", missing)
    assert code == 2 and not missing.exists()


def test_bootstrap_bands(tmp_path, capsys):
    path = _write(tmp_path, "d.csv", "winner,loser,weight\na,b,30\nb,a,10\nb,c,25\nc,b,15\n"
                  "a,c,20\nc,a,5\n")
    result = _ok(capsys, path, "--loss", "dpo", "--tau", 1, "--bootstrap", 50, "--seed", 4)
    data = px.Dataset.from_pairs([("a", "b"), ("b", "a"), ("b", "c"), ("c", "b"), ("a", "c"),
                                  ("c", "a")], weights=[30, 10, 25, 15, 20, 5])
    from psipo_exact.statistics import bootstrap_policy
    band = bootstrap_policy(data, np.ones(3) / 3, 1.0, "dpo", n_resamples=50, rng=4)
    np.testing.assert_allclose(result["policy_lower"], band.lower, rtol=1e-12)
    assert result["bootstrap"]["resamples"] == 50 and result["input"]["weight"] == "weight"
    assert "--bootstrap resamples" in _error(capsys, path, "--loss", "bt", "--bootstrap", 5)
