"""The suite on toy models whose answers are known by construction."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from attnrec.faithfulness.adversarial import AdversarialConfig, adversarial_test
from attnrec.faithfulness.agreement import agreement_test
from attnrec.faithfulness.eraser import eraser_test
from attnrec.faithfulness.permutation import permutation_test
from attnrec.faithfulness.protocol import AttentionModel
from attnrec.faithfulness.replacement import heldout_ndcg, replacement_test

from .conftest import EchoModel, IgnoringModel

USERS = np.arange(12)


def test_toys_follow_the_protocol(echo: EchoModel, ignoring: IgnoringModel) -> None:
    assert isinstance(echo, AttentionModel)
    assert isinstance(ignoring, AttentionModel)


def test_ignoring_model_does_not_move_under_permutation(ignoring: IgnoringModel) -> None:
    result = permutation_test(ignoring, USERS, n_permutations=20, seed=1)
    for family in ("recommendation", "similarity"):
        frame = result[family]
        assert frame["tvd"].max() == 0.0
        assert frame["jsd"].max() == pytest.approx(0.0, abs=1e-12)
        assert frame["top1_change_rate"].max() == 0.0
        assert frame["top10_overlap"].min() == 1.0


def test_ignoring_model_does_not_move_under_replacement(ignoring: IgnoringModel) -> None:
    result = replacement_test(ignoring, USERS, n_draws=5)
    for kind in ("uniform", "dirichlet"):
        for family in ("recommendation", "similarity"):
            assert result[kind][family]["tvd"].max() == 0.0
    heldout = sp.csr_matrix(np.eye(12, ignoring.n_items, k=9))
    ndcg = heldout_ndcg(ignoring, USERS, heldout, k=3, n_draws=2)
    for column in [c for c in ndcg.columns if c.startswith("ndcg_") and c != "ndcg_learned"]:
        assert np.allclose(ndcg[column], ndcg["ndcg_learned"])


def test_ignoring_model_admits_far_adversarial_attention(ignoring: IgnoringModel) -> None:
    config = AdversarialConfig(epsilon=0.01, restarts=2, steps=30)
    result = adversarial_test(ignoring, USERS, config)
    for family in ("recommendation", "similarity"):
        assert result[family]["adversarial_tvd"].max() == 0.0
        assert result[family]["adversarial_jsd"].median() > 0.3


def test_echo_model_moves_under_permutation(echo: EchoModel) -> None:
    frame = permutation_test(echo, USERS, n_permutations=20)["recommendation"]
    assert (frame["tvd"] > 0).all()
    # no neighbours at all: nothing to permute in the similarity family
    assert permutation_test(echo, USERS, 2)["similarity"]["tvd"].isna().all()


def test_echo_model_attention_agrees_with_every_importance(echo: EchoModel) -> None:
    per_user, elements = agreement_test(echo, USERS, max_items=None)
    assert per_user["tau_loo_tvd"].to_numpy() == pytest.approx(1.0)
    assert per_user["tau_loo_score"].to_numpy() == pytest.approx(1.0)
    assert per_user["tau_grad_input"].to_numpy() == pytest.approx(1.0)
    assert (per_user["top_match_loo"] == 1.0).all()
    # removing item e moves the mixture by exactly alpha_e in TVD
    rec = elements[elements["family"] == "recommendation"]
    assert rec["loo_tvd"].to_numpy() == pytest.approx(rec["attention"].to_numpy(), abs=1e-9)


def test_echo_model_is_fully_comprehensive(echo: EchoModel) -> None:
    per_user, curve = eraser_test(echo, USERS, n_random=3)
    # removing the most attended item removes the top item's whole probability
    assert per_user["comprehensiveness_attention_norm"].to_numpy() == pytest.approx(1.0, abs=1e-6)
    attention = curve[curve["method"] == "attention"]
    assert attention["comprehensiveness_norm"].to_numpy() == pytest.approx(1.0, abs=1e-6)
    # random rationales rarely contain the top item at 1%: less comprehensive on average
    assert (
        per_user["comprehensiveness_random_norm"].mean()
        < per_user["comprehensiveness_attention_norm"].mean()
    )
    # the top item alone keeps (more than) all its probability: sufficiency <= 0
    assert (per_user["sufficiency_attention"] <= 1e-9).all()


def test_echo_model_admits_no_far_adversarial_attention(echo: EchoModel) -> None:
    # y^ is the attention itself, moved to the echo items: JSD <= TVD <= epsilon
    config = AdversarialConfig(epsilon=0.05, restarts=2, steps=30)
    frame = adversarial_test(echo, USERS, config)["recommendation"]
    assert frame["adversarial_tvd"].max() <= 0.05 + 1e-9
    assert frame["adversarial_jsd"].max() <= 0.05
