"""The runner of :func:`psipo_exact.simulate.simulate`: argument validation and the step loop.

Gradients come from the per-datum links of :data:`psipo_exact.losses.LINKS`: the gradient
of the mini-batch loss ``(1/B) Σ_{j≤B} ℓ(h_π(y_w,i_j, y_l,i_j))`` is
``Σ_i (c_i / B) ℓ′(h_i) (e_{w_i} − e_{l_i})`` with ``c_i`` the number of times datum ``i``
is in the batch (weights from :mod:`~psipo_exact.simulate.batches`), and the update is
:class:`~psipo_exact.simulate.adam.Adam`'s. Every (loss, dataset, τ, seed) run is a row of
one array, and the only Python loop is the one over Adam steps.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from .. import _checks
from ..closed_form import softmax_policy
from ..losses import reference_gap, resolve_link
from ..model import Dataset
from .adam import Adam
from .batches import BatchWeights, validated_batches
from .result import RUN_AXES, SimulationResult, record_steps

#: Adam squares the gradients, which grow like 1/τ (IPO), τ (DPO) and the logit gaps: τ must
#: lie in [1/ADAM_RANGE, ADAM_RANGE] and the logits within ±ADAM_RANGE for g² to stay finite.
ADAM_RANGE = _checks.ADAM_RANGE


def simulate(datasets, losses, taus, seeds, *, steps=18000, batch_size=9, lr=0.01, b1=0.9,
             b2=0.999, eps=1e-8, init=None, record_every=10, batches=None, progress=False,
             pi_ref=None) -> SimulationResult:
    """Train softmax policies with Adam on empirical DPO/IPO losses, all runs at once (Sec. 5.4).

    Every run minimises ``Σ_i (c_i/B) ℓ(h_π(y_w,i, y_l,i))`` over mini-batches (Eq. 4 for
    ``"dpo"``, Eq. 17 for ``"ipo"``; links from :data:`psipo_exact.losses.LINKS`) with
    optax's Adam; see :mod:`psipo_exact.simulate.adam` for the exact update and
    :mod:`psipo_exact.simulate.batches` for the random stream.

    Parameters
    ----------
    datasets : Dataset or mapping str -> Dataset
        The datasets D; all must share ``logits_shape``. Sizes may differ.
    losses : str or sequence of str
        Distinct loss names, e.g. ``("dpo", "ipo")``.
    taus : float or 1-D array_like
        Distinct regularisation strengths τ in [1e-150, 1e150] (:data:`ADAM_RANGE`): Adam
        squares the gradient, of order 1/τ (IPO) or τ (DPO), which overflows float64 beyond.
    seeds : int or sequence of int
        Distinct seeds (>= 0) of the mini-batch streams, one run per seed.
    steps : int, default 18000
        Adam updates per run.
    batch_size : int, default 9
        Mini-batch size B (indices uniform on D, with replacement).
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
        label the seed axis.
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
    """
    data = _validated_datasets(datasets)
    loss_names = _validated_losses(losses)
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
    weights = BatchWeights(sizes, seed_list, batch_size, batches)
    adam = Adam(lr, b1, b2, eps, steps)
    recorded = _run(theta, data, loss_names, tau, gap, weights, adam, steps, record_every,
                    progress)
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
        out[str(name)] = data
    shapes = {name: d.logits_shape for name, d in out.items()}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"datasets must share their logits shape (n_contexts, n_actions), "
                         f"got {shapes}")
    return out


def _validated_losses(losses) -> tuple[str, ...]:
    if isinstance(losses, str):
        losses = (losses,)
    if not isinstance(losses, Sequence) or not losses:
        raise TypeError(f"losses must be a non-empty sequence of loss names, got {losses!r}")
    names = []
    for i, name in enumerate(losses):
        try:
            names.append(resolve_link(name).name)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"losses[{i}]: {exc}") from None
    _no_duplicates(names, "losses")
    return tuple(names)


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


def _block_incidence(data: dict) -> np.ndarray:
    """Block-diagonal signed incidence, shape ``(M, D·K)``: dataset ``d``'s data (rows) act on
    the logits of the runs on ``d`` (columns ``d·K .. d·K + K − 1``)."""
    blocks = [d.incidence.toarray() for d in data.values()]
    K = blocks[0].shape[1]
    out = np.zeros((sum(b.shape[0] for b in blocks), len(blocks) * K))
    row = 0
    for d, block in enumerate(blocks):
        out[row:row + block.shape[0], d * K:(d + 1) * K] = block
        row += block.shape[0]
    return out


# ------------------------------------------------------------------------------ step loop


def _run(theta, data, loss_names, tau, gap, weights, adam, steps, record_every, progress):
    """The step loop; returns the recorded logits, shape (record, loss, dataset, tau, seed, K).

    Internally a run's logits are laid out (loss, tau, seed | dataset, K): one row per
    (loss, τ, seed) holding the logits of its runs on every dataset, so that one matmul with
    the block-diagonal incidence gives ``h`` for exactly each run's own data.
    """
    n_loss, n_data, n_tau, n_seed = theta.shape[:4]
    K = int(np.prod(theta.shape[4:]))
    incidence = _block_incidence(data)                       # (M, D·K)
    incidence_t = np.ascontiguousarray(incidence.T)
    M = incidence.shape[0]
    rows = (n_loss, n_tau, n_seed)
    state = np.ascontiguousarray(np.moveaxis(theta.reshape(theta.shape[:4] + (K,)), 1, 3))
    flat = state.reshape(-1, n_data * K)
    g2, mv, hat, den = adam.buffers(flat.shape)
    adam_step = adam.stepper(flat, g2, mv, hat, den)
    g = g2[0]
    h = np.empty(rows + (M,))
    coef = np.empty(rows + (M,))
    h_flat, coef_flat = h.reshape(-1, M), coef.reshape(-1, M)
    links = [(resolve_link(name).grad, h[i], coef[i]) for i, name in enumerate(loss_names)]
    # τ and the batch weights as full contiguous arrays: broadcasting ufunc loops over an
    # inner axis of a few data cost several times more than flat ones.
    tau_b = np.ascontiguousarray(np.broadcast_to(tau.reshape(-1, 1, 1), rows[1:] + (M,)))
    rec_steps = record_steps(steps, record_every)
    is_record = np.zeros(steps + 1, dtype=bool)
    is_record[rec_steps] = True
    is_record = is_record[1:].tolist()                      # after 0-based step t
    recorded = np.empty((rec_steps.size,) + state.shape)
    recorded[0] = state
    n_rec = 1
    bar = _progress_bar(steps) if progress else None
    matmul, multiply = np.matmul, np.multiply
    scatter = _order_independent_product(incidence)
    # weights of a block of steps at a time, at most ~WEIGHT_BYTES of memory once broadcast
    for start, stop, w_block in weights.blocks(steps, coef.size):
        w_block = np.ascontiguousarray(
            np.broadcast_to(w_block, w_block.shape[:2] + rows[1:] + (M,)))
        per_loss = [w_block[:, i if w_block.shape[1] > 1 else 0] for i in range(len(links))]
        for j in range(stop - start):
            t = start + j
            # forward: h_i = θ_w − θ_l − (log πref(w) − log πref(l)) for every run's data
            matmul(flat, incidence_t, h_flat)
            if gap is not None:
                np.subtract(h, gap, out=h)
            for (grad, h_l, coef_l), w_l in zip(links, per_loss):
                multiply(grad(h_l, tau_b), w_l[j], coef_l)     # (c_i / B) ℓ′(h_i)
            scatter(coef_flat, incidence, g)                   # Σ_i coef_i (e_w − e_l)
            adam_step(t)
            if is_record[t]:
                recorded[n_rec] = state
                n_rec += 1
        if bar is not None:
            bar.update(stop - start)
    if bar is not None:
        bar.close()
    return np.moveaxis(recorded, 4, 2)  # (record, loss, dataset, tau, seed, K)


def _order_independent_product(incidence: np.ndarray):
    """``out = coef @ incidence`` whose bits do not depend on how many runs are stacked.

    BLAS picks its summation order by matrix shape, so a run's gradient could differ in the
    last bit between a grid and a run alone. Where every action is in at most two data, each
    sum has at most two non-zero terms (the incidence is ±1/0, products are exact) and every
    order rounds the same, so BLAS is used; otherwise ``einsum``'s own loop sums over data in
    a fixed order (slower, ~5 µs a step at the paper's size).
    """
    if np.max(np.count_nonzero(incidence, axis=0), initial=0) <= 2:
        return lambda coef, inc, out: np.matmul(coef, inc, out)
    return lambda coef, inc, out: np.einsum("rm,mk->rk", coef, inc, out=out)


def _progress_bar(steps: int):
    from tqdm.auto import tqdm

    # disable=None: no bar when stderr is not a terminal (logs, CI, captured output)
    return tqdm(total=steps, desc="Adam steps", unit="step", disable=None)


def _result(recorded, rec_steps, loss_names, data, tau, seeds, logits_shape):
    # (record, L, D, T, S, K) -> (L, D, T, S, record, *logits_shape)
    recorded = np.ascontiguousarray(recorded)
    logits = np.moveaxis(recorded, 0, 4)
    logits = logits.reshape(logits.shape[:5] + logits_shape)
    first = next(iter(data.values()))
    actions = first.action_names or tuple(range(first.n_actions))
    coords = {"loss": loss_names, "dataset": tuple(data), "tau": tuple(float(t) for t in tau),
              "seed": seeds, "record": tuple(int(s) for s in rec_steps)}
    dims = RUN_AXES + ("record",)
    if len(logits_shape) == 2:
        coords["context"] = tuple(range(logits_shape[0]))
        dims += ("context",)
    coords["action"] = tuple(actions)
    return SimulationResult(probs=softmax_policy(logits), logits=logits, steps=rec_steps,
                            coords=coords, dims=dims + ("action",))
