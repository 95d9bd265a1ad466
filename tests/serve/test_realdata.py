"""`attnrec serve` on MovieLens 100K, end to end: train briefly, write the run, serve it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from attnrec.data.loaders import load_dataset
from attnrec.model.recommender import DualAttentionRecommender
from attnrec.runs import write_run
from attnrec.serve.app import create_app

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module")
def ml100k_client(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    dataset = load_dataset("ml-100k", data_dir=data_root, download=False)
    model = DualAttentionRecommender(epochs=2, embedding_dim=16, progress=False).fit(dataset)
    run = write_run(model, tmp_path_factory.mktemp("ml100k") / "run")
    return TestClient(create_app(run))


def test_ml100k_served(ml100k_client: TestClient) -> None:
    client = ml100k_client
    health = client.get("/api/health").json()
    assert (health["n_users"], health["n_items"], health["n_ratings"]) == (943, 1682, 100_000)

    # search finds Star Wars (item 50) whatever the case
    found = client.get("/api/items/search", params={"q": "STAR WARS"}).json()
    assert found["items"][0] == {
        "item": 50,
        "title": "Star Wars (1977)",
        "n_ratings": 583,
        "mean_rating": pytest.approx(4.358, abs=1e-3),
    }

    # user "1" and user 1 are the same; recommendations carry titled explanations
    recs = client.get("/api/users/1/recommendations", params={"n": 10, "fallback": True}).json()
    assert recs["user"] == 1 and len(recs["recommendations"]) == 10
    assert all(r["title"] for r in recs["recommendations"])
    attention = client.get("/api/users/1/attention").json()
    assert attention["n_rated"] == 272

    # a new profile of three Star Wars films, answered without retraining
    ratings = [{"item": i, "rating": 5} for i in (50, 172, 181)]
    answer = client.post(
        "/api/profile/recommendations", json={"ratings": ratings, "fallback": True}
    ).json()
    items = {r["item"] for r in answer["recommendations"]["recommendations"]}
    assert len(items) == 10 and not items & {50, 172, 181}

    # the permutation test and a 404 on real ids
    cf = client.get("/api/users/1/counterfactual", params={"permutations": 5}).json()
    assert len(cf["original"]) == 10
    assert client.get("/api/users/944/recommendations").status_code == 404
