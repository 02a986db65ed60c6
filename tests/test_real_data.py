"""psipo_exact's Bradley–Terry fit and standard errors against R's ``BTm`` on real data.

The references (``tests/data/bradleyterry2_reference.json``) were recorded by
``scripts/extract_bradleyterry2.R`` from BradleyTerry2 1.1-2. R's glm stops when the relative
deviance change is below 1e-8 and computes its standard errors at the second-to-last iterate,
so R's numbers agree with an exact refit only to about 1e-6 (abilities) and 1e-4 (standard
errors): the tolerances below are those, not ours (our fit converges to ~1e-14).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import psipo_exact as px
from psipo_exact import datasets

REFERENCE = json.loads((Path(__file__).parent / "data" / "bradleyterry2_reference.json")
                       .read_text(encoding="utf-8"))["fits"]


def _football_decisive(season=None):
    return datasets.football(season).without_ties()


#: Our dataset for each plain (no home advantage) reference fit of R.
CASES = {
    "citations": datasets.citations,
    "baseball": datasets.baseball,
    **{f"football_decisive_{s}": (lambda s=s: _football_decisive(s))
       for s in ("2008-9", "2009-10", "2010-11", "2011-12", "2012-13")},
    "football_decisive_pooled": _football_decisive,
    "icehockey_decisive": lambda: datasets.icehockey().without_ties(),
    # ?icehockey's standardBT scores a tie as half a win for each side.
    "icehockey_helppage_standardBT": lambda: datasets.icehockey().ties_as_half_wins(),
}


def _ours(name):
    ref = REFERENCE[name]
    data = CASES[name]()
    fit = px.fit_bradley_terry(data, reference=ref["reference_category"])
    return ref, data, fit


@pytest.mark.parametrize("name", sorted(CASES))
def test_abilities_and_standard_errors_match_btm(name):
    ref, data, fit = _ours(name)
    assert fit.exists and fit.status == 0
    names = list(ref["abilities"])
    assert sorted(names) == sorted(data.action_names)
    idx = [data.action_names.index(a) for a in names]
    np.testing.assert_allclose(fit.rewards[idx], [ref["abilities"][a] for a in names],
                               atol=2e-6)
    np.testing.assert_allclose(fit.stderr[idx], [ref["abilities_se"][a] for a in names],
                               rtol=1e-4, atol=1e-5)
    assert fit.stderr[data.action_names.index(ref["reference_category"])] == 0


@pytest.mark.parametrize("name", sorted(CASES))
def test_loglik_matches_btm_without_binomial_constants(name):
    ref, _, fit = _ours(name)
    # R's glm optimum is ~1e-8 away from ours in relative deviance: our loglik is >= R's.
    assert fit.loglik == pytest.approx(ref["loglik_without_binomial_coefficients"], rel=1e-8)
    assert fit.loglik >= ref["loglik_without_binomial_coefficients"] - 1e-9


def test_citations_deviance_matches_btm():
    """citations' R rows are the unordered pairs, as our saturated model's groups."""
    ref, _, fit = _ours("citations")
    assert fit.deviance == pytest.approx(ref["deviance"], rel=1e-6)


def test_mean_zero_and_reference_constraints_agree():
    """Contrasts and their standard errors do not depend on the constraint."""
    data = datasets.baseball()
    mean_zero = px.fit_bradley_terry(data)
    pinned = px.fit_bradley_terry(data, reference=2)
    np.testing.assert_allclose(mean_zero.rewards - mean_zero.rewards[2], pinned.rewards,
                               atol=1e-12)
    assert abs(mean_zero.rewards.sum()) < 1e-12
    cov = mean_zero.covariance
    contrast = np.diag(cov) - 2 * cov[:, 2] + cov[2, 2]  # Var(r_i − r_2)
    np.testing.assert_allclose(np.sqrt(contrast), pinned.stderr, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cov, np.linalg.pinv(mean_zero.information.toarray()),
                               rtol=1e-8, atol=1e-12)


def test_population_fit_statistics_scale_with_the_number_of_comparisons():
    """Data whose weights are N · µ(y)µ(y′)p(y≻y′) have N times the population information:
    stderr(data) = stderr(population) / sqrt(N); the population loglik is −Eq. 2."""
    rng = np.random.default_rng(4)
    prefs = px.bradley_terry_prefs(rng.normal(size=4))
    mu = rng.dirichlet(np.ones(4))
    pop = px.fit_bradley_terry(prefs, mu)
    wins = 1e4 * mu[:, None] * mu[None, :] * prefs * (1 - np.eye(4))
    data = px.fit_bradley_terry(px.Dataset.from_counts(wins))
    np.testing.assert_allclose(data.rewards, pop.rewards, atol=1e-10)
    np.testing.assert_allclose(data.stderr, pop.stderr / 100, rtol=1e-8)
    np.testing.assert_allclose(data.covariance, pop.covariance / 1e4, rtol=1e-8, atol=1e-14)
    assert pop.loglik == pytest.approx(
        -float(px.losses.bt_reward_population(pop.rewards, prefs, mu)), rel=1e-12)
