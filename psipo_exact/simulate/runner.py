"""The runner of :func:`psipo_exact.simulate.simulate`: argument validation and the step loop.

**Loss interface.** A loss is a :class:`~psipo_exact.simulate.pairwise.PairwiseLoss`:
per datum, ``∂ℓ/∂s_w`` and ``∂ℓ/∂s_l`` as vectorised functions ``(s_w, s_l, tau)`` of the
log ratios ``s_y = log π(y) − log πref(y)`` (``π = softmax(θ)`` per context), and a flag
``margin_only`` saying that ℓ depends on ``h = s_w − s_l`` alone. The gradient of the
mini-batch loss ``(1/B) Σ_{j≤B} ℓ(s_w,i_j, s_l,i_j)`` in θ is
``Σ_i (c_i/B) [∂ℓ/∂s_w (e_w − π) + ∂ℓ/∂s_l (e_l − π)]`` over the batch's distinct data
(``∂s_y/∂θ = e_y − π``: the normaliser does not cancel in general); for margin losses
``∂ℓ/∂s_l = −∂ℓ/∂s_w``, the π terms cancel and the gradient is
``Σ_i (c_i/B) ℓ′(h_i)(e_{w_i} − e_{l_i})`` with ``h_i = (θ_w − θ_l) − (log πref(w) −
log πref(l))`` (no normaliser computed). A loss name resolves in
:func:`~psipo_exact.simulate.pairwise.resolve_loss`: the names of
:data:`psipo_exact.losses.LINKS` with :func:`~psipo_exact.simulate.pairwise.from_link`, every
other name of the preference-loss family (:data:`psipo_exact.losses.PAIRWISE`), or a pair
``(name, params)``, with :func:`~psipo_exact.simulate.pairwise.from_registry` (the
registry's exact derivatives in ``s_w``, ``s_l``); any other loss plugs in as a
``PairwiseLoss`` object.

**Layouts.** ``simulate/_gradients.py`` computes the gradient either by gathering
each step's batch only (O(runs × (B + n)) a step, O(runs × n) memory plus the recorded
logits and a block of gather indices) or, where all datasets together hold no more data
than a batch (the paper's), through the dense incidence; both give the same bits (same IEEE
operations, each logit's terms added in increasing datum order), and :data:`DENSE_DATA_PER_BATCH`
picks the faster. The update is :class:`~psipo_exact.simulate.adam.Adam`'s. Every
(loss, dataset, τ, seed) run is a row of one array, and the only Python loop is the one
over Adam steps.

**Subnormals.** Arithmetic is strict IEEE 754 with gradual underflow, as eager optax on CPU
computes it (so trajectories equal eager ``optax.adam`` bit for bit). XLA:CPU's jitted code
flushes subnormals to zero; the two differ only once Adam's moments decay below 2.2e-308
(e.g. IPO at an exact optimum, D3_never_wins), where the update is below 1e-300 and changes
no logit of magnitude above 1e-290. No flush-to-zero mode is offered: NumPy cannot set the
CPU's flush flags, and flushing by extra array operations (~3 numpy calls a step) costs about
what it saves (measured here: element-wise operations ~1.4× slower on subnormal operands,
which only a few runs of the paper grid reach) while still not reproducing XLA's bits.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from .. import _checks
from ..losses import reference_gap
from ..model import Dataset
from . import _compiled
from ._gradients import DenseGradient, SparseGradient
from .adam import Adam
from .batches import BatchStream, validated_batches
from .pairwise import PairwiseLoss, is_loss_spec, resolve_loss
from .result import RUN_AXES, SimulationResult, record_steps

#: The dense layout is used when all datasets together hold at most this many batches of
#: data (and every loss is a margin loss); both layouts give the same bits.
DENSE_DATA_PER_BATCH = 1.0
#: Adam squares the gradients, which grow like 1/τ (IPO), τ (DPO) and the logit gaps: τ must
#: lie in [1/ADAM_RANGE, ADAM_RANGE] and the logits within ±ADAM_RANGE for g² to stay finite.
ADAM_RANGE = _checks.ADAM_RANGE


def simulate(datasets, losses, taus, seeds, *, steps=18000, batch_size=9, lr=0.01, b1=0.9,
             b2=0.999, eps=1e-8, init=None, record_every=10, batches=None, progress=False,
             pi_ref=None) -> SimulationResult:
    """Train softmax policies with Adam on empirical pairwise losses, all runs at once (Sec. 5.4).

    Every run minimises ``Σ_i (c_i/B) ℓ(s_w,i, s_l,i)`` over mini-batches (Eq. 4 for
    ``"dpo"``, Eq. 17 for ``"ipo"``, links from :data:`psipo_exact.losses.LINKS`; or any loss
    of the preference-loss family, :data:`psipo_exact.losses.PAIRWISE`) with optax's Adam;
    see :mod:`psipo_exact.simulate.adam` for the exact update and
    :mod:`psipo_exact.simulate.batches` for the random stream.

    Parameters
    ----------
    datasets : Dataset or mapping str -> Dataset
        The datasets D; all must share ``logits_shape``. Sizes may differ.
    losses : str, (str, dict), PairwiseLoss or sequence of them
        Distinct losses: names of :data:`psipo_exact.losses.LINKS`, e.g. ``("dpo", "ipo")``;
        any name of the preference-loss family (:data:`psipo_exact.losses.PAIRWISE_LOSSES`,
        aliases ``slic``; TRL's default parameters), e.g. ``"hinge"``, ``"bco_pair"``; a pair
        ``(name, params)`` with TRL's parameter names, e.g.
        ``("cdpo", {"label_smoothing": 0.1})`` (labelled ``"cdpo(label_smoothing=0.1)"``;
        ``exo_pair`` needs ``label_smoothing > 0``, as in TRL); or
        :class:`~psipo_exact.simulate.pairwise.PairwiseLoss` objects (module docstring).
        Losses of the separate log-ratios (``nca_pair``, ``bco_pair``, ``sppo_hard``,
        ``apo_zero``, ``apo_down``, any loss under another ``f_divergence_type``) include
        the softmax normaliser's gradient.
    taus : float or 1-D array_like
        Distinct regularisation strengths τ in [1e-150, 1e150] (:data:`ADAM_RANGE`): Adam
        squares the gradient, of order 1/τ (IPO) or τ (DPO), which overflows float64 beyond.
    seeds : int or sequence of int
        Distinct seeds (>= 0) of the mini-batch streams, one run per seed.
    steps : int, default 18000
        Adam updates per run.
    batch_size : int, default 9
        Mini-batch size B (indices uniform on D, with replacement; with probability
        proportional to ``Dataset.weights`` for weighted data).
    lr, b1, b2, eps : float
        Adam hyper-parameters (optax defaults b1 = 0.9, b2 = 0.999, eps = 1e-8; lr > 0,
        0 <= b1, b2 < 1, eps >= 0). With ``eps = 0`` this deviates from optax on purpose:
        where ``√v̂ = 0`` (every gradient of that logit so far was exactly 0, e.g. an action
        no datum compares, or so small that its square underflowed, |g| ≲ 1e-162) optax
        divides ``m̂`` by 0 and the logit becomes NaN (0/0) or ±∞; ``simulate`` takes a
        zero step there. Everywhere else the update is optax's, bit for bit.
    init : array_like, optional
        Initial logits θ₀, broadcastable to ``(loss, dataset, tau, seed) + logits_shape``;
        default zeros (π₀ uniform). ``|θ₀| + lr·steps·max(1, (1 − b1)/√(1 − b2))`` (a bound
        on the logits Adam can reach) must stay below 1e150: logits near the float maximum
        overflow their gaps, the IPO gradient and its square.
    record_every : int, default 10
        Record every this many steps (and always the last).
    batches : array_like of int, optional
        Replay these batch indices instead of sampling: shape ``(..., steps, batch_size)``,
        the leading axes broadcasting over (loss, dataset, tau, seed). ``seeds`` then only
        label the seed axis; ``Dataset.weights`` only shape the sampled stream, replayed
        indices are taken as drawn.
    progress : bool, default False
        Show a tqdm progress bar (``tqdm.auto``; as tqdm does with ``disable=None``, no bar
        is drawn when the output stream is not a terminal, e.g. in logs and CI).
    pi_ref : array_like, optional
        Reference policy πref, shape ``logits_shape``; default uniform.

    Returns
    -------
    SimulationResult

    Raises
    ------
    TypeError, ValueError
        For invalid arguments, naming the argument (checked before any computation).

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4 (the set-up of Figures 1 and 2), Eq. 4 and
    Eq. 17; Kingma and Ba (2014), arXiv:1412.6980, and ``optax.adam`` for the update.

    Examples
    --------
    The paper's set-up (lr 0.01, mini-batches of 9 with replacement, θ₀ = 0), shortened to
    300 steps, for DPO and IPO on D1 at two τ and two seeds, all in one array:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> d1 = px.paper_dataset("D1")
    >>> res = px.simulate({"D1": d1}, ["dpo", "ipo"], [0.1, 1.0], seeds=[0, 1], steps=300,
    ...                   record_every=100)
    >>> res.probs.shape, res.steps.tolist()
    ((2, 1, 2, 2, 4, 3), [0, 100, 200, 300])
    >>> bool(np.allclose(res.probs.sum(-1), 1.0))
    True

    Replaying full batches makes the run deterministic gradient descent with Adam; IPO
    then reaches its exact Eq. 17 optimum (:func:`~psipo_exact.solve_ipo_empirical`):

    >>> full = np.tile([0, 1, 2], (1000, 1))
    >>> res = px.simulate(d1, "ipo", 1.0, seeds=[0], steps=1000, batch_size=3, batches=full)
    >>> exact = px.solve_ipo_empirical(d1, np.ones(3) / 3, 1.0).policy
    >>> print(np.round(res.probs[0, 0, 0, 0, -1], 4), np.round(exact, 4))
    [0.4484 0.3213 0.2302] [0.4484 0.3213 0.2302]

    Any loss of the family, by TRL's name and parameters; ``sppo_hard`` depends on
    ``s_w``, ``s_l`` separately (the normaliser does not cancel) and reaches its exact
    optimum (:func:`~psipo_exact.solve_pairwise_empirical`) the same way:

    >>> res = px.simulate(d1, ["sppo_hard", ("cdpo", {"label_smoothing": 0.1})], 1.0,
    ...                   seeds=[0], steps=3000, batch_size=3, batches=np.tile([0, 1, 2],
    ...                   (3000, 1)), record_every=3000)
    >>> res.coords["loss"]
    ('sppo_hard', 'cdpo(label_smoothing=0.1)')
    >>> exact = px.solve_pairwise_empirical("sppo_hard", d1, np.ones(3) / 3, 1.0).policy
    >>> print(np.round(res.probs[0, 0, 0, 0, -1], 3), np.round(exact, 3))
    [0.494 0.312 0.194] [0.494 0.312 0.194]
    """
    data = _validated_datasets(datasets)
    pair_losses = _validated_losses(losses)
    loss_names = tuple(loss.name for loss in pair_losses)
    tau = _validated_taus(taus)
    seed_list = _validated_seeds(seeds)
    steps = _checks.positive_int(steps, "steps")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    record_every = _checks.positive_int(record_every, "record_every")
    lr = _checks.real_in_range(lr, "lr", 0.0, np.inf, closed_low=False)
    b1, b2 = _checks.real_in_range(b1, "b1", 0.0, 1.0), _checks.real_in_range(b2, "b2", 0.0, 1.0)
    eps = _checks.real_in_range(eps, "eps", 0.0, np.inf)
    progress = _checks.flag(progress, "progress")
    logits_shape = next(iter(data.values())).logits_shape
    run_shape = (len(loss_names), len(data), tau.size, len(seed_list))
    sizes = [len(d) for d in data.values()]
    theta = _validated_init(init, run_shape, logits_shape)
    _check_reach(theta, lr, steps, b1, b2)
    gap = _reference_gaps(data, pi_ref, logits_shape)
    if batches is not None:
        batches = validated_batches(batches, run_shape, steps, batch_size, sizes)
    stream = BatchStream(sizes, [d.weights for d in data.values()], seed_list, batch_size,
                         batches)
    adam = Adam(lr, b1, b2, eps, steps)
    compiled = _compiled_runs(list(data.values()), pair_losses, tau, gap, adam, run_shape,
                              batch_size, steps)
    if compiled is not None:
        recorded = _run_compiled(theta, compiled, stream, steps, record_every, progress)
    else:
        layout = _gradient_layout(list(data.values()), pair_losses, tau, gap, pi_ref,
                                  len(seed_list), batch_size)
        recorded = _run(theta, layout, stream, adam, steps, record_every, progress)
    return _result(recorded, record_steps(steps, record_every), loss_names, data, tau,
                   seed_list, logits_shape)



# ------------------------------------------------------------------------------ validation


def _validated_datasets(datasets) -> dict[str, Dataset]:
    if isinstance(datasets, Dataset):
        datasets = {"D": datasets}
    if not isinstance(datasets, Mapping):
        raise TypeError(
            f"datasets must be a Dataset or a mapping name -> Dataset, got "
            f"{type(datasets).__name__}"
        )
    if not datasets:
        raise ValueError("datasets is empty: give at least one Dataset")
    out = {}
    for name, data in datasets.items():
        if not isinstance(data, Dataset):
            raise TypeError(f"datasets[{name!r}] must be a Dataset, got {type(data).__name__}")
        _checks.no_ties(data, f"simulate (datasets[{name!r}])",
                        "the simulator samples decisive comparisons only")
        out[str(name)] = data
    shapes = {name: d.logits_shape for name, d in out.items()}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"datasets must share their logits shape (n_contexts, n_actions), "
                         f"got {shapes}")
    return out


def _validated_losses(losses) -> tuple[PairwiseLoss, ...]:
    if isinstance(losses, (str, PairwiseLoss)) or is_loss_spec(losses):
        losses = (losses,)
    if not isinstance(losses, Sequence) or not losses:
        raise TypeError(f"losses must be a non-empty sequence of loss names, got {losses!r}")
    out = []
    for i, loss in enumerate(losses):
        try:
            out.append(resolve_loss(loss))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"losses[{i}]: {exc}") from None
    _no_duplicates([loss.name for loss in out], "losses")
    return tuple(out)


def _no_duplicates(labels, name: str) -> None:
    """Labels of a run axis must be unique: :meth:`SimulationResult.index` looks them up, and
    a repeated seed would count one run twice in the confidence intervals."""
    seen = set()
    for i, label in enumerate(labels):
        if label in seen:
            raise ValueError(f"{name}[{i}] = {label!r} repeats an earlier entry, {name} must "
                             f"be distinct")
        seen.add(label)


def _validated_taus(taus) -> np.ndarray:
    tau = _checks.adam_taus(taus, "taus")
    if tau.ndim > 1:
        raise ValueError(f"taus must be a number or a one-dimensional sequence, got shape "
                         f"{tau.shape}")
    tau = np.atleast_1d(tau)
    if tau.size == 0:
        raise ValueError("taus is empty: give at least one tau")
    _no_duplicates(tau.tolist(), "taus")
    return tau


def _validated_seeds(seeds) -> tuple[int, ...]:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        seeds = (seeds,)
    try:
        seeds = tuple(seeds)
    except TypeError:
        raise TypeError(f"seeds must be an int or a sequence of ints, got {seeds!r}") from None
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")
    for i, seed in enumerate(seeds):
        _checks.positive_int(seed, f"seeds[{i}]", minimum=0)
    seeds = tuple(int(s) for s in seeds)
    _no_duplicates(seeds, "seeds")
    return seeds


def _validated_init(init, run_shape, logits_shape) -> np.ndarray:
    shape = run_shape + logits_shape
    if init is None:
        return np.zeros(shape)
    theta = _checks.as_float_array(init, "init")
    try:
        return np.array(np.broadcast_to(theta, shape))
    except ValueError:
        raise ValueError(
            f"init has shape {theta.shape}, must broadcast to (loss, dataset, tau, seed) + "
            f"logits shape = {shape}"
        ) from None


def _check_reach(theta, lr, steps, b1, b2) -> None:
    """The logits stay within ±ADAM_RANGE: ``|θ₀| + lr·steps·max(1, (1 − b1)/√(1 − b2))``
    bounds them (Adam's update is at most ``lr·max(1, (1 − b1)/√(1 − b2))`` per step)."""
    start = float(np.max(np.abs(theta)))
    reach = start + lr * steps * max(1.0, (1 - b1) / np.sqrt(1 - b2))
    if not reach <= ADAM_RANGE:
        where = "init" if start > ADAM_RANGE / 2 else "lr * steps"
        raise ValueError(
            f"{where}: the logits could reach {reach:.3g} (max|init| = {start:.3g}, lr = {lr}, "
            f"steps = {steps}), must stay below 1e150: Adam on logits near the float maximum "
            "overflows their gaps, the IPO gradient and its square"
        )


def _reference_gaps(data: dict, pi_ref, logits_shape) -> np.ndarray | None:
    """Concatenated ``log πref(y_w) − log πref(y_l)`` of all datasets, or None if all zero."""
    if pi_ref is None:
        return None
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    if pi_ref.shape != logits_shape:
        raise ValueError(f"pi_ref has shape {pi_ref.shape}, must be {logits_shape}")
    gaps = []
    for name, d in data.items():
        try:
            gaps.append(reference_gap(d, pi_ref))
        except ValueError as exc:  # it names the datum; say which dataset it belongs to
            raise ValueError(f"dataset {name!r}: {exc}") from None
    gap = np.concatenate(gaps)
    return gap if np.any(gap != 0) else None


def _log_reference(pi_ref, logits_shape) -> np.ndarray:
    """``log πref`` per logit, flat (uniform when None): the ``s_y`` of non-margin losses."""
    if pi_ref is None:
        return np.full(int(np.prod(logits_shape)), -np.log(logits_shape[-1]))
    with np.errstate(divide="ignore"):  # πref = 0 off the compared actions: never gathered
        return np.log(_checks.probability_vector(pi_ref, "pi_ref")).reshape(-1)


def _gradient_layout(data, losses, tau, gap, pi_ref, n_seeds, batch_size):
    """The dense layout where the whole data fit in a batch (margin losses), else sparse."""
    margin = all(loss.margin_only for loss in losses)
    if margin and sum(len(d) for d in data) <= DENSE_DATA_PER_BATCH * batch_size:
        return DenseGradient(data, losses, tau, gap, n_seeds, batch_size)
    log_ref = None if margin else _log_reference(pi_ref, data[0].logits_shape)
    return SparseGradient(data, losses, tau, gap, log_ref, n_seeds, batch_size)


# ------------------------------------------------------------------------------ step loop


def _run(theta, layout, stream, adam, steps, record_every, progress):
    """The step loop; returns the recorded logits, shape (loss, dataset, tau, seed, record, K)
    (recorded in place: the result needs no second copy)."""
    state = layout.state(theta.reshape(theta.shape[:4] + (-1,)))
    g2, mv, hat, den = adam.buffers(state.shape)
    adam_step = adam.stepper(state, g2, mv, hat, den)
    g = g2[0]
    rec_steps = record_steps(steps, record_every)
    is_record = np.zeros(steps + 1, dtype=bool)
    is_record[rec_steps] = True
    is_record = is_record[1:].tolist()                      # after 0-based step t
    recorded = np.empty(theta.shape[:4] + (rec_steps.size, state.size // np.prod(
        theta.shape[:4], dtype=int)))
    recorded[..., 0, :] = layout.logits(state)
    n_rec = 1
    bar = _progress_bar(steps) if progress else None
    gradient = layout.gradient
    for start, stop, idx in stream.blocks(steps, layout.bytes_per_step, layout.block_bytes):
        layout.load(idx)
        for j in range(stop - start):
            t = start + j
            gradient(state, j, g)
            adam_step(t)
            if is_record[t]:
                recorded[..., n_rec, :] = layout.logits(state)
                n_rec += 1
        if bar is not None:
            bar.update(stop - start)
    if bar is not None:
        bar.close()
    return recorded


def _compiled_runs(data, losses, tau, gap, adam, run_shape, batch_size, steps):
    """The compiled kernel's runner, if numba is there (and loading it pays, see
    ``_compiled.kernel``) and every loss is a LINKS margin loss (same bits as the NumPy
    layouts); else None."""
    largest = max(len(d) for d in data)
    terms = largest if largest <= batch_size else batch_size
    work = float(np.prod(run_shape)) * steps * (int(np.prod(data[0].logits_shape)) + terms)
    if _compiled.kernel(work) is None:
        return None
    codes = _compiled.loss_codes(losses)
    if codes is None:
        return None
    return _compiled.CompiledRuns(data, codes, tau, gap, adam, run_shape, batch_size)


def _run_compiled(theta, compiled, stream, steps, record_every, progress):
    """:func:`_run` through the compiled kernel: the same recorded logits, bit for bit."""
    rec_steps = record_steps(steps, record_every)
    record_slot = np.full(steps + 1, -1, dtype=np.int64)
    record_slot[rec_steps] = np.arange(rec_steps.size)
    state = np.ascontiguousarray(theta.reshape(-1, int(np.prod(theta.shape[4:], dtype=int))))
    recorded = np.empty((state.shape[0], rec_steps.size, state.shape[1]))
    recorded[:, 0] = state
    bar = _progress_bar(steps) if progress else None
    compiled.run(state, recorded, record_slot[1:], stream, steps, bar)
    if bar is not None:
        bar.close()
    return recorded.reshape(theta.shape[:4] + recorded.shape[1:])


def _progress_bar(steps: int):
    from tqdm.auto import tqdm

    # disable=None: no bar when stderr is not a terminal (logs, CI, captured output)
    return tqdm(total=steps, desc="Adam steps", unit="step", disable=None)


def _result(recorded, rec_steps, loss_names, data, tau, seeds, logits_shape):
    # (L, D, T, S, record, K) -> (L, D, T, S, record, *logits_shape), a view
    logits = recorded.reshape(recorded.shape[:5] + logits_shape)
    first = next(iter(data.values()))
    actions = first.action_names or tuple(range(first.n_actions))
    coords = {"loss": loss_names, "dataset": tuple(data), "tau": tuple(float(t) for t in tau),
              "seed": seeds, "record": tuple(int(s) for s in rec_steps)}
    dims = RUN_AXES + ("record",)
    if len(logits_shape) == 2:
        coords["context"] = first.context_names or tuple(range(logits_shape[0]))
        dims += ("context",)
    coords["action"] = tuple(actions)
    return SimulationResult(logits=logits, steps=rec_steps, coords=coords,
                            dims=dims + ("action",))

