"""One attnrec fit on the validation split of ``validate_attnrec.py``, scored with its learned
item-item gain gamma multiplied after training (fifth tuning run in docs/evaluation.md).

    python benchmarks/gain_sweep.py ml-latest-small --multipliers 0.5,1,2,4,1000

Ranks by the logits (not the softmax, which saturates in float32 at large gains), so a very
large multiplier ranks by the attention-weighted item-item votes alone. Prints EASE's and each
multiplier's NDCG@10 and Recall@20.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from _common import validation_parser, validation_setup

from attnrec.data.dataset import RatingDataset
from attnrec.evaluation.baselines import EASE, Recommender
from attnrec.evaluation.protocol import AttnrecModel, evaluate


class ScaledGain(AttnrecModel):
    """attnrec with gamma x multiplier; every instance shares one fit (``fitted``)."""

    def __init__(self, multiplier: float, params: dict[str, Any], fitted: dict[str, Any]) -> None:
        super().__init__(**params)
        self.multiplier, self.params, self.fitted = multiplier, params, fitted
        self.name = f"attnrec gamma x{multiplier:g}"

    def fit(self, train: RatingDataset) -> ScaledGain:
        if "model" not in self.fitted:
            model = AttnrecModel(**self.params).fit(train).model_
            self.fitted["model"] = model
            self.fitted["log_gain"] = model.network_.item_log_gain.detach().clone()
        self.model_ = self.fitted["model"]
        return self

    def _forward(
        self, rows: np.ndarray, profiles: sp.csr_matrix, new_users: bool
    ) -> tuple[np.ndarray, np.ndarray, Any]:
        model = self.model_
        with torch.no_grad():
            model.network_.item_log_gain.copy_(self.fitted["log_gain"] + math.log(self.multiplier))
        scaled = profiles.astype(np.float32)
        scaled.data /= np.float32(model.rating_max_)
        neighbours = model.neighbours_.rows(rows)
        _, output = model._forward(scaled, neighbours)
        return output.logits.cpu().numpy(), output.sim_attention.cpu().numpy(), neighbours


def main() -> None:
    parser = validation_parser(__doc__.splitlines()[0])
    parser.add_argument("--multipliers", default="0.5,0.7,1,1.4,2,3,1000")
    args = parser.parse_intermixed_args()
    params, train, validation = validation_setup(args)
    fitted: dict[str, Any] = {}
    models: list[Recommender] = [EASE(500.0)]
    models += [ScaledGain(float(m), params, fitted) for m in args.multipliers.split(",")]
    summary = evaluate(train, models, validation, (10, 20), 4.0, progress=False).summary()
    learned = math.exp(float(fitted["log_gain"]))
    print(f"{args.dataset} {json.dumps(params)} learned gamma {learned:.2f}")
    unconstrained = [name for name in summary.index if name != "attnrec-delta"]
    print(summary.loc[unconstrained, ["ndcg@10", "recall@20"]].round(4).to_string())


if __name__ == "__main__":
    main()
