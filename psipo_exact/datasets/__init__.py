"""Real paired-comparison datasets, shipped as CSV package data, as :class:`~psipo_exact.Dataset`.

Four classic public datasets, extracted once from the R package BradleyTerry2 1.1-2 (Turner &
Firth, 2012, *J. Stat. Softw.* 48(9)) by ``scripts/extract_bradleyterry2.R`` (R is never
needed at run time); the exact column codings are in ``data/PROVENANCE.md``.

* ``"citations"``: Stigler (1994), citations among four statistics journals (cited beats
  citing), 3727 comparisons as counts (``weights``).
* ``"baseball"``: Agresti (2002, p. 438), 1987 American League East, 273 games; no ties.
* ``"football"``: English Premier League 2008/9–2012/13, 1900 games; draws are ties.
* ``"icehockey"``: NCAA men's Division I ice hockey 2009–10, 1083 games; 125 ties.

Licence: the data files are derived from BradleyTerry2 (GPL (>= 2); copyright Heather Turner
and David Firth) and are redistributed under the GNU GPL version 2 or later
(``data/LICENSE-BradleyTerry2.txt`` travels with them), separately from the Apache-2.0 code of
psipo_exact; the facts themselves (results, citation counts) are public records.

Actions are indexed in alphabetical order of their names. :func:`read_table` gives the raw
columns (home advantage, goals, seasons, conferences) for richer models.
"""

from __future__ import annotations

import csv
import io
from importlib import resources

import numpy as np

from .. import _checks
from ..model import Dataset

_NAMES = ("citations", "baseball", "football", "icehockey")

#: Columns of each CSV file and how to read them (str, int or float).
_COLUMNS = {
    "citations": {"winner": str, "loser": str, "count": int},
    "baseball": {"home_team": str, "away_team": str, "home_wins": int, "away_wins": int},
    "football": {"season": str, "home": str, "away": str, "result": int},
    "icehockey": {"date": int, "visitor": str, "v_goals": int, "opponent": str, "o_goals": int,
                  "conference": str, "result": float, "home_ice": int},
}


def names() -> tuple[str, ...]:
    """The names of the shipped datasets.

    Returns
    -------
    tuple of str
        ``("citations", "baseball", "football", "icehockey")``.

    Examples
    --------
    >>> from psipo_exact import datasets
    >>> datasets.names()
    ('citations', 'baseball', 'football', 'icehockey')

    References
    ----------
    Turner & Firth (2012), J. Stat. Softw. 48(9) (BradleyTerry2 1.1-2, the source of the
    files); provenance and codings in ``psipo_exact/datasets/data/PROVENANCE.md``.
    """
    return _NAMES


def _check_name(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    if name not in _NAMES:
        raise ValueError(f"name = {name!r}, must be one of {list(_NAMES)}")
    return name


def read_table(name: str) -> dict[str, np.ndarray]:
    """The raw columns of a shipped CSV file (codings in ``data/PROVENANCE.md``).

    Parameters
    ----------
    name : {"citations", "baseball", "football", "icehockey"}

    Returns
    -------
    dict
        Column name → ndarray (str columns as object arrays), in the file's row order.

    Raises
    ------
    ValueError
        On an unknown name.

    Examples
    --------
    >>> from psipo_exact import datasets
    >>> table = datasets.read_table("football")
    >>> len(table["result"]), sorted(set(table["result"].tolist()))
    (1900, [-1, 0, 1])

    5 seasons × 380 games (20 teams, each meeting every other at home and away:
    20 · 19 = 380), as PROVENANCE.md tabulates:

    >>> import numpy as np
    >>> seasons, games = np.unique(table["season"].astype(str), return_counts=True)
    >>> games.tolist()
    [380, 380, 380, 380, 380]

    References
    ----------
    Turner & Firth (2012), J. Stat. Softw. 48(9) (BradleyTerry2 1.1-2, the source of the
    files); provenance and codings in ``psipo_exact/datasets/data/PROVENANCE.md``.
    """
    columns = _COLUMNS[_check_name(name)]
    text = resources.files(__name__).joinpath("data", f"{name}.csv").read_text("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    if header != list(columns):
        raise ValueError(f"{name}.csv has columns {header}, expected {list(columns)}")
    out = {}
    for k, (col, kind) in enumerate(columns.items()):
        values = [kind(row[k]) for row in body]
        out[col] = np.array(values, dtype=object if kind is str else kind)
    return out


def citations() -> Dataset:
    """Stigler's (1994) citations among four statistics journals, as counts.

    A datum ``(i, j)`` of weight ``c`` is ``c`` citations of journal ``i`` by papers in
    journal ``j``: the cited journal is the winner (``?citations`` of BradleyTerry2).
    Self-citations are not comparisons and are not in the data.

    Source: Stigler, S. (1994) Citation patterns in the journals of statistics and
    probability. *Statistical Science* 9, 94-108; Agresti (2002) *Categorical Data
    Analysis*, p. 448; via BradleyTerry2 1.1-2 (GPL >= 2).

    Returns
    -------
    Dataset
        4 actions (Biometrika, Comm Statist, JASA, JRSS-B), 12 data, total weight 3727.

    Examples
    --------
    >>> from psipo_exact import datasets
    >>> data = datasets.citations()
    >>> data.action_names, data.total_weight
    (('Biometrika', 'Comm Statist', 'JASA', 'JRSS-B'), 3727.0)

    Biometrika was cited 498 times by JASA (``citations["Biometrika", "JASA"]`` in R):

    >>> float(data.win_counts()[0, 2])
    498.0

    References
    ----------
    Stigler (1994), Statistical Science 9, 94-108; Agresti (2002), Categorical Data
    Analysis, 2nd ed., p. 448; via BradleyTerry2 1.1-2 (Turner & Firth, 2012, J. Stat.
    Softw. 48(9)); provenance and codings in ``psipo_exact/datasets/data/PROVENANCE.md``.
    """
    t = read_table("citations")
    return _labelled(t["winner"], t["loser"], weights=t["count"].astype(float))


def baseball() -> Dataset:
    """Agresti's (2002) 1987 American League East baseball results (no ties).

    Each row ``home_team, away_team, home_wins, away_wins`` gives two data: the home team
    beats the away team with weight ``home_wins``, and the reverse with ``away_wins`` (rows
    of weight 0 are dropped). Home advantage is not part of the dataset: see
    :func:`read_table` for the home/away columns.

    Source: Agresti, A. (2002) *Categorical Data Analysis*, 2nd ed., p. 438; via
    BradleyTerry2 1.1-2 (GPL >= 2).

    Returns
    -------
    Dataset
        7 teams, total weight 273 games.

    Examples
    --------
    >>> from psipo_exact import datasets
    >>> datasets.baseball().total_weight
    273.0

    References
    ----------
    Agresti (2002), Categorical Data Analysis, 2nd ed., p. 438; via BradleyTerry2 1.1-2
    (Turner & Firth, 2012, J. Stat. Softw. 48(9)); provenance and codings in
    ``psipo_exact/datasets/data/PROVENANCE.md``.
    """
    t = read_table("baseball")
    first = np.concatenate([t["home_team"], t["away_team"]])
    second = np.concatenate([t["away_team"], t["home_team"]])
    weights = np.concatenate([t["home_wins"], t["away_wins"]]).astype(float)
    keep = weights > 0
    return _labelled(first[keep], second[keep], weights=weights[keep])


def football(season=None, *, contexts: bool = False) -> Dataset:
    """English Premier League results 2008/9–2012/13; draws are ties.

    ``result`` is for the home team: ``1`` home win (home beats away), ``-1`` away win (away
    beats home), ``0`` draw (a tie, ``ties[i]`` True, home listed first).

    Source: ESPN Soccernet results collected by the BradleyTerry2 authors (2013), package
    1.1-2 ``?football`` (GPL >= 2); Davidson (1970) for the tie model.

    Parameters
    ----------
    season : str or sequence of str, optional
        ``"2008-9"``, ``"2009-10"``, ``"2010-11"``, ``"2011-12"``, ``"2012-13"``; default
        all five.
    contexts : bool, default False
        Seasons as contexts (``context_names``): independent rewards per season. Default:
        one reward per team over the seasons chosen (R's pooled fit).

    Returns
    -------
    Dataset
        One datum per game (with ``ties``); teams in alphabetical order of their codes.

    Raises
    ------
    ValueError
        On an unknown season.

    Examples
    --------
    >>> from psipo_exact import datasets
    >>> data = datasets.football("2008-9")
    >>> len(data), int(data.ties.sum()), data.n_actions
    (380, 97, 20)

    380 = 20 · 19 games (every team meets every other at home and away); the 97 draws of
    2008/9 are in the season table of PROVENANCE.md.

    References
    ----------
    BradleyTerry2 1.1-2 ``?football`` (Turner & Firth, 2012, J. Stat. Softw. 48(9)), which
    cites Davidson (1970), JASA 65, 317-328 for the tie model; provenance and codings in
    ``psipo_exact/datasets/data/PROVENANCE.md``.
    """
    t = read_table("football")
    seasons = tuple(dict.fromkeys(t["season"].tolist()))
    chosen = seasons if season is None else ((season,) if isinstance(season, str)
                                            else tuple(_checks.label_list(season, "season")))
    if not chosen:
        raise ValueError("season is empty: choose at least one season")
    contexts = _checks.flag(contexts, "contexts")
    unknown = [s for s in chosen if s not in seasons]
    if unknown:
        raise ValueError(f"season = {unknown[0]!r}, must be one of {list(seasons)}")
    keep = np.isin(t["season"], chosen)
    home, away, result = t["home"][keep], t["away"][keep], t["result"][keep]
    first = np.where(result == -1, away, home)
    second = np.where(result == -1, home, away)
    ctx = None
    if contexts:
        ctx = t["season"][keep]
    return _labelled(first, second, ctx, ties=result == 0,
                     context_names=[s for s in seasons if s in chosen] if contexts else None)


def icehockey() -> Dataset:
    """NCAA men's Division I ice hockey 2009–10 (regular season); ties as ties.

    ``result`` is for the visitor: ``1`` visitor beats opponent, ``0`` opponent beats
    visitor, ``0.5`` a tie (``ties[i]`` True, visitor listed first). Home ice is not part of
    the dataset (:func:`read_table` has ``home_ice``).

    Source: College Hockey Men's Division I 2009-10 composite schedule
    (collegehockeystats.net), via BradleyTerry2 1.1-2 ``?icehockey`` (GPL >= 2).

    Returns
    -------
    Dataset
        58 teams, 1083 games, 125 ties.

    Examples
    --------
    >>> from psipo_exact import datasets
    >>> data = datasets.icehockey()
    >>> len(data), int(data.ties.sum()), data.n_actions
    (1083, 125, 58)

    References
    ----------
    College Hockey Men's Division I 2009-10 composite schedule (collegehockeystats.net),
    via BradleyTerry2 1.1-2 ``?icehockey`` (Turner & Firth, 2012, J. Stat. Softw. 48(9));
    provenance and codings in ``psipo_exact/datasets/data/PROVENANCE.md``.
    """
    t = read_table("icehockey")
    lost = t["result"] == 0
    first = np.where(lost, t["opponent"], t["visitor"])
    second = np.where(lost, t["visitor"], t["opponent"])
    return _labelled(first, second, ties=t["result"] == 0.5)


def _labelled(first, second, contexts=None, **kwargs) -> Dataset:
    names = sorted(set(first.tolist()) | set(second.tolist()))
    return Dataset.from_labels(first.tolist(), second.tolist(),
                               None if contexts is None else contexts.tolist(),
                               action_names=names, **kwargs)


_LOADERS = {"citations": citations, "baseball": baseball, "football": football,
            "icehockey": icehockey}


def load(name: str, **options) -> Dataset:
    """A shipped dataset by name (see :func:`names`).

    Parameters
    ----------
    name : {"citations", "baseball", "football", "icehockey"}
    **options
        Passed to the dataset's loader (``football(season=..., contexts=...)``).

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        On an unknown name or option.

    Examples
    --------
    >>> import psipo_exact as px
    >>> fit = px.fit_bradley_terry(px.datasets.load("citations"), reference="Biometrika")
    >>> round(float(fit.rewards[1]), 4)  # Comm Statist, as R's BTm
    -2.9491

    References
    ----------
    Turner & Firth (2012), J. Stat. Softw. 48(9) (BradleyTerry2); Azar et al.,
    arXiv:2310.12036, Eq. 2.
    """
    loader = _LOADERS[_check_name(name)]
    try:
        return loader(**options)
    except TypeError as exc:
        raise ValueError(f"load({name!r}): {exc}") from None
