"""Adversarial attention (Jain and Wallace, 2019): how far can the coefficients move while y^
stays put?

With the model frozen, each user's coefficients over N(u) (or over its neighbours) are written
as a softmax of free logits and moved by Adam to maximise their JSD from the learned
coefficients, with a hinge penalty that keeps the TVD of y^ (over the candidate items) within
epsilon. Several random restarts are made; per user the largest JSD of any iterate that kept
TVD <= epsilon is reported (0 when only the learned coefficients themselves qualify). A large
JSD reached at a small TVD means very different attention tells the same story.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from attnrec.errors import ConfigError
from attnrec.faithfulness.measures import candidate_probs, group_jsd, jsd, tvd
from attnrec.faithfulness.permutation import FAMILIES, attention_summary, run_forward
from attnrec.faithfulness.protocol import (
    AttentionModel,
    Encoded,
    candidate_mask,
    group_softmax,
    masked_row_softmax,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdversarialConfig:
    """Settings of the adversarial search."""

    epsilon: float = 0.05
    """Largest TVD of y^ (over candidate items) an adversarial attention may cause."""
    restarts: int = 3
    """Random restarts per user; each starts from logits drawn N(0, init_scale^2)."""
    steps: int = 30
    """Adam steps per restart."""
    learning_rate: float = 0.3
    """Adam's step size on the attention logits."""
    penalty: float = 100.0
    """Weight of the hinge max(0, TVD - epsilon) against the JSD being maximised."""
    init_scale: float = 4.0
    """Standard deviation of the random initial logits."""

    def check(self) -> None:
        if not 0 < self.epsilon < 1:
            raise ConfigError(f"epsilon={self.epsilon} must lie in (0, 1)")
        if self.restarts < 1 or self.steps < 1:
            raise ConfigError(
                f"restarts={self.restarts} and steps={self.steps} must both be at least 1"
            )


def adversarial_test(
    model: AttentionModel,
    users: Sequence[int] | np.ndarray,
    config: AdversarialConfig | None = None,
    seed: int = 0,
    batch_size: int = 128,
) -> dict[str, pd.DataFrame]:
    """The adversarial search for both families.

    Returns:
        {family: one row per user: ``user``, ``max_attention``, ``n_attended``,
        ``adversarial_jsd`` (largest feasible JSD in bits), ``adversarial_tvd`` (the TVD of y^ at
        that point), ``adversarial_max_attention`` (the largest coefficient there)}.
    """
    config = config or AdversarialConfig()
    config.check()
    users = np.asarray(users, dtype=np.int64)
    generator = torch.Generator().manual_seed(seed)
    out = {}
    for family in FAMILIES:
        logger.info(
            "adversarial %s coefficients: epsilon %g, %d restarts x %d steps",
            family,
            config.epsilon,
            config.restarts,
            config.steps,
        )
        parts = []
        starts = range(0, len(users), batch_size)
        bar = tqdm(
            starts, desc=f"adversarial {family}", leave=False, disable=not sys.stderr.isatty()
        )
        for start in bar:
            part = users[start : start + batch_size]
            parts.append(_search_batch(model, part, family, config, generator))
        out[family] = pd.concat(parts, ignore_index=True)
    return out


def _search_batch(
    model: AttentionModel,
    users: np.ndarray,
    family: str,
    config: AdversarialConfig,
    generator: torch.Generator,
) -> pd.DataFrame:
    """Best feasible JSD per user of one batch, over all restarts and steps."""
    # the learned coefficients and y^, fixed targets of the search
    with torch.no_grad():
        enc = model.encode(users)
        base = model.forward(enc)
        candidates = candidate_mask(model, users).to(base.logits.device)
        original = candidate_probs(base.logits, candidates)
    maxima, counts = attention_summary(enc, base, family)
    learned = base.rec_attention if family == "recommendation" else base.sim_attention
    n_rows = enc.n_rows

    best_jsd = np.zeros(n_rows)
    best_tvd = np.zeros(n_rows)
    best_max = maxima.copy()
    for _ in range(config.restarts):
        # free logits, one per attended element, drawn at random
        noise = torch.randn(learned.shape, generator=generator, dtype=learned.dtype)
        logits = (config.init_scale * noise).to(learned.device).requires_grad_(True)
        optimiser = torch.optim.Adam([logits], lr=config.learning_rate)
        for _step in range(config.steps + 1):
            attention = _attention(logits, enc, family)
            replaced = run_forward(model, enc, family, attention)
            moved = tvd(original, candidate_probs(replaced.logits, candidates))
            apart = _distance(attention, learned, enc, family)

            # keep every feasible iterate that beats the best JSD so far
            with torch.no_grad():
                feasible = (moved <= config.epsilon).cpu().numpy()
                values = apart.detach().cpu().numpy()
                better = feasible & (values > best_jsd)
                best_jsd[better] = values[better]
                best_tvd[better] = moved.detach().cpu().numpy()[better]
                best_max[better] = _row_max(attention.detach(), enc, family)[better]
            if _step == config.steps:
                break

            # maximise JSD; the hinge pulls y^ back within epsilon
            loss = (-apart + config.penalty * torch.relu(moved - config.epsilon)).sum()
            (grad,) = torch.autograd.grad(loss, [logits])
            logits.grad = grad
            optimiser.step()
            optimiser.zero_grad(set_to_none=True)

    frame = pd.DataFrame(
        {
            "user": users,
            "max_attention": maxima,
            "n_attended": counts,
            "adversarial_jsd": best_jsd,
            "adversarial_tvd": best_tvd,
            "adversarial_max_attention": best_max,
        }
    )
    frame.loc[counts < 2, ["adversarial_jsd", "adversarial_tvd"]] = np.nan
    return frame


def _attention(logits: torch.Tensor, enc: Encoded, family: str) -> torch.Tensor:
    """Coefficients from free logits: softmax within N(u), or over the real neighbours."""
    if family == "recommendation":
        return group_softmax(logits, enc.edge_user, enc.n_rows)
    return masked_row_softmax(logits, enc.sim_mask)


def _distance(
    attention: torch.Tensor, learned: torch.Tensor, enc: Encoded, family: str
) -> torch.Tensor:
    """(B,) JSD in bits between candidate and learned coefficients of each row."""
    if family == "recommendation":
        return group_jsd(attention, learned, enc.edge_user, enc.n_rows)
    return jsd(attention, learned)


def _row_max(attention: torch.Tensor, enc: Encoded, family: str) -> np.ndarray:
    """(B,) largest coefficient of each row."""
    if family == "recommendation":
        maxima = torch.zeros(enc.n_rows, dtype=attention.dtype, device=attention.device)
        maxima = maxima.scatter_reduce(0, enc.edge_user, attention, reduce="amax")
        return maxima.cpu().numpy().astype(float)
    return attention.max(dim=-1).values.cpu().numpy().astype(float)
