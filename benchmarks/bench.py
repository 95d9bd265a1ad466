"""Speed and memory of attnrec on real and synthetic data; prints one table.

Figures per data set: load time, top-K neighbour time, training time of one epoch, recommend +
explain latency of one user (p50, p99), time to recommend for all users, and the peak RSS of
the process that ran that data set (each data set runs in its own subprocess).

    .venv/bin/python benchmarks/bench.py                      # ML-100K, latest-small, synth. ML-1M
    .venv/bin/python benchmarks/bench.py --large              # + synthetic ML-20M shape
    .venv/bin/python benchmarks/bench.py --datasets synthetic-ml-20m --stages load,neighbours,epoch

Timings depend on the machine and on what else runs on it; the script states the thread count.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import guard_rss, load, peak_rss_mib, scaled, timer

DEFAULT_DATASETS = ("ml-100k", "ml-latest-small", "synthetic-ml-1m")
ALL_STAGES = ("load", "neighbours", "epoch", "recommend")
LARGE_STAGES = ("load", "neighbours", "epoch")


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    """Every requested stage on one data set, in this process."""
    from attnrec.model.config import ModelConfig, TrainConfig
    from attnrec.model.neighbours import user_neighbours
    from attnrec.model.network import DualAttentionNet
    from attnrec.model.recommender import set_item_item
    from attnrec.model.trainer import resolve_device, train

    stages = args.stages.split(",")
    figures: dict[str, Any] = {"dataset": args.one, "threads": torch.get_num_threads()}
    device = resolve_device(args.device)
    torch.manual_seed(0)

    # load: the file reader, or the generator for synthetic data
    with timer(figures, "load_s"):
        dataset = load(args.one)
    figures.update(users=dataset.n_users, items=dataset.n_items, ratings=dataset.n_ratings)
    matrix = scaled(dataset)

    # neighbours: top-K cosine of every user among the others
    if "neighbours" not in stages:
        return figures
    with timer(figures, "neighbours_s"):
        neighbours = user_neighbours(matrix, args.k, device=device)
    figures["k"] = args.k
    figures["rss_after_neighbours_mib"] = peak_rss_mib()

    # one training epoch, no validation, on all ratings
    model_config = ModelConfig.model_validate({"embedding_dim": args.dim, "n_neighbours": args.k})
    network = DualAttentionNet(dataset.n_items, model_config)
    if network.item_item:
        # EASE's closed form for the item-item term (default up to 20,000 items)
        with timer(figures, "item_item_s"):
            set_item_item(network, matrix)
    if "epoch" in stages:
        train_config = TrainConfig.model_validate(
            {"epochs": 1, "validation_fraction": 0.0, "batch_size": args.batch_size,
             "device": args.device}
        )  # fmt: skip
        with timer(figures, "train_s"):
            result = train(network, matrix, neighbours, model_config, train_config, progress=False)
        figures["epoch_s"] = result.history[0].seconds
        figures["batch_size"] = args.batch_size

    # recommend + explain for one user at a time, then recommendations for every user
    if "recommend" in stages:
        figures.update(_recommend_figures(dataset, network, neighbours, model_config, args))
    figures["peak_rss_mib"] = peak_rss_mib()
    return figures


def _recommend_figures(dataset, network, neighbours, model_config, args) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """p50/p99 latency of recommend (n=10, with explanations) + explain, and all-users time."""
    from attnrec.model.recommender import DualAttentionRecommender

    # one user at a time: a single thread avoids OpenMP overhead on tiny tensors
    threads = torch.get_num_threads()
    torch.set_num_threads(1)

    recommender = DualAttentionRecommender(model=model_config, device=args.device, progress=False)
    recommender._set_fitted(dataset, network.eval(), neighbours)
    users = recommender.users_
    rng = np.random.default_rng(0)
    sample = rng.choice(len(users), min(args.sample, len(users)), replace=False)
    latencies = []
    for row in sample:
        start = time.perf_counter()
        recs = recommender.recommend(users[row], n=10, fallback=True)
        if recs:
            recommender.explain(users[row], recs[0].item)
        latencies.append(time.perf_counter() - start)
    start = time.perf_counter()
    for user in users:
        recommender.recommend(user, n=10, fallback=True)
    torch.set_num_threads(threads)
    return {
        "latency_p50_ms": 1000 * float(np.percentile(latencies, 50)),
        "latency_p99_ms": 1000 * float(np.percentile(latencies, 99)),
        "all_users_s": time.perf_counter() - start,
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    """One line per data set, the columns the issue asks for."""
    columns = [
        ("dataset", "data set", "{}"),
        ("users", "users", "{:,}"),
        ("ratings", "ratings", "{:,}"),
        ("load_s", "load s", "{:.1f}"),
        ("neighbours_s", "top-K s", "{:.1f}"),
        ("k", "K", "{}"),
        ("item_item_s", "item-item B s", "{:.1f}"),
        ("epoch_s", "epoch s", "{:.1f}"),
        ("latency_p50_ms", "rec+expl p50 ms", "{:.1f}"),
        ("latency_p99_ms", "p99 ms", "{:.1f}"),
        ("all_users_s", "all users s", "{:.1f}"),
        ("peak_rss_mib", "peak RSS MiB", "{:,.0f}"),
    ]
    cells = [[title for _, title, _ in columns]]
    for row in rows:
        cells.append([fmt.format(row[key]) if key in row else "-" for key, _, fmt in columns])
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    for number, line in enumerate(cells):
        print(" | ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
        if number == 0:
            print("-+-".join("-" * width for width in widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DEFAULT_DATASETS))
    parser.add_argument("--large", action="store_true", help="also synthetic ML-20M shape")
    parser.add_argument("--stages", default=",".join(ALL_STAGES))
    parser.add_argument("--k", type=int, default=50, help="neighbours per user")
    parser.add_argument("--large-k", type=int, default=100, help="K at ML-20M shape")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--sample", type=int, default=200, help="users timed one by one")
    parser.add_argument("--device", default="cpu", help='"cpu", "cuda" or "auto"')
    parser.add_argument("--rss-limit-gib", type=float, default=16.0)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    # child: one data set, one JSON line
    if args.one:
        guard_rss(args.rss_limit_gib)
        print("RESULT " + json.dumps(run_one(args)), flush=True)
        return

    # parent: each data set in a fresh process, so that peak RSS is per data set
    jobs = [(name, args.stages, args.k) for name in args.datasets]
    if args.large:
        jobs.append(("synthetic-ml-20m", ",".join(LARGE_STAGES), args.large_k))
    rows = []
    for name, stages, k in jobs:
        command = [sys.executable, __file__, "--one", name, "--stages", stages, "--k", str(k)]
        command += ["--dim", str(args.dim), "--batch-size", str(args.batch_size)]
        command += ["--sample", str(args.sample), "--device", args.device]
        command += ["--rss-limit-gib", str(args.rss_limit_gib)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if not lines:
            print(
                f"{name}: failed (exit {done.returncode})\n"
                f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
            continue
        rows.append(json.loads(lines[-1].removeprefix("RESULT ")))
        print(json.dumps(rows[-1]), flush=True)
    print(f"\ntorch threads: {torch.get_num_threads()}, device: {args.device}")
    print_table(rows)


if __name__ == "__main__":
    main()
