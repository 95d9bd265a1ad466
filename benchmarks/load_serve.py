"""Load benchmark of ``attnrec serve``: explained recommendations under a steady request rate.

Starts ``attnrec serve RUN`` on 127.0.0.1 (never any other address) in a subprocess, then sends
``GET /api/users/{user}/recommendations?n=10`` for random users of the run at a fixed rate
(open loop: a request is sent on schedule whether or not earlier ones have answered, so a slow
server cannot hide its queue) for a bounded time, and prints throughput and latency
percentiles. Latency is measured from each request's scheduled start. ``--clients K`` switches
to a closed loop of K clients sending back to back, which measures the saturation throughput.

Target (issue 6): on 2 CPU cores, p99 under 50 ms at 100 requests/s with no errors.

Without ``--run``, a model is trained on MovieLens 100K first (``--data-dir``, default
``$ATTNREC_DATA_DIR`` or ../shared/data/ml-100k) into a temporary run folder.

    python benchmarks/load_serve.py --run runs/ml100k --rate 100 --duration 30
    python benchmarks/load_serve.py --run runs/ml100k --clients 4 --duration 15
    python benchmarks/load_serve.py --run runs/ml100k --profile 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

HOST = "127.0.0.1"
MAX_DURATION_S = 300.0
MAX_RATE = 2000.0
REQUEST_TIMEOUT_S = 10.0
MAX_IN_FLIGHT = 100
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ml-100k"


def main() -> None:
    args = _parse()
    with tempfile.TemporaryDirectory(prefix="attnrec-load-") as scratch:
        run = args.run or _train(Path(scratch) / "run", args.data_dir, args.epochs)
        if args.profile:
            _profile(run, args.profile, args.n)
            return
        users = _users(run)
        port = _free_port()
        server = _start_server(run, port, args.threads, args.workers)
        try:
            base = f"http://{HOST}:{port}"
            _wait_until_up(base, server)
            asyncio.run(_warm_up(base, users, args.n, args.warmup))
            if args.clients:
                result = asyncio.run(_closed_loop(base, users, args))
            else:
                result = asyncio.run(_open_loop(base, users, args))
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    _report(result, args)


# ------------------------------------------------------------------------------------------------
# set-up


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, help="run folder to serve (default: train ML-100K)")
    parser.add_argument("--data-dir", type=Path, default=None, help="ML-100K folder")
    parser.add_argument("--epochs", type=int, default=20, help="epochs when training")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--warmup", type=int, default=50, help="requests before measuring")
    parser.add_argument("--n", type=int, default=10, help="recommendations per request")
    parser.add_argument("--clients", type=int, default=0, help="closed loop with K clients")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per server process")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--seed", type=int, default=0, help="seed of the user draws")
    parser.add_argument("--profile", type=int, default=0, help="profile K requests in-process")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if not 0 < args.duration <= MAX_DURATION_S:
        parser.error(f"--duration must lie in (0, {MAX_DURATION_S:g}] seconds")
    if not 0 < args.rate <= MAX_RATE:
        parser.error(f"--rate must lie in (0, {MAX_RATE:g}] requests/s")
    if not 0 <= args.clients <= 64:
        parser.error("--clients must lie in [0, 64]")
    return args


def _train(out: Path, data_dir: Path | None, epochs: int) -> Path:
    """Train the dual-attention model on ML-100K and write a run folder."""
    from attnrec.data.loaders import load_ml100k
    from attnrec.model.recommender import DualAttentionRecommender
    from attnrec.runs import write_run

    folder = data_dir or Path(os.environ.get("ATTNREC_DATA_DIR", DEFAULT_DATA))
    if (folder / "ml-100k" / "u.data").is_file():
        folder = folder / "ml-100k"
    dataset = load_ml100k(folder)
    print(f"training on {dataset.describe()} ({epochs} epochs)...", flush=True)
    started = time.perf_counter()
    model = DualAttentionRecommender(epochs=epochs, progress=False).fit(dataset)
    print(f"trained in {time.perf_counter() - started:.0f} s", flush=True)
    return write_run(model, out, source={"name": "ml-100k"})


def _users(run: Path) -> list[Any]:
    document = json.loads((Path(run) / "ids.json").read_text(encoding="utf-8"))
    return list(document["users"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _start_server(run: Path, port: int, threads: int, workers: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-c",
        "from attnrec.cli import main; main()",
        "--quiet",
        "serve",
        str(run),
        "--host",
        HOST,
        "--port",
        str(port),
        "--threads",
        str(threads),
        "--workers",
        str(workers),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


def _wait_until_up(base: str, server: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer on {base} within {timeout:g} s")


# ------------------------------------------------------------------------------------------------
# load


def _url(user: Any, n: int) -> str:
    return f"/api/users/{user}/recommendations?n={n}"


async def _warm_up(base: str, users: list[Any], n: int, count: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT_S) as client:
        for user in users[:count]:
            await client.get(_url(user, n))


async def _open_loop(base: str, users: list[Any], args: argparse.Namespace) -> dict[str, Any]:
    """Requests at fixed times i / rate; latency counts from the scheduled time.

    Bounded: at most ``MAX_IN_FLIGHT`` requests are open at once (a request due while the
    server is that far behind is counted as an error, not sent), and everything still open
    ``REQUEST_TIMEOUT_S`` after the last send is cancelled and counted as an error.
    """
    draw = random.Random(args.seed)
    total = int(args.rate * args.duration)
    latencies: list[float] = []
    service: list[float] = []
    errors: list[str] = []
    in_flight: set[asyncio.Task[None]] = set()
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    client = httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT_S, limits=limits)

    async def one(scheduled: float, user: Any) -> None:
        sent = time.perf_counter()
        try:
            response = await asyncio.wait_for(client.get(_url(user, args.n)), REQUEST_TIMEOUT_S)
        except (httpx.HTTPError, TimeoutError) as error:
            errors.append(f"{type(error).__name__} for user {user}")
            return
        done = time.perf_counter()
        if response.status_code != 200:
            errors.append(f"{response.status_code} for user {user}")
        elif not response.json()["recommendations"][0]["sentence"]:
            errors.append(f"no explanation for user {user}")
        else:
            latencies.append(done - scheduled)
            service.append(done - sent)

    # send on schedule, never more than MAX_IN_FLIGHT open requests
    started = time.perf_counter()
    for i in range(total):
        scheduled = started + i / args.rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(in_flight) >= MAX_IN_FLIGHT:
            errors.append(f"not sent: {MAX_IN_FLIGHT} requests already open")
            continue
        task = asyncio.create_task(one(scheduled, draw.choice(users)))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)

    # wait for the stragglers, then give up on them
    if in_flight:
        _, pending = await asyncio.wait(set(in_flight), timeout=REQUEST_TIMEOUT_S)
        for task in pending:
            task.cancel()
        errors += [f"unanswered after {REQUEST_TIMEOUT_S:g} s"] * len(pending)
    elapsed = time.perf_counter() - started
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(client.aclose(), 5)
    return _figures("open loop", total, latencies, service, errors, elapsed, args)


async def _closed_loop(base: str, users: list[Any], args: argparse.Namespace) -> dict[str, Any]:
    """K clients, each sending its next request when the last one answered."""
    draw = random.Random(args.seed)
    latencies: list[float] = []
    errors: list[str] = []
    stop = time.perf_counter() + args.duration
    sent = 0

    async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT_S) as client:

        async def worker() -> None:
            nonlocal sent
            while time.perf_counter() < stop:
                user = draw.choice(users)
                sent += 1
                begin = time.perf_counter()
                try:
                    response = await asyncio.wait_for(
                        client.get(_url(user, args.n)), REQUEST_TIMEOUT_S
                    )
                except (httpx.HTTPError, TimeoutError) as error:
                    errors.append(f"{type(error).__name__} for user {user}")
                    continue
                if response.status_code != 200:
                    errors.append(f"{response.status_code} for user {user}")
                else:
                    latencies.append(time.perf_counter() - begin)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.clients)))
        elapsed = time.perf_counter() - started
    return _figures(
        f"closed loop, {args.clients} clients", sent, latencies, latencies, errors, elapsed, args
    )


def _figures(
    mode: str,
    sent: int,
    latencies: list[float],
    service: list[float],
    errors: list[str],
    elapsed: float,
    args: argparse.Namespace,
) -> dict[str, Any]:
    ms = np.asarray(latencies) * 1000
    service_ms = np.asarray(service) * 1000

    def pct(values: np.ndarray, q: float) -> float | None:
        return float(np.percentile(values, q)) if len(values) else None

    return {
        "mode": mode,
        "endpoint": f"GET /api/users/{{user}}/recommendations?n={args.n}",
        "target_rate": None if args.clients else args.rate,
        "duration_s": round(elapsed, 2),
        "sent": sent,
        "ok": len(latencies),
        "errors": len(errors),
        "error_examples": errors[:5],
        "throughput_rps": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {
            "p50": pct(ms, 50),
            "p90": pct(ms, 90),
            "p99": pct(ms, 99),
            "max": float(ms.max()) if len(ms) else None,
        },
        "service_ms": {"p50": pct(service_ms, 50), "p99": pct(service_ms, 99)},
        "server_torch_threads": args.threads,
        "server_workers": args.workers,
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def _report(result: dict[str, Any], args: argparse.Namespace) -> None:
    latency = result["latency_ms"]

    def show(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    print(f"attnrec serve load benchmark ({result['mode']}): {result['endpoint']}")
    print(
        f"  sent {result['sent']}, ok {result['ok']}, errors {result['errors']} "
        f"in {result['duration_s']} s -> {result['throughput_rps']} requests/s"
    )
    print(
        f"  latency ms: p50 {show(latency['p50'])}  p90 {show(latency['p90'])}  "
        f"p99 {show(latency['p99'])}  max {show(latency['max'])}"
    )
    if not args.clients:
        service = result["service_ms"]
        print(
            f"  from send (no client queueing): p50 {show(service['p50'])}  "
            f"p99 {show(service['p99'])} ms"
        )
        met = (
            result["errors"] == 0
            and latency["p99"] is not None
            and latency["p99"] < 50
            and result["throughput_rps"] >= 0.95 * args.rate
        )
        print(
            f"  target p99 < 50 ms at {args.rate:g} requests/s, no errors: "
            f"{'MET' if met else 'NOT MET'}"
        )
    print(
        f"  server: {args.workers} worker(s) x {args.threads} torch thread(s); "
        f"{result['cpu_count']} CPUs, load average {result['load_average'][0]:.2f}"
    )
    if result["error_examples"]:
        print(f"  first errors: {result['error_examples']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


# ------------------------------------------------------------------------------------------------
# where the time goes


def _profile(run: Path, count: int, n: int) -> None:
    """Profile ``count`` recommendation requests in-process and print the heaviest functions.

    The route's own function is called directly (the test client would run it in another
    thread, out of the profiler's sight), and its answer serialised to JSON as FastAPI does.
    """
    import cProfile
    import pstats

    import torch

    from attnrec.serve.app import create_app

    torch.set_num_threads(1)
    app = create_app(run)
    route = next(r for r in app.routes if getattr(r, "path", "").endswith("/recommendations"))
    # the route's sync body (the app's wrapper would queue it on the inference thread)
    endpoint = getattr(route.endpoint, "__wrapped__", route.endpoint)  # type: ignore[attr-defined]
    defaults: dict[str, Any] = {"delta": None, "delta_score": None, "delta_attention": None}
    defaults |= {"delta_rating": None, "fallback": False, "explainable_only": True}

    def request(user: Any) -> None:
        endpoint(user=str(user), n=n, **defaults).model_dump_json()

    users = _users(run)
    for user in users[:20]:
        request(user)
    timings = []
    for user in users[:count]:
        begin = time.perf_counter()
        request(user)
        timings.append(time.perf_counter() - begin)
    ms = np.asarray(timings) * 1000
    print(
        f"{len(ms)} requests in-process, no profiler: p50 {np.percentile(ms, 50):.2f} ms, "
        f"p99 {np.percentile(ms, 99):.2f} ms"
    )
    profiler = cProfile.Profile()
    profiler.enable()
    for user in users[:count]:
        request(user)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"attnrec|numpy|torch", 25)


if __name__ == "__main__":
    main()
