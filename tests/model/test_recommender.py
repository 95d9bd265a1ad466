"""The raw-id facade: scikit-learn contract, scores, recommendations, new users, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attnrec import DualAttentionRecommender
from attnrec.errors import (
    ConfigError,
    DataError,
    NotFittedError,
    UnknownItemError,
    UnknownUserError,
)
from attnrec.testing import random_ratings


def test_fit_returns_self_and_sets_fitted_attributes(small_ratings: pd.DataFrame) -> None:
    model = DualAttentionRecommender(embedding_dim=4, epochs=1, progress=False)
    assert model.fit(small_ratings) is model
    assert model.items_ == sorted(small_ratings["item"].unique().tolist())
    assert model.users_ == sorted(small_ratings["user"].unique().tolist())


def test_use_before_fit_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="call fit"):
        DualAttentionRecommender().recommend(1)


def test_unknown_parameter_is_named() -> None:
    with pytest.raises(ConfigError, match="embeding_dim"):
        DualAttentionRecommender(embeding_dim=3)
    with pytest.raises(ConfigError):
        DualAttentionRecommender(corruption=1.5)


def test_score_rows_follow_users_and_columns_follow_items(fitted) -> None:
    scores = fitted.score([3, "1"])
    assert list(scores.columns) == fitted.items_
    assert list(scores.index) == [3, 1]
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)


def test_string_and_integer_ids_are_one_user(fitted) -> None:
    by_int = [r.item for r in fitted.recommend(1, n=5, delta=0.0)]
    by_str = [r.item for r in fitted.recommend("1", n=5, delta=0.0)]
    assert by_int == by_str


def test_unknown_user_and_item(fitted) -> None:
    with pytest.raises(UnknownUserError, match="unknown user 'nobody'"):
        fitted.recommend("nobody")
    with pytest.raises(UnknownItemError):
        fitted.recommend_profile([(999_999, 5)])


def test_recommendations_skip_rated_items_and_carry_explanations(fitted, small_ratings) -> None:
    rated = set(small_ratings.loc[small_ratings["user"] == 2, "item"])
    recs = fitted.recommend(2, n=5, delta=0.5, fallback=True)
    assert len(recs) == 5
    assert not rated & {r.item for r in recs}
    for rec in recs:
        if rec.explainable:
            neighbour = rec.neighbour
            assert neighbour is not None
            # the named neighbour really rated the item that highly
            row = small_ratings[(small_ratings["user"] == neighbour.user)]
            assert row.loc[row["item"] == rec.item, "rating"].item() == neighbour.rating
            assert neighbour.rating / 5 >= 0.5
            assert f"user {neighbour.user}" in rec.sentence
            assert f"{neighbour.rating:g}/5" in rec.sentence
        else:
            assert rec.neighbour is None and "fallback" in rec.sentence
    assert [r.score for r in recs if r.explainable] == sorted(
        [r.score for r in recs if r.explainable], reverse=True
    )


def test_attention_accessor_keyed_by_raw_ids(fitted, small_ratings) -> None:
    attention = fitted.attention(4)
    rated = set(small_ratings.loc[small_ratings["user"] == 4, "item"])
    assert {a.item for a in attention.recommendation} == rated
    assert sum(a.attention for a in attention.recommendation) == pytest.approx(1.0, rel=1e-5)
    assert sum(s.attention for s in attention.similarity) == pytest.approx(1.0, rel=1e-5)
    assert 4 not in {s.user for s in attention.similarity}


def test_new_user_profile_without_retraining(fitted, small_ratings) -> None:
    profile = [(101, 5), ("102", 4), (103, 1)]
    recs = fitted.recommend_profile(profile, n=3, delta=0.0)
    assert len(recs) == 3
    assert not {101, 102, 103} & {r.item for r in recs}
    # a new user with user 5's ratings finds user 5 as its most similar user (cosine 1)
    own = small_ratings[small_ratings["user"] == 5][["item", "rating"]].itertuples(index=False)
    profile = fitted.profile_from_ratings(list(own))
    similar = sorted(fitted.attention_of(profile).similarity, key=lambda s: -s.cosine)
    assert similar[0].user == 5 and similar[0].cosine == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    ("profile", "message"),
    [([], "empty"), ([(101, 9)], "outside the scale"), ([(101, "x")], "not a number"),
     ([(101, 4), ("101", 5)], "twice")],
)  # fmt: skip
def test_bad_profiles_are_refused(fitted, profile, message: str) -> None:
    with pytest.raises(DataError, match=message):
        fitted.recommend_profile(profile)


def test_same_seed_same_recommendations() -> None:
    frame = random_ratings(seed=5)
    first = DualAttentionRecommender(embedding_dim=8, epochs=3, seed=7, progress=False).fit(frame)
    second = DualAttentionRecommender(embedding_dim=8, epochs=3, seed=7, progress=False).fit(frame)
    np.testing.assert_array_equal(first.score().to_numpy(), second.score().to_numpy())
    for user in first.users_[:10]:
        assert [r.item for r in first.recommend(user, delta=0.3)] == [
            r.item for r in second.recommend(user, delta=0.3)
        ]


def test_counterfactual_summaries(fitted) -> None:
    results = fitted.counterfactual(users=[3, 1, 2], n_permutations=5, seed=1)
    for family in ("recommendation", "similarity"):
        assert [u.user for u in results[family].users] == [3, 1, 2]  # raw ids, in the given order
        summary = results[family].summary()
        assert 0.0 <= summary["tvd"]["median"] <= 1.0
        assert -1.0 <= summary["kendall_tau"]["median"] <= 1.0


def test_explain_one_item(fitted, small_ratings) -> None:
    rated = set(small_ratings.loc[small_ratings["user"] == 1, "item"])
    unrated = next(i for i in fitted.items_ if i not in rated)
    rec = fitted.explain(1, unrated, delta=0.0)
    assert rec.item == unrated
    with pytest.raises(DataError, match="already rated"):
        fitted.explain(1, next(iter(rated)))


def test_a_user_nobody_resembles_gets_flagged_fallbacks(small_ratings) -> None:
    """Like the extra user of the shared ml-latest-small copy: one rating of an item nobody
    else rated, so no neighbour; the model trains and answers, every item is a fallback."""
    odd = pd.DataFrame({"user": [999], "item": [999_999], "rating": [5.0], "timestamp": [0]})
    model = DualAttentionRecommender(embedding_dim=4, epochs=2, progress=False)
    model.fit(pd.concat([small_ratings, odd], ignore_index=True))
    assert model.attention(999).similarity == []
    recs = model.recommend(999, n=3, fallback=True)
    assert len(recs) == 3 and not any(r.explainable for r in recs)
    assert model.recommend(999, n=3) == []
