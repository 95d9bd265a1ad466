"""Profile one training epoch and one all-users recommendation pass with torch.profiler.

Prints the top operators by self CPU time for each, and cProfile's top Python functions for
the recommendation pass (where the time is in Python, not in torch operators).

    .venv/bin/python benchmarks/profiling.py --dataset ml-100k --users 300
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load, scaled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--users", type=int, default=0, help="users in the pass (0: all)")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()

    from attnrec.model.config import ModelConfig, TrainConfig
    from attnrec.model.neighbours import user_neighbours
    from attnrec.model.network import DualAttentionNet
    from attnrec.model.recommender import DualAttentionRecommender, set_item_item
    from attnrec.model.trainer import train

    dataset = load(args.dataset)
    matrix = scaled(dataset)
    model_config = ModelConfig.model_validate({"n_neighbours": args.k})
    train_config = TrainConfig.model_validate(
        {"epochs": 1, "validation_fraction": 0.0, "device": "cpu"}
    )
    torch.manual_seed(0)
    network = DualAttentionNet(dataset.n_items, model_config)
    set_item_item(network, matrix)  # the default model's B (outside the profiles)

    # one epoch: neighbours, then the training loop
    activities = [ProfilerActivity.CPU]
    with profile(activities=activities) as epoch_profile:
        neighbours = user_neighbours(matrix, args.k)
        train(network, matrix, neighbours, model_config, train_config, progress=False)
    print(f"== one training epoch on {args.dataset} (torch.profiler, self CPU time)")
    print(epoch_profile.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.top))

    # one recommendation pass (n=10, explained) over the users
    recommender = DualAttentionRecommender(model=model_config, progress=False)
    recommender._set_fitted(dataset, network.eval(), neighbours)
    users = recommender.users_[: args.users or None]
    python_profile = cProfile.Profile()
    with profile(activities=activities) as pass_profile:
        python_profile.enable()
        for user in users:
            recommender.recommend(user, n=10, fallback=True)
        python_profile.disable()
    print(f"== recommend(n=10) for {len(users)} users (torch.profiler, self CPU time)")
    print(pass_profile.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.top))
    print("== the same pass, cProfile by own time")
    pstats.Stats(python_profile).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
