"""EASE variants on the validation split of ``validate_attnrec.py`` (no test data touched).

Two questions of the fifth tuning run in docs/evaluation.md: which lambda suits EASE on each data
set, and how EASE ranks when each input rating is weighted by (r / the user's mean r)^p instead
of binarised, which is what attnrec's item-item votes become when alpha_rec equals the user's
ratings over their sum (p = 1).

    python benchmarks/validate_ease.py ml-latest-small --lambdas 250,500,1000 --powers 1,2,3

Prints NDCG@10 and Recall@20 (relevance >= 4) of every variant.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from _common import validation_parser, validation_setup

from attnrec.evaluation.baselines import EASE
from attnrec.evaluation.protocol import evaluate


class RatingWeightedEASE(EASE):
    """EASE's B (fitted on binarised ratings), applied to rating-weighted profiles."""

    def __init__(self, lam: float, power: float) -> None:
        super().__init__(lam)
        self.power = power
        self.name = f"ease-{lam:g}-rating^{power:g}"

    def score(
        self, rows: np.ndarray, profiles: sp.csr_matrix, new_users: bool = False
    ) -> np.ndarray:
        self._check_fitted("weights_")
        weighted = profiles.astype(np.float64).tocsr(copy=True)
        weighted.data **= self.power
        # divided by the user's mean weight, as |N(u)| alpha_rec(u, i) averages 1 over N(u)
        means = np.asarray(weighted.sum(axis=1)).ravel() / np.maximum(np.diff(weighted.indptr), 1)
        weighted = sp.diags(1.0 / np.maximum(means, 1e-12)) @ weighted
        out = np.zeros((len(rows), self.n_items_), dtype=np.float32)
        out[:, self.used_] = weighted[:, self.used_] @ self.weights_
        return out


def main() -> None:
    parser = validation_parser(__doc__.splitlines()[0], attnrec=False)
    parser.add_argument("--lambdas", default="250,500,1000", help="EASE lambdas (binarised)")
    parser.add_argument("--powers", default="1,2,3", help="rating powers p (lambda 500)")
    args = parser.parse_args()
    _, train, validation = validation_setup(args)
    models: list[EASE] = []
    for lam in (float(x) for x in args.lambdas.split(",")):
        model = EASE(lam)
        model.name = f"ease-{lam:g}"
        models.append(model)
    models += [RatingWeightedEASE(500.0, float(p)) for p in args.powers.split(",")]
    summary = evaluate(train, models, validation, (10, 20), 4.0, progress=False).summary()
    print(args.dataset)
    print(summary[["ndcg@10", "recall@20"]].round(4).to_string())


if __name__ == "__main__":
    main()
