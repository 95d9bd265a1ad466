"""The paper's two figures, drawn with matplotlib (Agg backend, PNG, legible at 100%).

- Fig. 1: scores before and after permuting the attention, for one user and over users.
- Fig. 2: predicted against observed scores on the rated entries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import spearmanr

FIGSIZE = (12, 4.8)
DPI = 110


def permutation_figure(
    path: Path,
    user_label: str,
    original: np.ndarray,
    permuted: np.ndarray,
    tvd_by_family: Mapping[str, Sequence[float]],
    top: int = 30,
) -> None:
    """Fig. 1: y^ before and after permuting alpha_rec (one user), and TVD over users.

    Args:
        path: PNG to write.
        user_label: how to name the chosen user in the title.
        original: (n_candidates,) y^ of the chosen user over its unrated items.
        permuted: (P, n_candidates) y^ after each permutation of alpha_rec.
        tvd_by_family: per-user median TVD for each coefficient family.
        top: how many of the user's best items to show.
    """
    order = np.argsort(-original, kind="stable")[:top]
    ranks = np.arange(1, len(order) + 1)
    low, median, high = np.quantile(permuted[:, order], [0.05, 0.5, 0.95], axis=0)
    fig, (left, right) = plt.subplots(1, 2, figsize=FIGSIZE, gridspec_kw={"width_ratios": [3, 2]})

    # one user: its top items by original score, and where the permutations put them
    left.plot(ranks, original[order], "o-", color="tab:blue", label="learned attention")
    left.plot(ranks, median, "s--", color="tab:red", label="permuted attention (median)")
    left.fill_between(ranks, low, high, color="tab:red", alpha=0.2, label="permuted, 5-95%")
    left.set_xlabel("item rank under the learned attention")
    left.set_ylabel("predicted score y^ (probability)")
    left.set_title(f"{user_label}: scores before and after permuting alpha_rec")
    left.legend(frameon=False)
    left.grid(alpha=0.3)

    # all users: how far y^ moves (TVD) under each family's permutation
    names = list(tvd_by_family)
    right.boxplot([np.asarray(tvd_by_family[n]) for n in names], showfliers=True)
    right.set_xticks(range(1, len(names) + 1), [f"permute {n}\ncoefficients" for n in names])
    right.set_ylabel("total variation distance of y^ (median per user)")
    right.set_title(f"Effect over {len(next(iter(tvd_by_family.values()), []))} users")
    right.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def predicted_observed_figure(
    path: Path, observed: np.ndarray, predicted: np.ndarray, ratings: np.ndarray, n_items: int
) -> None:
    """Fig. 2: predicted y^ against observed ybar on the rated entries.

    Args:
        path: PNG to write.
        observed: (R,) ybar_j, each user's ratings normalised to sum to 1.
        predicted: (R,) y^_j on the same entries.
        ratings: (R,) the raw ratings, for the right panel.
        n_items: catalogue size (y^ x n_items = 1 means 'as likely as a uniform pick').
    """
    rho = spearmanr(observed, predicted).statistic
    fig, (left, right) = plt.subplots(1, 2, figsize=FIGSIZE)

    # every rated entry: observed share of the user's ratings vs predicted probability
    left.scatter(observed, predicted, s=6, alpha=0.35, color="tab:blue", edgecolors="none")
    bounds = [min(observed.min(), predicted.min()), max(observed.max(), predicted.max())]
    left.plot(bounds, bounds, color="black", lw=1, label="predicted = observed")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("observed score ybar (user's ratings normalised to sum 1)")
    left.set_ylabel("predicted score y^")
    left.set_title(f"Predicted vs observed on {len(observed):,} rated entries (Spearman {rho:.2f})")
    left.legend(frameon=False, loc="upper left")
    left.grid(alpha=0.3)

    # by rating value: is a higher rating predicted as more likely?
    values = np.unique(ratings)
    right.boxplot([predicted[ratings == v] * n_items for v in values], showfliers=False)
    right.set_xticks(range(1, len(values) + 1), [f"{v:g}" for v in values])
    right.axhline(1.0, color="grey", lw=1, ls="--", label="uniform over items")
    right.set_xlabel("observed rating")
    right.set_ylabel("y^ x number of items")
    right.set_title("Predicted score by observed rating")
    right.legend(frameon=False)
    right.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
