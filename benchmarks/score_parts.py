"""Which part of a fitted attnrec model earns its accuracy, on a validation split.

The model's logits are F_Theta(both contexts) + gamma x (attention-weighted item-item votes).
This fits attnrec once on the inner training part of the validation recipe of
benchmarks/validate_attnrec.py, then scores the validation part with parts of the fitted
network switched off:

- full: the model as fitted;
- votes only: F_Theta's weights and bias set to 0, so only the item-item votes rank;
- F_Theta only: gamma set to ~0, so only the dense layer ranks;
- uniform attention: every layer's attention vector set to 0, so alpha_rec is 1/|N(u)|;
- uniform votes only: both, i.e. EASE on rating-weighted inputs;
- half F_Theta: F_Theta's logits halved.

    python benchmarks/score_parts.py ml-latest-small '{"alignment_lambda": 10}' --split-seed 11

The outer test part is never read (see validate_attnrec.py on --outer-seed).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import torch
from _common import validation_parser, validation_setup

from attnrec.evaluation.baselines import Recommender
from attnrec.evaluation.protocol import AttnrecModel, evaluate
from attnrec.model.network import DualAttentionNet

Edit = Callable[[DualAttentionNet], None]


def votes_only(net: DualAttentionNet) -> None:
    net.output.weight.zero_()
    net.output.bias.zero_()


def f_theta_only(net: DualAttentionNet) -> None:
    net.item_log_gain.fill_(-50.0)  # gamma = e^-50: no votes


def uniform_attention(net: DualAttentionNet) -> None:
    # e(u, i) is then 0 on every edge, and the softmax over N(u) uniform
    for layer in net.layers:
        layer.att_user.zero_()
        layer.att_item.zero_()
        if layer.att_rating is not None:
            layer.att_rating.zero_()


def uniform_votes_only(net: DualAttentionNet) -> None:
    uniform_attention(net)
    votes_only(net)


def half_f_theta(net: DualAttentionNet) -> None:
    net.output.weight.mul_(0.5)
    net.output.bias.mul_(0.5)


PARTS: dict[str, Edit] = {
    "full": lambda net: None,
    "votes only": votes_only,
    "F_Theta only": f_theta_only,
    "uniform attention": uniform_attention,
    "uniform votes only": uniform_votes_only,
    "half F_Theta": half_f_theta,
}


class Part(Recommender):
    """A fitted attnrec model scored with one edit of its network (undone after scoring)."""

    def __init__(self, name: str, fitted: AttnrecModel, edit: Edit) -> None:
        self.name, self.fitted, self.edit = name, fitted, edit
        self.network = fitted.model_.network_
        self.weights = copy.deepcopy(self.network.state_dict())

    def fit(self, train: object) -> Part:
        return self  # fitted once, outside

    def score(
        self, rows: np.ndarray, profiles: sp.csr_matrix, new_users: bool = False
    ) -> np.ndarray:
        with torch.no_grad():
            self.edit(self.network)
        try:
            return self.fitted.score(rows, profiles, new_users)
        finally:
            self.network.load_state_dict(self.weights, strict=False)


def main() -> None:
    parser = validation_parser(__doc__.splitlines()[0])
    args = parser.parse_intermixed_args()
    params, train, validation = validation_setup(args)
    fitted = AttnrecModel(**params).fit(validation.train_dataset(train))
    if not fitted.model_.network_.item_item:
        parser.error("score_parts needs the item-item term (item_item 'on' or 'auto')")

    parts = [Part(name, fitted, edit) for name, edit in PARTS.items()]
    summary = evaluate(train, parts, validation, (10, 20), 4.0, progress=False).summary()
    gain = fitted.model_.network_.item_log_gain.exp().item()
    print(f"{args.dataset} split {args.split_seed} {json.dumps(params)} gamma {gain:.2f}")
    print(summary[["ndcg@10", "recall@20"]].round(4).to_string())


if __name__ == "__main__":
    main()
