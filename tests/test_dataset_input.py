"""Getting data in and out: labels of any hashable kind, counts, tables (TRL, battles), and
round trips pairs ↔ Dataset ↔ CSV ↔ frame (hypothesis), with exact equality of the data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import psipo_exact as px
from psipo_exact.files import dataset_csv, read_comparisons

NAMES = st.text("abcdefghij", min_size=1, max_size=4).filter(
    lambda s: s.lower() not in {"nan", "na", "null", "none"})


@st.composite
def labelled_datasets(draw):
    names = draw(st.lists(NAMES, min_size=2, max_size=5, unique=True))
    size = draw(st.integers(1, 12))
    first = draw(st.lists(st.sampled_from(names), min_size=size, max_size=size))
    second = [draw(st.sampled_from([n for n in names if n != a])) for a in first]
    kwargs = {}
    if draw(st.booleans()):
        ctx = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
        kwargs["contexts"] = draw(st.lists(st.sampled_from(ctx), min_size=size, max_size=size))
    if draw(st.booleans()):
        kwargs["weights"] = draw(st.lists(st.integers(1, 9), min_size=size, max_size=size))
    if draw(st.booleans()):
        kwargs["ties"] = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    pairs = list(zip(first, second, *([kwargs.pop("contexts")] if "contexts" in kwargs
                                       else [])))
    return px.Dataset.from_pairs(pairs, **kwargs)


def _same(a: px.Dataset, b: px.Dataset):
    assert a.to_pairs() == b.to_pairs()
    for field in ("weights", "ties"):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y)


@settings(max_examples=60, deadline=None)
@given(labelled_datasets())
def test_round_trip_pairs(data):
    again = px.Dataset.from_pairs(data.to_pairs(), weights=data.weights, ties=data.ties)
    _same(data, again)
    assert again.action_names == data.action_names[: again.n_actions]


@settings(max_examples=60, deadline=None)
@given(labelled_datasets())
def test_round_trip_csv(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("csv") / "d.csv"
    path.write_text(dataset_csv(data), encoding="utf-8")
    again, detected = read_comparisons(path)
    assert detected["format"] == "pairs"
    _same(data, again)


@settings(max_examples=60, deadline=None)
@given(labelled_datasets())
def test_round_trip_frame(data):
    pytest.importorskip("pandas")
    from psipo_exact.frames import dataset_frame

    frame = dataset_frame(data)
    again = px.Dataset.from_frame(
        frame, context="context" if data.contexts is not None else None,
        weight="weight" if data.weights is not None else None,
        tie="tie" if data.ties is not None else None)
    _same(data, again)


def test_from_pairs_any_hashable_labels_and_inferred_n():
    data = px.Dataset.from_pairs([(("gpt", 4), "llama"), ("llama", 3.5), (("gpt", 4), 3.5)])
    assert data.action_names == ("('gpt', 4)", "llama", "3.5") and data.n_actions == 3
    ints = px.Dataset.from_pairs([(0, 4), (4, 2)])
    assert ints.n_actions == 5 and ints.action_names is None
    named = px.Dataset.from_pairs([("b", "a")], action_names=["a", "b", "c"])
    assert named.winners.tolist() == [1] and named.n_actions == 3
    ctx = px.Dataset.from_pairs([("a", "b", "q1"), ("b", "a", "q2")])
    assert ctx.context_names == ("q1", "q2") and ctx.contexts.tolist() == [0, 1]


@pytest.mark.parametrize("pairs, kwargs, error, match", [
    ([("a", None)], {}, ValueError, r"pairs\[0\]\[1\] is missing"),
    ([("a", float("nan"))], {}, ValueError, "is missing"),
    ([("a", "z")], {"action_names": ["a", "b"]}, ValueError, r"pairs\[0\]\[1\] = 'z': unknown"),
    ([(0, 7)], {"n_actions": 3}, ValueError, r"pairs\[0\]\[1\] = 7: action index out of range"),
    ([(1, "1")], {}, ValueError, "both read '1'"),
    ([(["a"], "b")], {}, TypeError, "must be hashable"),
    ([("a", "b")], {"action_names": ["a", "a"]}, ValueError, "'a' twice"),
])
def test_from_pairs_errors(pairs, kwargs, error, match):
    with pytest.raises(error, match=match):
        px.Dataset.from_pairs(pairs, **kwargs)


def test_from_counts_aggregates_exactly():
    """10⁶ battles as 9900 weighted data: the same fit as the expanded dataset (checked on a
    small case, expanded) and O(distinct pairs) data."""
    rng = np.random.default_rng(0)
    wins = rng.integers(0, 4, (5, 5)) * (1 - np.eye(5, dtype=int))
    counts = px.Dataset.from_counts(wins, list("abcde"))
    x, y = np.nonzero(wins)
    expanded = px.Dataset(np.repeat(x, wins[x, y]), np.repeat(y, wins[x, y]), 5)
    assert len(counts) == np.count_nonzero(wins)
    np.testing.assert_array_equal(counts.win_counts(), wins)
    a, b = px.fit_bradley_terry(counts), px.fit_bradley_terry(expanded)
    np.testing.assert_allclose(a.rewards, b.rewards, atol=1e-12)
    np.testing.assert_allclose(a.stderr, b.stderr, rtol=1e-10)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-12)
    big = rng.multinomial(10**6, np.ones(9900) / 9900).reshape(99, 100)
    wins = np.zeros((100, 100))
    wins[~np.eye(100, dtype=bool)] = big.ravel()
    assert len(px.Dataset.from_counts(wins)) == np.count_nonzero(wins) <= 9900


def test_from_counts_ties_and_contexts():
    wins = np.array([[[0, 2], [1, 0]], [[0, 0], [3, 0]]])
    ties = np.array([[[0, 4], [4, 0]], [[0, 0], [0, 0]]])
    data = px.Dataset.from_counts(wins, ["a", "b"], ties=ties, context_names=["x", "y"])
    np.testing.assert_array_equal(data.win_counts(), wins)
    np.testing.assert_array_equal(data.tie_counts(), ties)
    assert data.context_names == ("x", "y") and data.ties.tolist() == [False, False, False, True]
    with pytest.raises(ValueError, match="ties must be symmetric"):
        px.Dataset.from_counts(wins, ties=np.array([[[0, 1], [0, 0]], [[0, 0], [0, 0]]]))
    with pytest.raises(ValueError, match=r"wins\[0, 0\] = 5.0: an action cannot be compared"):
        px.Dataset.from_counts([[5, 1], [1, 0]])
    with pytest.raises(ValueError, match="must be >= 0"):
        px.Dataset.from_counts([[0, -1], [1, 0]])


def test_from_frame_trl_and_battles():
    trl = {"prompt": ["p1", "p1", "p2"], "chosen": ["a", "b", "a"],
           "rejected": ["b", "c", "c"]}
    data = px.Dataset.from_frame(trl, winner="chosen", loser="rejected", context="prompt")
    assert data.context_names == ("p1", "p2") and data.action_names == ("a", "b", "c")
    assert data.logits_shape == (2, 3)
    battles = {"model_a": ["x", "y"], "model_b": ["y", "x"], "winner": ["model_b", "oops"]}
    with pytest.raises(ValueError, match="row 1, column 'winner' = 'oops'"):
        px.Dataset.from_frame(battles, winner="model_a", loser="model_b", outcome="winner")
    with pytest.raises(ValueError, match="'chosen': the table has no such column"):
        px.Dataset.from_frame(battles, winner="chosen", loser="model_b")


def test_from_frame_pandas_missing_values():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"winner": ["a", None], "loser": ["b", "a"]})
    with pytest.raises(ValueError, match="row 1, column 'winner' is missing"):
        px.Dataset.from_frame(frame)


def test_context_names_reach_messages_and_simulation():
    data = px.Dataset.from_pairs([("a", "b", "q1"), ("b", "c", "q2")])
    result = px.simulate(data, ["ipo"], [1.0], 1, steps=2)
    assert result.coords["context"] == ("q1", "q2")
    sol = px.solve_dpo_empirical(data, np.ones(3) / 3, 1.0)
    assert "actions b in context 'q1'; c in context 'q2'" in sol.message


@settings(max_examples=40, deadline=None)
@given(labelled_datasets())
def test_round_trip_json(tmp_path_factory, data):
    """JSON lists of [winner, loser(, context)] and objects (weights and ties are CSV/frame
    columns, not part of the JSON list form)."""
    import json

    plain = px.Dataset.from_pairs(data.to_pairs())
    folder = tmp_path_factory.mktemp("json")
    keys = ("winner", "loser", "context")
    for name, obj in (("lists.json", [list(p) for p in plain.to_pairs()]),
                      ("objects.json", [dict(zip(keys, p)) for p in plain.to_pairs()])):
        (folder / name).write_text(json.dumps(obj), encoding="utf-8")
        again, detected = read_comparisons(folder / name)
        assert detected["file"] == "json"
        _same(plain, again)
