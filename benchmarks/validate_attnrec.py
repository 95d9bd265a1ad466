"""One attnrec configuration on a validation split of ML-100K or ml-latest-small.

The recipe of the second to fourth tuning runs in docs/evaluation.md: the data set is split per
user 80/20 (seed 42), and that training part again 80/20 (seed 7); the configuration is fitted
on the inner training part and scored on the validation part (NDCG@10 and Recall@20, relevance
>= 4). The test split of ``attnrec evaluate`` is never touched.

    python benchmarks/validate_attnrec.py ml-latest-small '{"item_item": "off"}' --ease

Prints one line: the configuration, EASE's figures (with --ease), attnrec's and attnrec-delta's,
the best epoch, the learned item-item gain and the seconds taken.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from attnrec.data.loaders import load_dataset
from attnrec.evaluation.baselines import EASE, Recommender
from attnrec.evaluation.protocol import AttnrecModel, evaluate
from attnrec.evaluation.splits import random_holdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="ml-100k or ml-latest-small")
    parser.add_argument("params", nargs="?", default="{}", help="ModelConfig/TrainConfig JSON")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--ease", action="store_true", help="also score EASE (lambda 500)")
    parser.add_argument("--split-seed", type=int, default=7, help="seed of the inner split")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_intermixed_args()  # the JSON may come before or after the options
    torch.set_num_threads(args.threads)
    params = json.loads(args.params)

    dataset = load_dataset(args.dataset, data_dir=args.data_dir)
    train = random_holdout(dataset, 0.2, seed=42).train_dataset(dataset)
    validation = random_holdout(train, 0.2, seed=args.split_seed)
    attnrec = AttnrecModel(**params)
    models: list[Recommender] = [EASE(500.0), attnrec] if args.ease else [attnrec]

    started = time.perf_counter()
    summary = evaluate(train, models, validation, (10, 20), 4.0, progress=False).summary()
    network = attnrec.model_.network_
    gain = network.item_log_gain.exp().item() if network.item_item else float("nan")
    figures = " | ".join(
        f"{name}: {summary.loc[name, 'ndcg@10']:.4f} {summary.loc[name, 'recall@20']:.4f}"
        for name in summary.index
    )
    print(
        f"{args.dataset} split {args.split_seed} {json.dumps(params)} {figures} "
        f"best_epoch {attnrec.model_.history_.best_epoch} gain {gain:.2f} "
        f"{time.perf_counter() - started:.0f}s",
        flush=True,
    )


if __name__ == "__main__":
    main()
