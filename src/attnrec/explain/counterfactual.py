"""The paper's counterfactual test: scramble the attention and see whether y^ changes.

For each user the recommendation coefficients are permuted over N(u) (after Jain and Wallace,
2019) with everything else fixed, and y^ is recomputed; the same is done for the similarity
coefficients over the user's neighbours. Measures compare y^ with the permuted y^ over the
user's candidate (unrated) items: TVD, JSD, top-10 overlap, top-1 change and Kendall tau.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from attnrec.explain.measures import jensen_shannon, kendall_tau, top_k_overlap, total_variation

MEASURES = ("tvd", "jsd", "top10_overlap", "top1_changed", "kendall_tau")


def permute_within(groups: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A permutation of positions that only moves positions within their group.

    Args:
        groups: (E,) group id of each position, sorted ascending (e.g. the edge's user).

    Returns:
        (E,) indices such that ``values[idx]`` shuffles values within each group.
    """
    noise = torch.rand(groups.shape[0], generator=generator, dtype=torch.float64)
    # groups are integers and noise lies in [0, 1): sorting the sum shuffles within groups
    return torch.argsort(groups.to(torch.float64) + noise)


@dataclass
class UserCounterfactual:
    """Per-user medians over the permutations, for one coefficient family."""

    user: Any
    """The user's raw id, as given to the model."""
    tvd: float
    jsd: float
    top10_overlap: float
    top1_changed: float
    kendall_tau: float


@dataclass
class CounterfactualResult:
    """Counterfactual measures of one coefficient family over users."""

    family: str
    n_permutations: int
    users: list[UserCounterfactual] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, float]]:
        """Median and quartiles over users of each measure."""
        out: dict[str, dict[str, float]] = {}
        for name in MEASURES:
            values = np.array([getattr(u, name) for u in self.users], dtype=float)
            if len(values) == 0:
                continue
            q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
            out[name] = {"q1": float(q1), "median": float(median), "q3": float(q3)}
        return out


def compare(original: np.ndarray, permuted: np.ndarray, candidates: np.ndarray) -> dict[str, float]:
    """The five measures between two score distributions of one user, over candidate items.

    Scores are renormalised over the candidates so TVD and JSD compare distributions."""
    p = original[candidates] / max(original[candidates].sum(), 1e-30)
    q = permuted[candidates] / max(permuted[candidates].sum(), 1e-30)
    return {
        "tvd": float(total_variation(p, q)),
        "jsd": float(jensen_shannon(p, q)),
        "top10_overlap": top_k_overlap(p, q, 10),
        "top1_changed": float(np.argmax(p) != np.argmax(q)),
        "kendall_tau": kendall_tau(p, q),
    }
