"""The literature's anchors on MovieLens 100K (real data, read-only)."""

from __future__ import annotations

import pytest

from attnrec.data.loaders import load_dataset
from attnrec.evaluation import evaluate
from attnrec.evaluation.baselines import EASE, UserKNN


@pytest.mark.slow
@pytest.mark.realdata
def test_ease_and_user_knn_land_where_the_literature_expects(data_root):
    dataset = load_dataset("ml-100k", data_dir=data_root)
    result = evaluate(
        dataset, [EASE(500.0), UserKNN(50)], "random", ks=(10,), seed=0, progress=False
    )
    summary = result.summary()
    assert 0.34 <= summary.loc["ease", "ndcg@10"] <= 0.39
    assert 0.30 <= summary.loc["user-knn", "ndcg@10"] <= 0.35
