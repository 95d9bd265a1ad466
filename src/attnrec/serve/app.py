"""The REST API and the web explorer of one run folder, built by :func:`create_app`.

Nothing happens when this module is imported: ``create_app`` loads the run (safetensors weights
and JSON id maps, never pickle) and builds a FastAPI application around it. Every answer is
JSON; every error is a :class:`~attnrec.serve.schemas.Problem` with a one-line message:

- an unknown user or item: 404, naming it;
- a parameter out of range or of the wrong type: 422;
- a request too large for the run (n above the catalogue, a profile longer than the catalogue
  or than ``MAX_PROFILE``, a body above ``max_body_bytes``): 413.

Requests that run the model for an answer (recommendations, explanations, attention, new
profiles) run one at a time on the event loop itself, in arrival order: a forward pass on
ML-100K takes about 5 ms, and handing the GIL back and forth between the event loop and a worker
thread made the tail latency at 100 requests/s two to three times longer (docs/serve.md). The
permutation tests, the only heavy requests, run on a thread of their own so that they never
hold up the others. Answers are serialised to JSON once and sent as they are (FastAPI does not
validate them again against the response model).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, ParamSpec

import numpy as np
import torch
from fastapi import Body, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from attnrec import __version__
from attnrec.data.dataset import id_key
from attnrec.errors import AttnrecError, ConfigError, UnknownItemError, UnknownUserError
from attnrec.explain import explanation as core
from attnrec.explain.counterfactual import compare
from attnrec.model.recommender import DualAttentionRecommender, Profile
from attnrec.runs import load_run
from attnrec.serve import schemas
from attnrec.serve.schemas import MAX_N, MAX_PERMUTATIONS, MAX_PROFILE, MAX_RESULTS

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

#: environment variables through which `attnrec serve --workers N` hands the run to each worker
RUN_ENV = "ATTNREC_SERVE_RUN"
THREADS_ENV = "ATTNREC_SERVE_THREADS"

#: the largest request body accepted, in bytes (a profile of MAX_PROFILE pairs is ~40 KB)
DEFAULT_MAX_BODY_BYTES = 1 << 20

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": schemas.Problem, "description": "Unknown user or item"},
    413: {"model": schemas.Problem, "description": "Request too large for this run"},
    422: {"model": schemas.Problem, "description": "Invalid parameter"},
}

# query parameters shared by several endpoints
UserId = Annotated[str, PathParam(min_length=1, max_length=200, description="Raw user id.")]
ItemId = Annotated[str, PathParam(min_length=1, max_length=200, description="Raw item id.")]
N = Annotated[int, Query(ge=1, le=MAX_N, description="Number of items (at most the catalogue).")]
Delta = Annotated[
    float | None,
    Query(ge=0.0, le=1.0, allow_inf_nan=False, description="Threshold in [0, 1]."),
]
Top = Annotated[int, Query(ge=1, le=MAX_RESULTS, description="Rows of each list.")]


P = ParamSpec("P")


class TooLarge(Exception):
    """A request the server refuses because of its size (answered with 413)."""


def create_app(
    run: Path | str | DualAttentionRecommender,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """Build the API and the web explorer of one fitted model.

    Args:
        run: a run folder written by ``attnrec.runs.write_run`` (or ``attnrec train``), or a
            fitted model.
        max_body_bytes: requests with a larger body are refused with 413.

    Returns:
        The FastAPI application; serve it with uvicorn.
    """
    model = run if isinstance(run, DualAttentionRecommender) else load_run(run)
    model._check_fitted()
    service = Service(model)
    threads = Threads()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        threads.shutdown()

    # FastAPIOffline serves Swagger UI's files itself: /docs works without a network
    app = FastAPIOffline(
        lifespan=lifespan,
        title="attnrec",
        version=__version__,
        description=(
            "Recommendations explained by the attention coefficients of the dual-attention "
            f"recommender. Serving {model.dataset_.describe()}."
        ),
    )
    app.state.service = service
    _add_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    _add_api_routes(app, service, threads)
    _add_page_routes(app)
    return app


def app_from_environment() -> FastAPI:
    """The app of the run named by ``ATTNREC_SERVE_RUN``: uvicorn's factory for each worker
    process of ``attnrec serve --workers N`` (the command line sets the variable)."""
    run = os.environ.get(RUN_ENV)
    if not run:
        raise ConfigError(f"{RUN_ENV} is not set; start the server with `attnrec serve RUN`")
    threads = os.environ.get(THREADS_ENV)
    if threads:
        torch.set_num_threads(int(threads))
    return create_app(Path(run))


class Threads:
    """The thread of the permutation tests (one at a time), made on first use and again after
    a shutdown: an app can be started more than once (tests open several clients on one app)."""

    def __init__(self) -> None:
        self._pools: dict[str, ThreadPoolExecutor] = {}

    def pool(self, name: str) -> ThreadPoolExecutor:
        if name not in self._pools:
            self._pools[name] = ThreadPoolExecutor(1, thread_name_prefix=f"attnrec-{name}")
        return self._pools[name]

    def shutdown(self) -> None:
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.shutdown(wait=False, cancel_futures=True)


def _as_json(body: Callable[P, BaseModel], *args: P.args, **kwargs: P.kwargs) -> Response:
    """The route body's answer serialised once and sent without FastAPI's re-validation."""
    return Response(body(*args, **kwargs).model_dump_json(), media_type="application/json")


def on_event_loop(body: Callable[P, BaseModel]) -> Callable[P, Awaitable[Response]]:
    """Run a short route body on the event loop, one request at a time in arrival order.

    The wrapper keeps the body's signature, which FastAPI reads for parameters and docs; errors
    reach the app's exception handlers unchanged.
    """

    @functools.wraps(body)
    async def route(*args: P.args, **kwargs: P.kwargs) -> Response:
        return _as_json(body, *args, **kwargs)

    return route


def on_thread(
    threads: Threads, name: str
) -> Callable[[Callable[P, BaseModel]], Callable[P, Awaitable[Response]]]:
    """Run a long route body on thread ``name`` (a queue in arrival order), so that the event
    loop goes on answering the short requests meanwhile."""

    def decorate(body: Callable[P, BaseModel]) -> Callable[P, Awaitable[Response]]:
        @functools.wraps(body)
        async def route(*args: P.args, **kwargs: P.kwargs) -> Response:
            loop = asyncio.get_running_loop()
            call = functools.partial(_as_json, body, *args, **kwargs)
            return await loop.run_in_executor(threads.pool(name), call)

        return route

    return decorate


# ------------------------------------------------------------------------------------------------
# the model behind the routes


class Service:
    """The fitted model and the look-up tables the routes need, built once per app."""

    def __init__(self, model: DualAttentionRecommender) -> None:
        self.model = model
        dataset = model.dataset_
        self.n_items = dataset.n_items

        # per-user and per-item counts, mean ratings and lower-case titles for the search
        ratings = dataset.ratings.tocsr()
        self.user_counts = np.diff(ratings.indptr)
        columns = ratings.tocsc()
        self.item_counts = np.diff(columns.indptr)
        sums = np.asarray(columns.sum(axis=0)).ravel()
        self.item_means = np.divide(
            sums, self.item_counts, out=np.full(len(sums), np.nan), where=self.item_counts > 0
        )
        self.titles = [dataset.title(item) for item in model.items_]
        self.lower_titles = [(t or "").lower() for t in self.titles]
        self.popular = np.argsort(-self.item_counts, kind="stable")
        self.user_keys = [id_key(u) for u in model.users_]
        self._heavy = threading.Lock()

    @staticmethod
    def _raw(raw: Any) -> schemas.RawId:
        """A raw id as the API shows it: integers stay integers, anything else is text."""
        return raw if isinstance(raw, int | str) else str(raw)

    # ------------------------------------------------------------------------ sizes

    def check_n(self, n: int) -> None:
        """Refuse a list longer than the catalogue."""
        if n > self.n_items:
            raise TooLarge(
                f"n={n} is above the catalogue of {self.n_items} items; ask for at most "
                f"{self.n_items}"
            )

    def check_profile(self, ratings: list[schemas.ProfileRating]) -> list[tuple[Any, float]]:
        """Refuse a profile longer than the catalogue or than MAX_PROFILE; return its pairs."""
        limit = min(self.n_items, MAX_PROFILE)
        if len(ratings) > limit:
            raise TooLarge(
                f"the profile has {len(ratings)} ratings; at most {limit} are accepted "
                "(keep one rating per item of the catalogue)"
            )
        return [(entry.item, entry.rating) for entry in ratings]

    # ------------------------------------------------------------------------ answers

    def health(self) -> schemas.Health:
        model, dataset = self.model, self.model.dataset_
        low, high = dataset.rating_scale
        return schemas.Health(
            attnrec_version=__version__,
            dataset=dataset.name,
            n_users=dataset.n_users,
            n_items=dataset.n_items,
            n_ratings=dataset.n_ratings,
            rating_scale=[low, high],
            embedding_dim=model.model_config.embedding_dim,
            n_neighbours=model.neighbours_.k,
            limits={
                "max_n": min(MAX_N, self.n_items),
                "max_permutations": MAX_PERMUTATIONS,
                "max_profile": min(MAX_PROFILE, self.n_items),
                "max_results": MAX_RESULTS,
            },
        )

    def users(self, prefix: str, limit: int) -> schemas.UserList:
        wanted = prefix.strip()
        rows = [i for i, key in enumerate(self.user_keys) if key.startswith(wanted)]
        return schemas.UserList(
            users=[
                schemas.UserSummary(
                    user=self._raw(self.model.users_[i]), n_ratings=int(self.user_counts[i])
                )
                for i in rows[:limit]
            ],
            total=len(rows),
        )

    def search(self, query: str, limit: int) -> schemas.ItemSearch:
        needle = query.strip().lower()
        exact = self.model.dataset_.items.get(query)
        hits = [
            int(i)
            for i in self.popular
            if (needle and needle in self.lower_titles[i]) or int(i) == exact
        ]
        return schemas.ItemSearch(
            query=query, items=[self._item(i) for i in hits[:limit]], total=len(hits)
        )

    def _item(self, index: int) -> schemas.ItemSummary:
        mean = float(self.item_means[index])
        return schemas.ItemSummary(
            item=self._raw(self.model.items_[index]),
            title=self.titles[index],
            n_ratings=int(self.item_counts[index]),
            mean_rating=mean if math.isfinite(mean) else None,
        )

    def recommendations(
        self,
        user: Any,
        recommendations: list[core.Recommendation],
        n: int,
        deltas: dict[str, float | None],
        fallback: bool,
    ) -> schemas.Recommendations:
        resolved = _resolve_deltas(deltas)
        explained = sum(r.explainable for r in recommendations)
        note = None
        if explained < n and not fallback:
            note = (
                f"only {explained} of {n} items pass the delta-rule; lower delta or pass "
                "fallback=true to fill the list with unexplained items"
            )
        return schemas.Recommendations(
            user=user,
            n=n,
            deltas=resolved,
            fallback=fallback,
            recommendations=[_recommendation(r) for r in recommendations],
            note=note,
        )

    def attention(self, user: Any, profile: Profile, top: int) -> schemas.Attention:
        found = self.model.attention_of(profile)
        users = self.model.dataset_.users
        return schemas.Attention(
            user=user,
            similar_users=[
                schemas.SimilarUser(
                    user=s.user,
                    attention=_finite(s.attention),
                    cosine=_finite(s.cosine),
                    n_ratings=_count(self.user_counts, users.get(s.user)),
                )
                for s in found.similarity[:top]
            ],
            rated_items=[_attended(a) for a in found.recommendation[:top]],
            n_neighbours=len(found.similarity),
            n_rated=len(found.recommendation),
        )

    def counterfactual(
        self,
        user: Any,
        profile: Profile,
        row: int | None,
        n: int,
        permutations: int,
        seed: int,
    ) -> schemas.Counterfactual:
        """Top-n by score before and after permuting each family (``row``: a known user)."""
        generator = torch.Generator().manual_seed(seed)

        # the permuted forward passes are the heavy part: one request at a time
        with self._heavy:
            if row is not None:
                original, permuted = self.model.permuted_scores(
                    np.array([row]), permutations, generator
                )
            else:
                original, permuted = self.model.permuted_scores_of(profile, permutations, generator)

        # candidates are the unrated items; ranks are among them (1 = best)
        scores = original[0]
        candidates = np.setdiff1d(np.arange(self.n_items), profile.row.indices)
        order = _ranking(scores, candidates)
        original_rank = np.zeros(self.n_items, dtype=np.int64)
        original_rank[order] = np.arange(1, len(order) + 1)
        top = order[:n]
        return schemas.Counterfactual(
            user=user,
            n=n,
            n_permutations=permutations,
            seed=seed,
            original=self._ranked(top, scores, original_rank, set(top.tolist())),
            families=[
                self._family(family, stack[:, 0, :], scores, candidates, original_rank, top)
                for family, stack in permuted.items()
            ],
        )

    def _family(
        self,
        family: str,
        permuted: np.ndarray,
        scores: np.ndarray,
        candidates: np.ndarray,
        original_rank: np.ndarray,
        top: np.ndarray,
    ) -> schemas.FamilyCounterfactual:
        n, kept = len(top), set(top.tolist())
        tops = [_ranking(p, candidates)[:n] for p in permuted]
        measures = [compare(scores, p, candidates) for p in permuted]
        mean_scores = permuted.mean(axis=0)
        return schemas.FamilyCounterfactual(
            family=family,  # type: ignore[arg-type]
            example=self._ranked(tops[0], permuted[0], original_rank, kept),
            average=self._ranked(
                _ranking(mean_scores, candidates)[:n], mean_scores, original_rank, kept
            ),
            mean_overlap=float(np.mean([len(kept & set(t.tolist())) / max(n, 1) for t in tops])),
            top1_changed=float(np.mean([t[0] != top[0] for t in tops])) if n else 0.0,
            tvd_median=_median(m["tvd"] for m in measures),
            jsd_median=_median(m["jsd"] for m in measures),
            kendall_tau_median=_median(m["kendall_tau"] for m in measures),
        )

    def _ranked(
        self, items: np.ndarray, scores: np.ndarray, original_rank: np.ndarray, kept: set[int]
    ) -> list[schemas.RankedItem]:
        return [
            schemas.RankedItem(
                item=self.model.items_[i],
                title=self.titles[i],
                score=_finite(scores[i]),
                rank=rank,
                original_rank=int(original_rank[i]),
                in_original=int(i) in kept,
            )
            for rank, i in enumerate(items.tolist(), start=1)
        ]


# ------------------------------------------------------------------------------------------------
# routes


def _add_api_routes(app: FastAPI, service: Service, threads: Threads) -> None:
    """The JSON endpoints under /api; answers from the model run on the event loop, the
    permutation tests on their own thread."""
    model = service.model
    inference = on_event_loop
    permutations = on_thread(threads, "permutations")

    @app.get("/api/health", response_model=schemas.Health, tags=["meta"])
    def health() -> schemas.Health:
        """The served run: data set, sizes, model settings and the server's limits."""
        return service.health()

    @app.get("/api/users", response_model=schemas.UserList, tags=["users"], responses=_ERRORS)
    def users(
        prefix: Annotated[str, Query(max_length=200, description="Start of the id.")] = "",
        limit: Top = 20,
    ) -> schemas.UserList:
        """Known users whose id starts with ``prefix``, in id order."""
        return service.users(prefix, limit)

    @app.get(
        "/api/users/{user}/recommendations",
        response_model=schemas.Recommendations,
        tags=["users"],
        responses=_ERRORS,
    )
    @inference
    def recommendations(
        user: UserId,
        n: N = 10,
        delta: Delta = None,
        delta_score: Delta = None,
        delta_attention: Delta = None,
        delta_rating: Delta = None,
        fallback: bool = False,
        explainable_only: bool = True,
    ) -> schemas.Recommendations:
        """The user's top-n unrated items, each with its explanation (the delta-rule).

        ``delta`` sets the three thresholds at once; ``delta_score``, ``delta_attention`` and
        ``delta_rating`` override one each. ``fallback`` fills the list with unexplained items,
        flagged ``explainable: false``; ``explainable_only=false`` ranks by score alone.
        """
        service.check_n(n)
        found = model.recommend(
            user,
            n,
            delta,
            delta_score=delta_score,
            delta_attention=delta_attention,
            delta_rating=delta_rating,
            fallback=fallback,
            explainable_only=explainable_only,
        )
        deltas = {"delta": delta, "score": delta_score}
        deltas |= {"attention": delta_attention, "rating": delta_rating}
        return service.recommendations(_raw_user(model, user), found, n, deltas, fallback)

    @app.get(
        "/api/users/{user}/items/{item}/explanation",
        response_model=schemas.Recommendation,
        tags=["users"],
        responses=_ERRORS,
    )
    @inference
    def explanation(
        user: UserId,
        item: ItemId,
        delta: Delta = None,
        delta_attention: Delta = None,
        delta_rating: Delta = None,
    ) -> schemas.Recommendation:
        """Why the model would (or would not) recommend one unrated item to the user.

        The score threshold is not applied. An item the user already rated is refused (422).
        """
        found = model.explain(
            user, item, delta, delta_attention=delta_attention, delta_rating=delta_rating
        )
        return _recommendation(found)

    @app.get(
        "/api/users/{user}/attention",
        response_model=schemas.Attention,
        tags=["users"],
        responses=_ERRORS,
    )
    @inference
    def attention(user: UserId, top: Top = 10) -> schemas.Attention:
        """The user's most similar users by alpha_sim and rated items by alpha_rec."""
        row = model.dataset_.user_index(user)
        return service.attention(model.users_[row], model._profile_of_user(user), top)

    @app.get(
        "/api/users/{user}/counterfactual",
        response_model=schemas.Counterfactual,
        tags=["users"],
        responses=_ERRORS,
    )
    @permutations
    def counterfactual(
        user: UserId,
        n: N = 10,
        permutations: Annotated[
            int, Query(ge=1, le=MAX_PERMUTATIONS, description="Random permutations per family.")
        ] = 20,
        seed: Annotated[int, Query(ge=0, le=2**31 - 1, description="Seed of the draws.")] = 0,
    ) -> schemas.Counterfactual:
        """The user's top-n by score before and after permuting each coefficient family."""
        service.check_n(n)
        row = model.dataset_.user_index(user)
        profile = model._profile_of_user(user)
        return service.counterfactual(model.users_[row], profile, row, n, permutations, seed)

    @app.post(
        "/api/profile/recommendations",
        response_model=schemas.ProfileAnswer,
        tags=["profile"],
        responses=_ERRORS,
    )
    @inference
    def profile_recommendations(
        request: Annotated[schemas.ProfileRequest, Body()],
    ) -> schemas.ProfileAnswer:
        """Recommendations and attention of a new user's ratings, without retraining."""
        service.check_n(request.n)
        pairs = service.check_profile(request.ratings)
        profile = model.profile_from_ratings(pairs)
        deltas = {"delta": request.delta, "score": request.delta_score}
        deltas |= {"attention": request.delta_attention, "rating": request.delta_rating}
        resolved = _resolve_deltas(deltas)
        found = model.recommend_profile_of(
            profile, request.n, _core_deltas(resolved), request.fallback
        )
        return schemas.ProfileAnswer(
            recommendations=service.recommendations(
                None, found, request.n, deltas, request.fallback
            ),
            attention=service.attention(None, profile, request.top),
        )

    @app.post(
        "/api/profile/counterfactual",
        response_model=schemas.Counterfactual,
        tags=["profile"],
        responses=_ERRORS,
    )
    @permutations
    def profile_counterfactual(
        request: Annotated[schemas.ProfileCounterfactualRequest, Body()],
    ) -> schemas.Counterfactual:
        """A new user's top-n by score before and after permuting each coefficient family."""
        service.check_n(request.n)
        profile = model.profile_from_ratings(service.check_profile(request.ratings))
        return service.counterfactual(
            None, profile, None, request.n, request.permutations, request.seed
        )

    @app.get(
        "/api/items/search", response_model=schemas.ItemSearch, tags=["items"], responses=_ERRORS
    )
    def search(
        q: Annotated[
            str, Query(min_length=1, max_length=200, description="Part of a title, or an id.")
        ],
        limit: Top = 20,
    ) -> schemas.ItemSearch:
        """Items whose title contains ``q`` (case-insensitive), most rated first."""
        return service.search(q, limit)


def _add_page_routes(app: FastAPI) -> None:
    """The web explorer: one page and its static files, no build step and no CDN."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")


# ------------------------------------------------------------------------------------------------
# errors


def _add_error_handlers(app: FastAPI) -> None:
    """Every error becomes a Problem with a one-line message; none is a 500."""

    @app.exception_handler(AttnrecError)
    def attnrec_error(_request: Request, error: AttnrecError) -> JSONResponse:
        status = 404 if isinstance(error, UnknownUserError | UnknownItemError) else 422
        return _problem(status, str(error), type(error).__name__)

    @app.exception_handler(TooLarge)
    def too_large(_request: Request, error: TooLarge) -> JSONResponse:
        return _problem(413, str(error), "TooLarge")

    @app.exception_handler(RequestValidationError)
    def invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        return _problem(422, _validation_message(error.errors()), "ValidationError")

    @app.exception_handler(StarletteHTTPException)
    def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        # FastAPI answers 400 to a body it cannot decode (e.g. not UTF-8): bad input, so 422
        if error.status_code == 400:
            detail = f"{error.detail}: send a UTF-8 JSON object as the schema at /docs shows"
            return _problem(422, detail, "ValidationError")
        return _problem(error.status_code, str(error.detail), "HTTPError", error.headers)


def _problem(
    status: int, detail: str, error: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = schemas.Problem(detail=detail, error=error).model_dump()
    return JSONResponse(body, status_code=status, headers=dict(headers) if headers else None)


def _validation_message(errors: Iterable[Any]) -> str:
    """One line: each bad field as ``where: what``, e.g. ``query n: Input should be ...``."""
    parts = []
    for entry in errors:
        location = [str(part) for part in entry.get("loc", ())]
        where = " ".join([*location[:1], ".".join(location[1:])]).strip() or "request"
        parts.append(f"{where}: {entry.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


class BodyLimit:
    """ASGI middleware refusing request bodies above ``max_bytes`` with 413, streamed or not."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return

        # refuse at once when the declared length is too big
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send, int(declared))
            return

        # otherwise read the body up to the limit, then replay it to the app
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(None, receive), send)
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(scope, receive, send, len(body))
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: int) -> None:
        response = _problem(
            413,
            f"the request body has {size} bytes or more; at most {self.max_bytes} are accepted "
            f"(a profile may hold at most {MAX_PROFILE} ratings)",
            "TooLarge",
        )
        await response(scope, receive, send)


def _replay(body: bytes | None, receive: Receive) -> Callable[[], Any]:
    """A receive callable that first answers the buffered body, then defers to ``receive``."""
    pending = [body]

    async def replayed() -> Message:
        if pending and pending[0] is not None:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replayed


# ------------------------------------------------------------------------------------------------
# conversions


def _raw_user(model: DualAttentionRecommender, user: Any) -> Any:
    """The stored spelling of a user id (``"1"`` -> ``1`` when the run stores integers)."""
    return model.users_[model.dataset_.user_index(user)]


def _resolve_deltas(deltas: dict[str, float | None]) -> schemas.DeltaValues:
    from attnrec.explain.delta_rule import Deltas

    resolved = Deltas.resolve(
        deltas["delta"], deltas["score"], deltas["attention"], deltas["rating"]
    )
    return schemas.DeltaValues(
        score=resolved.score, attention=resolved.attention, rating=resolved.rating
    )


def _core_deltas(values: schemas.DeltaValues) -> Any:
    from attnrec.explain.delta_rule import Deltas

    return Deltas(score=values.score, attention=values.attention, rating=values.rating)


def _recommendation(found: core.Recommendation) -> schemas.Recommendation:
    return schemas.Recommendation(
        item=found.item,
        title=found.title,
        score=_finite(found.score),
        rank=found.rank,
        explainable=found.explainable,
        sentence=found.sentence,
        neighbour=_supporter(found.neighbour) if found.neighbour else None,
        other_neighbours=[_supporter(s) for s in found.other_neighbours],
        own_items=[_attended(a) for a in found.own_items],
    )


def _supporter(support: core.NeighbourSupport) -> schemas.Neighbour:
    return schemas.Neighbour(
        user=support.user,
        attention=_finite(support.attention),
        cosine=_finite(support.cosine),
        rating=_finite(support.rating),
    )


def _attended(item: core.AttendedItem) -> schemas.AttendedItem:
    return schemas.AttendedItem(
        item=item.item,
        title=item.title,
        rating=_finite(item.rating),
        attention=_finite(item.attention),
    )


def _ranking(scores: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Candidates by score, best first (ties: smaller index first, as the delta-rule does)."""
    return candidates[np.argsort(-scores[candidates], kind="stable")]


def _finite(value: Any) -> float:
    """A JSON-safe float: NaN and infinities (which JSON cannot carry) become 0."""
    number = float(value)
    return number if math.isfinite(number) else 0.0


def _median(values: Iterable[float]) -> float | None:
    """Median of the finite values, or None when none is finite (e.g. Kendall tau of ties)."""
    finite = [v for v in values if math.isfinite(v)]
    return float(np.median(finite)) if finite else None


def _count(counts: np.ndarray, index: int | None) -> int | None:
    return None if index is None else int(counts[index])
