"""One attnrec configuration on a validation split of ML-100K or ml-latest-small.

The recipe of the second to seventh tuning runs in docs/evaluation.md: the data set is split
per user 80/20 (--outer-seed, 42 by default), and that training part again 80/20
(--split-seed, 7 by default); the configuration is fitted on the inner training part and scored
on the validation part (NDCG@10 and Recall@20, relevance >= 4). The outer test part is never
read. With --outer-seed 0 the validation split lies inside the training part of the default
split of ``attnrec evaluate``; with 42 about 39% of that split's test ratings fall in one of the
validation parts of inner seeds 7, 11 and 13 (they are different random splits of the same
ratings).

    python benchmarks/validate_attnrec.py ml-latest-small '{"item_item": "off"}' --ease

Prints one line: the configuration, EASE's figures (with --ease), attnrec's and attnrec-delta's,
the best epoch, the learned item-item gain and the seconds taken.
"""

from __future__ import annotations

import json
import time

from _common import validation_parser, validation_setup

from attnrec.evaluation.baselines import EASE, Recommender
from attnrec.evaluation.protocol import AttnrecModel, evaluate


def main() -> None:
    parser = validation_parser(__doc__.splitlines()[0])
    parser.add_argument("--ease", action="store_true", help="also score EASE (lambda 500)")
    args = parser.parse_intermixed_args()  # the JSON may come before or after the options
    params, train, validation = validation_setup(args)
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
