"""A small served run: 60 users x 40 titled items, two taste groups, written to a run folder."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

fastapi = pytest.importorskip("fastapi", reason="the serve extra is not installed")

from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from attnrec.data.dataset import RatingDataset, from_frame  # noqa: E402
from attnrec.model.recommender import DualAttentionRecommender  # noqa: E402
from attnrec.runs import write_run  # noqa: E402
from attnrec.serve.app import create_app  # noqa: E402

N_USERS, N_ITEMS = 60, 40
FIRST_ITEM = 101
GENRES = ("Space", "Western")


def synthetic_frame(seed: int = 0) -> tuple[pd.DataFrame, dict[int, str]]:
    """Users 1..60 in two taste groups; items 101..140, the first half "Space", the rest
    "Western". Each user rates 9 items of their group highly (4-5) and 3 others low (1-2)."""
    rng = np.random.default_rng(seed)
    half = N_ITEMS // 2
    rows = []
    for user in range(1, N_USERS + 1):
        group = user % 2
        liked = rng.choice(half, size=9, replace=False) + group * half
        disliked = rng.choice(half, size=3, replace=False) + (1 - group) * half
        rows += [(user, FIRST_ITEM + int(i), float(rng.integers(4, 6))) for i in liked]
        rows += [(user, FIRST_ITEM + int(i), float(rng.integers(1, 3))) for i in disliked]
    titles = {
        FIRST_ITEM + i: f"{GENRES[i // half]} Story {i % half + 1} ({1980 + i})"
        for i in range(N_ITEMS)
    }
    return pd.DataFrame(rows, columns=["user", "item", "rating"]), titles


@pytest.fixture(scope="session")
def serve_dataset() -> RatingDataset:
    frame, titles = synthetic_frame()
    return from_frame(
        frame, rating_scale=(1.0, 5.0), titles={str(k): v for k, v in titles.items()}, name="toy"
    )


@pytest.fixture(scope="session")
def serve_model(serve_dataset: RatingDataset) -> DualAttentionRecommender:
    model = DualAttentionRecommender(
        epochs=2, embedding_dim=8, n_neighbours=10, batch_size=16, progress=False
    )
    return model.fit(serve_dataset)


@pytest.fixture(scope="session")
def run_folder(
    serve_model: DualAttentionRecommender, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return write_run(serve_model, tmp_path_factory.mktemp("serve") / "run")


@pytest.fixture(scope="session")
def app(run_folder: Path) -> FastAPI:
    """The app of the run folder, loaded back as `attnrec serve` would."""
    return create_app(run_folder)


@pytest.fixture(scope="session")
def served(app: FastAPI):
    """The model the app serves (loaded from the run folder)."""
    return app.state.service.model


@pytest.fixture()
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def live_url(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 and a free port, in a background thread."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    # wait for the socket to listen (uvicorn sets `started`)
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
