"""Every endpoint of `attnrec serve` and every error it answers, with FastAPI's test client."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from attnrec.errors import RunFolderError
from attnrec.serve.app import STATIC, create_app
from attnrec.serve.schemas import MAX_PERMUTATIONS

# the served toy run of conftest.py: users 1..60, items 101..140, 12 ratings per user
N_USERS, N_ITEMS, FIRST_ITEM = 60, 40, 101


def rated_items(served, user) -> set:
    row = served.dataset_.user_index(user)
    return {served.items_[i] for i in served.dataset_.ratings[row].indices}


def unrated_item(served, user):
    return next(i for i in served.items_ if i not in rated_items(served, user))


def assert_problem(response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail", "error"}
    assert "\n" not in body["detail"]
    for word in words:
        assert word in body["detail"], body["detail"]
    return body


# ------------------------------------------------------------------------------ health, users


def test_health_describes_the_run(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert (body["n_users"], body["n_items"]) == (N_USERS, N_ITEMS)
    assert body["n_ratings"] == N_USERS * 12
    assert body["rating_scale"] == [1.0, 5.0]
    assert body["n_neighbours"] == 10
    assert body["limits"]["max_n"] == N_ITEMS
    assert body["limits"]["max_permutations"] == MAX_PERMUTATIONS


def test_users_by_prefix(client: TestClient) -> None:
    body = client.get("/api/users", params={"prefix": "1", "limit": 3}).json()
    # ids 1, 10..19 start with "1": 11 users, the first 3 in id order
    assert body["total"] == 11
    assert [u["user"] for u in body["users"]] == [1, 10, 11]
    assert all(u["n_ratings"] == 12 for u in body["users"])
    assert client.get("/api/users").json()["total"] == N_USERS


# ------------------------------------------------------------------------------ recommendations


def test_recommendations_match_the_model(client: TestClient, served) -> None:
    body = client.get("/api/users/1/recommendations", params={"n": 5, "delta": 0.5}).json()
    expected = served.recommend(1, 5, 0.5)
    assert [r["item"] for r in body["recommendations"]] == [r.item for r in expected]
    assert body["user"] == 1
    assert body["deltas"] == {"score": 0.5, "attention": 0.5, "rating": 0.5}
    for got, want in zip(body["recommendations"], expected, strict=True):
        assert got["sentence"] == want.sentence
        assert got["neighbour"]["user"] == want.neighbour.user
        assert got["title"] == served.dataset_.title(want.item)
        assert got["own_items"], "an explanation lists the user's most attended items"


def test_recommendations_never_include_rated_items(client: TestClient, served) -> None:
    for user in (1, 2, 37):
        body = client.get(f"/api/users/{user}/recommendations", params={"n": 20, "fallback": True})
        items = [r["item"] for r in body.json()["recommendations"]]
        assert len(items) == 20
        assert not set(items) & rated_items(served, user)


def test_string_and_integer_ids_are_the_same_user(client: TestClient) -> None:
    as_text = client.get("/api/users/7/recommendations").json()
    padded = client.get("/api/users/%207/recommendations").json()
    assert as_text == padded
    assert as_text["user"] == 7


def test_fallback_fills_the_list_and_flags_it(client: TestClient) -> None:
    strict = client.get("/api/users/3/recommendations", params={"n": 25, "delta": 0.95}).json()
    filled = client.get(
        "/api/users/3/recommendations", params={"n": 25, "delta": 0.95, "fallback": True}
    ).json()
    assert len(strict["recommendations"]) < 25
    assert strict["note"] and "fallback" in strict["note"]
    assert len(filled["recommendations"]) == 25
    flagged = [r for r in filled["recommendations"] if not r["explainable"]]
    assert flagged and all(r["neighbour"] is None for r in flagged)
    assert all("fallback" in r["sentence"] for r in flagged)


def test_delta_overrides_are_applied(client: TestClient, served) -> None:
    params = {"n": 8, "delta": 0.6, "delta_rating": 1.0, "fallback": False}
    body = client.get("/api/users/4/recommendations", params=params).json()
    assert body["deltas"] == {"score": 0.6, "attention": 0.6, "rating": 1.0}
    for r in body["recommendations"]:
        assert r["neighbour"]["rating"] == 5.0  # delta_rating 1.0 keeps 5/5 supporters only
    expected = served.recommend(4, 8, 0.6, delta_rating=1.0)
    assert [r["item"] for r in body["recommendations"]] == [r.item for r in expected]


def test_unconstrained_top_n_is_ranked_by_score(client: TestClient) -> None:
    body = client.get(
        "/api/users/5/recommendations", params={"n": 6, "explainable_only": False}
    ).json()
    recs = body["recommendations"]
    assert [r["rank"] for r in recs] == [1, 2, 3, 4, 5, 6]
    scores = [r["score"] for r in recs]
    assert scores == sorted(scores, reverse=True)


# ------------------------------------------------------------------------------ explanation


def test_explanation_of_one_item(client: TestClient, served) -> None:
    item = unrated_item(served, 2)
    body = client.get(f"/api/users/2/items/{item}/explanation").json()
    want = served.explain(2, item)
    assert body["item"] == item
    assert body["rank"] == want.rank
    assert body["explainable"] == want.explainable
    assert body["sentence"] == want.sentence


def test_explanation_of_a_rated_item_is_refused(client: TestClient, served) -> None:
    item = sorted(rated_items(served, 2))[0]
    assert_problem(
        client.get(f"/api/users/2/items/{item}/explanation"), 422, "already rated", str(item)
    )


# ------------------------------------------------------------------------------ attention


def test_attention_lists_both_families(client: TestClient, served) -> None:
    body = client.get("/api/users/1/attention", params={"top": 100}).json()
    similar = [s["attention"] for s in body["similar_users"]]
    rated = [a["attention"] for a in body["rated_items"]]
    assert similar == sorted(similar, reverse=True)
    assert rated == sorted(rated, reverse=True)
    assert sum(similar) == pytest.approx(1.0, abs=1e-5)  # alpha_sim is a softmax over K
    assert body["n_neighbours"] == len(similar) == 10
    assert body["n_rated"] == len(rated) == 12
    assert {a["item"] for a in body["rated_items"]} == rated_items(served, 1)
    assert all(a["title"] for a in body["rated_items"])
    assert 1 not in {s["user"] for s in body["similar_users"]}


def test_attention_top_bounds_the_lists(client: TestClient) -> None:
    body = client.get("/api/users/1/attention", params={"top": 3}).json()
    assert len(body["similar_users"]) == len(body["rated_items"]) == 3


# ------------------------------------------------------------------------------ counterfactual


def test_counterfactual_compares_top_lists(client: TestClient, served) -> None:
    params = {"n": 5, "permutations": 6, "seed": 3}
    body = client.get("/api/users/1/counterfactual", params=params).json()

    # the original list is the top-5 unrated items by y^
    scores = served.score([1]).iloc[0]
    unrated = scores.drop(labels=list(rated_items(served, 1)))
    expected = list(unrated.sort_values(ascending=False, kind="stable").index[:5])
    assert [o["item"] for o in body["original"]] == expected
    assert [f["family"] for f in body["families"]] == ["recommendation", "similarity"]
    for family in body["families"]:
        assert len(family["example"]) == len(family["average"]) == 5
        assert 0.0 <= family["mean_overlap"] <= 1.0
        assert 0.0 <= family["top1_changed"] <= 1.0
        original = {o["item"] for o in body["original"]}
        for entry in family["example"]:
            assert entry["in_original"] == (entry["item"] in original)


def test_counterfactual_is_seeded(client: TestClient) -> None:
    params = {"n": 5, "permutations": 4, "seed": 11}
    first = client.get("/api/users/9/counterfactual", params=params).json()
    again = client.get("/api/users/9/counterfactual", params=params).json()
    assert first == again


def test_one_rated_item_cannot_be_permuted(client: TestClient, served) -> None:
    """Known answer: a one-item profile has a single alpha_rec, so permuting alpha_rec over N(u)
    is the identity and the top list cannot move."""
    item = served.items_[0]
    body = client.post(
        "/api/profile/counterfactual",
        json={"ratings": [{"item": item, "rating": 5}], "n": 5, "permutations": 5},
    ).json()
    rec = next(f for f in body["families"] if f["family"] == "recommendation")
    assert rec["mean_overlap"] == 1.0
    assert rec["top1_changed"] == 0.0
    assert [e["item"] for e in rec["example"]] == [o["item"] for o in body["original"]]
    assert rec["tvd_median"] == pytest.approx(0.0, abs=1e-6)


# ------------------------------------------------------------------------------ new profile


def profile(*pairs: tuple[object, float]) -> list[dict]:
    return [{"item": item, "rating": rating} for item, rating in pairs]


def test_profile_recommendations_without_retraining(client: TestClient, served) -> None:
    ratings = profile((FIRST_ITEM, 5), (str(FIRST_ITEM + 1), 4), (FIRST_ITEM + 2, 5))
    body = client.post(
        "/api/profile/recommendations", json={"ratings": ratings, "n": 5, "fallback": True}
    ).json()
    recs = body["recommendations"]["recommendations"]
    expected = served.recommend_profile(
        [(FIRST_ITEM, 5), (FIRST_ITEM + 1, 4), (FIRST_ITEM + 2, 5)], 5, fallback=True
    )
    assert [r["item"] for r in recs] == [r.item for r in expected]
    assert not {r["item"] for r in recs} & {FIRST_ITEM, FIRST_ITEM + 1, FIRST_ITEM + 2}
    assert body["recommendations"]["user"] is None
    assert body["attention"]["n_rated"] == 3
    assert {a["item"] for a in body["attention"]["rated_items"]} == {
        FIRST_ITEM,
        FIRST_ITEM + 1,
        FIRST_ITEM + 2,
    }


def test_a_space_profile_gets_space_titles(client: TestClient) -> None:
    """Known answer on the two taste groups: loving three Space titles brings Space titles."""
    ratings = profile((FIRST_ITEM, 5), (FIRST_ITEM + 3, 5), (FIRST_ITEM + 5, 5))
    body = client.post(
        "/api/profile/recommendations",
        json={"ratings": ratings, "n": 5, "fallback": True},
    ).json()
    neighbours = [s["user"] for s in body["attention"]["similar_users"]]
    assert sum(user % 2 == 0 for user in neighbours) >= len(neighbours) - 1  # even = Space fans


def test_profile_errors(client: TestClient) -> None:
    url = "/api/profile/recommendations"
    assert_problem(client.post(url, json={"ratings": profile((99999, 5))}), 404, "99999")
    assert_problem(client.post(url, json={"ratings": profile((FIRST_ITEM, 9))}), 422, "scale")
    twice = profile((FIRST_ITEM, 5), (str(FIRST_ITEM), 4))
    assert_problem(client.post(url, json={"ratings": twice}), 422, "twice")
    assert_problem(client.post(url, json={"ratings": []}), 422, "ratings")
    assert_problem(client.post(url, json={"ratings": profile((FIRST_ITEM, 5)), "x": 1}), 422)
    assert_problem(client.post(url, content=b"{not json"), 422)
    nan = b'{"ratings": [{"item": 101, "rating": NaN}]}'
    assert_problem(client.post(url, content=nan, headers={"content-type": "application/json"}), 422)


def test_oversized_profiles_are_refused(client: TestClient) -> None:
    url = "/api/profile/recommendations"
    # longer than the catalogue of 40 items
    longer = profile(*[(FIRST_ITEM + i % N_ITEMS, 4) for i in range(N_ITEMS + 1)])
    assert_problem(client.post(url, json={"ratings": longer}), 413, "41 ratings", "at most 40")
    # a profile of 100k items: the body limit refuses it before parsing
    huge = profile(*[(i, 5) for i in range(100_000)])
    assert_problem(client.post(url, json={"ratings": huge}), 413, "bytes")
    # the same, streamed without a content length
    data = json.dumps({"ratings": huge}).encode()
    chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))
    assert_problem(client.post(url, content=chunks), 413, "bytes")


def test_profile_counterfactual(client: TestClient) -> None:
    ratings = profile((FIRST_ITEM, 5), (FIRST_ITEM + 21, 2), (FIRST_ITEM + 4, 4))
    body = client.post(
        "/api/profile/counterfactual",
        json={"ratings": ratings, "n": 4, "permutations": 3, "seed": 1},
    ).json()
    assert body["user"] is None
    assert len(body["original"]) == 4
    assert {f["family"] for f in body["families"]} == {"recommendation", "similarity"}


# ------------------------------------------------------------------------------ search


def test_search_is_case_insensitive_and_bounded(client: TestClient) -> None:
    body = client.get("/api/items/search", params={"q": "sPaCe", "limit": 5}).json()
    assert body["total"] == N_ITEMS // 2
    assert len(body["items"]) == 5
    assert all("Space" in item["title"] for item in body["items"])
    counts = [item["n_ratings"] for item in body["items"]]
    assert counts == sorted(counts, reverse=True)


def test_search_finds_one_title_and_ids(client: TestClient) -> None:
    body = client.get("/api/items/search", params={"q": "western story 3 "}).json()
    assert [i["title"] for i in body["items"]] == ["Western Story 3 (2002)"]
    by_id = client.get("/api/items/search", params={"q": str(FIRST_ITEM)}).json()
    assert [i["item"] for i in by_id["items"]] == [FIRST_ITEM]
    assert client.get("/api/items/search", params={"q": "nothing like it"}).json()["total"] == 0


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "path",
    [
        "/api/users/9999/recommendations",
        "/api/users/9999/attention",
        "/api/users/9999/counterfactual",
        "/api/users/9999/items/101/explanation",
        "/api/users/abc/recommendations",
    ],
)
def test_unknown_user_is_404_naming_it(client: TestClient, path: str) -> None:
    user = path.split("/")[3]
    body = assert_problem(client.get(path), 404, f"unknown user '{user}'")
    assert body["error"] == "UnknownUserError"


def test_unknown_item_is_404_naming_it(client: TestClient) -> None:
    body = assert_problem(client.get("/api/users/1/items/4242/explanation"), 404, "'4242'")
    assert body["error"] == "UnknownItemError"


@pytest.mark.parametrize(
    "path",
    [
        "/api/users/1/recommendations?n=0",
        "/api/users/1/recommendations?n=abc",
        "/api/users/1/recommendations?delta=1.5",
        "/api/users/1/recommendations?delta=-0.1",
        "/api/users/1/recommendations?delta_score=nan",
        "/api/users/1/recommendations?delta_rating=inf",
        "/api/users/1/recommendations?fallback=maybe",
        "/api/users/1/items/101/explanation?delta_attention=2",
        "/api/users/1/attention?top=0",
        "/api/users/1/counterfactual?permutations=0",
        f"/api/users/1/counterfactual?permutations={MAX_PERMUTATIONS + 1}",
        "/api/users/1/counterfactual?seed=-1",
        "/api/items/search?q=",
        "/api/items/search",
        "/api/items/search?q=a&limit=1000",
        "/api/users?limit=0",
    ],
)
def test_bad_parameters_are_422(client: TestClient, path: str) -> None:
    body = assert_problem(client.get(path), 422)
    assert body["error"] == "ValidationError"
    assert body["detail"].startswith("query ")


@pytest.mark.parametrize(
    "path", ["/api/users/1/recommendations?n=41", "/api/users/1/counterfactual?n=41"]
)
def test_n_above_the_catalogue_is_413(client: TestClient, path: str) -> None:
    assert_problem(client.get(path), 413, "n=41", "catalogue of 40 items")


def test_unknown_route_and_method(client: TestClient) -> None:
    assert_problem(client.get("/api/nothing"), 404)
    assert_problem(client.delete("/api/health"), 405)


# ------------------------------------------------------------------------------ page and app


def test_page_and_static_files(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for name in ("app.js", "style.css"):
        assert f"/static/{name}" in page.text
        assert client.get(f"/static/{name}").status_code == 200


def test_page_needs_no_network() -> None:
    """No CDN: the static files reference nothing outside this server."""
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {
        "/api/health",
        "/api/users",
        "/api/users/{user}/recommendations",
        "/api/users/{user}/items/{item}/explanation",
        "/api/users/{user}/attention",
        "/api/users/{user}/counterfactual",
        "/api/profile/recommendations",
        "/api/profile/counterfactual",
        "/api/items/search",
    }
    docs = client.get("/docs")
    assert docs.status_code == 200
    # the documentation page loads its scripts from this server, not from a CDN
    assert "cdn.jsdelivr" not in docs.text and "unpkg.com" not in docs.text
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200


def test_create_app_from_a_model_and_a_bad_folder(served, tmp_path: Path) -> None:
    direct = TestClient(create_app(served))
    assert direct.get("/api/health").json()["n_users"] == N_USERS
    with pytest.raises(RunFolderError, match="not a run folder"):
        create_app(tmp_path)


def test_small_body_limit(served) -> None:
    limited = TestClient(create_app(served, max_body_bytes=64))
    ratings = profile(*[(FIRST_ITEM + i, 4) for i in range(5)])
    assert_problem(limited.post("/api/profile/recommendations", json={"ratings": ratings}), 413)


def test_numbers_are_finite_json(client: TestClient) -> None:
    """Every float of a full answer is finite (JSON cannot carry NaN)."""
    text = client.get("/api/users/1/counterfactual", params={"permutations": 3}).text
    assert "NaN" not in text and "Infinity" not in text
    values = json.loads(text)
    assert np.isfinite(values["original"][0]["score"])


# ------------------------------------------------------------------------------ command line


def test_cli_serve_help_and_bad_run(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from attnrec.cli import _register, app

    _register()
    runner = CliRunner()
    shown = runner.invoke(app, ["serve", "--help"])
    assert shown.exit_code == 0, shown.output
    assert "127.0.0.1" in shown.output and "--port" in shown.output
    assert "--workers" in shown.output
    failed = runner.invoke(app, ["serve", str(tmp_path)])
    assert isinstance(failed.exception, RunFolderError)  # main() prints it as one line, exit 2
    assert "not a run folder" in str(failed.exception)


def test_answers_run_on_the_event_loop_and_permutations_on_a_thread(
    served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Short model requests run one at a time on the event loop, permutation tests elsewhere."""
    seen: dict[str, tuple[str, bool]] = {}

    def on_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def record(name: str, method):  # type: ignore[no-untyped-def]
        def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
            seen[name] = (threading.current_thread().name, on_loop())
            return method(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(served, "recommend", record("recommend", served.recommend))
    monkeypatch.setattr(served, "permuted_scores", record("permute", served.permuted_scores))
    with TestClient(create_app(served)) as fresh:
        assert fresh.get("/api/users/1/recommendations").status_code == 200
        assert fresh.get("/api/users/1/counterfactual?permutations=2").status_code == 200
        # errors raised in either place still reach the handlers: 404 naming the user
        assert_problem(fresh.get("/api/users/nobody/recommendations"), 404, "nobody")
        assert_problem(fresh.get("/api/users/nobody/counterfactual"), 404, "nobody")
    assert seen["recommend"][1], "recommend did not run on the event loop"
    assert seen["permute"][0].startswith("attnrec-permutations") and not seen["permute"][1]
