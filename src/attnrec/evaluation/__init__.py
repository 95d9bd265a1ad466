"""Offline evaluation: splits, tie-aware ranking metrics, statistics, baselines, reports.

The entry point is :func:`attnrec.evaluation.protocol.evaluate`; ``attnrec evaluate`` runs it
from the command line. See docs/evaluation.md for the protocol.
"""

from attnrec.evaluation.protocol import (
    MODEL_NAMES,
    AttnrecModel,
    EvaluationResult,
    ModelResult,
    build_models,
    evaluate,
)
from attnrec.evaluation.splits import SPLIT_KINDS, Split, make_split

__all__ = [
    "MODEL_NAMES",
    "SPLIT_KINDS",
    "AttnrecModel",
    "EvaluationResult",
    "ModelResult",
    "Split",
    "build_models",
    "evaluate",
    "make_split",
]
