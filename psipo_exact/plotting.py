"""Matplotlib figures for the paper's set-ups (non-interactive Agg backend)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ._io import atomic_path  # noqa: E402


def save_figure(fig, path: str | os.PathLike) -> None:
    """Save ``fig`` as PNG atomically and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def plot_closed_form_sweep(sweep: dict):
    """π*(y₁) against τ for IPO and RLHF/DPO (Sec. 5.3.1; Sec. 4.2 for the logit curve).

    Parameters
    ----------
    sweep : dict
        Output of :func:`psipo_exact.experiments.closed_form_sweep`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogx(sweep["tau"], sweep["ipo_pi_y1"], label="IPO (Ψ = identity), Eq. 7")
    ax.semilogx(sweep["tau"], sweep["logit_pi_y1"], "--", label="RLHF/DPO (Ψ = logit), Eq. 7")
    ax.axhline(0.5, color="grey", lw=0.8, ls=":", label="π_ref(y₁)")
    ax.set_xlabel("τ")
    ax.set_ylabel("π*(y₁)")
    ax.set_ylim(0.45, 1.02)
    ax.set_title("Sec. 5.3.1: p*(y₁ ≻ y₂) = 1, uniform µ and π_ref")
    ax.legend(loc="lower left")
    return fig
