"""attnrec: explainable collaborative filtering whose attention coefficients are the explanation.

The model is the dual-attention recommender of Matamoros Aragon, Zoppis and Manzoni, "When
Attention Turn To Be Explanation. A Case Study in Recommender Systems" (xAI 2023).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "DualAttentionRecommender",
    "ModelConfig",
    "RatingDataset",
    "TrainConfig",
    "__version__",
    "load_dataset",
    "load_run",
]

if TYPE_CHECKING:
    from attnrec.data import RatingDataset, load_dataset
    from attnrec.model.config import ModelConfig, TrainConfig
    from attnrec.model.recommender import DualAttentionRecommender
    from attnrec.runs import load_run

_LAZY = {
    "DualAttentionRecommender": "attnrec.model.recommender",
    "ModelConfig": "attnrec.model.config",
    "TrainConfig": "attnrec.model.config",
    "RatingDataset": "attnrec.data",
    "load_dataset": "attnrec.data",
    "load_run": "attnrec.runs",
}


def __getattr__(name: str) -> Any:
    """Import torch-heavy modules only when first used, so ``attnrec --help`` stays quick."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'attnrec' has no attribute {name!r}")
