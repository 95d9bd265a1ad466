"""Time to reach the best validation NDCG@10: attnrec against EASE and cornac's VAECF.

All three see the same seeded 10% per-user holdout and are scored by the same NDCG@10 over
the unrated items (attnrec.model.trainer.ndcg_at_k). Printed as times and ratios.

    .venv/bin/python benchmarks/anchors.py --datasets ml-100k ml-latest-small

EASE (Steck 2019) is attnrec.model.item_item's closed form, the one the item-item term uses.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load, scaled

from attnrec.model.item_item import binarise, ease_weights
from attnrec.model.trainer import holdout_split, ndcg_at_k


def mean_ndcg(scores: np.ndarray, train: sp.csr_matrix, valid: sp.csr_matrix) -> float:
    users = np.flatnonzero(np.diff(valid.indptr) > 0)
    return float(np.nanmean(ndcg_at_k(scores[users], train[users], valid[users], 10)))


def ease(train: sp.csr_matrix, valid: sp.csr_matrix, penalty: float) -> tuple[float, float]:
    """(seconds, NDCG@10) of EASE's closed form on binary interactions."""
    start = time.perf_counter()
    scores = binarise(train) @ ease_weights(train, penalty)
    return time.perf_counter() - start, mean_ndcg(np.asarray(scores), train, valid)


def vaecf(train: sp.csr_matrix, valid: sp.csr_matrix, epochs: int) -> tuple[float, float]:
    """(seconds, NDCG@10) of cornac's VAECF trained for ``epochs`` epochs."""
    from cornac.data import Dataset
    from cornac.models import VAECF

    coo = train.tocoo()
    triples = list(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    start = time.perf_counter()
    data = Dataset.from_uir(triples, seed=0)
    model = VAECF(k=20, autoencoder_structure=[100], n_epochs=epochs, batch_size=100,
                  learning_rate=1e-3, beta=1.0, seed=0, verbose=False)  # fmt: skip
    model.fit(data)
    scores = np.full(train.shape, -np.inf)
    users = [data.uid_map[u] for u in range(train.shape[0]) if u in data.uid_map]
    items = np.array([data.iid_map[i] for i in range(train.shape[1]) if i in data.iid_map])
    raw_items = np.array([i for i in range(train.shape[1]) if i in data.iid_map])
    for raw_user in range(train.shape[0]):
        if raw_user in data.uid_map:
            scores[raw_user, raw_items] = model.score(data.uid_map[raw_user])[items]
    del users
    return time.perf_counter() - start, mean_ndcg(scores, train, valid)


def attnrec_run(dataset, epochs: int) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """(seconds to the best epoch incl. neighbours, best NDCG@10, best epoch) of attnrec."""
    from attnrec.model.recommender import DualAttentionRecommender

    start = time.perf_counter()
    # early stopping on a 10% holdout, as the anchors get (not the default fixed epochs)
    model = DualAttentionRecommender(
        epochs=epochs, validation_fraction=0.1, lr_schedule="constant", device="cpu",
        progress=False, seed=0,
    )  # fmt: skip
    model.fit(dataset)
    total = time.perf_counter() - start
    history = model.history_
    after_best = sum(r.seconds for r in history.history[history.best_epoch :])
    # the final neighbour pass of fit (on all ratings) is not needed to reach the best epoch
    return total - after_best, float(history.best_validation_ndcg or np.nan), history.best_epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["ml-100k", "ml-latest-small"])
    parser.add_argument("--epochs", type=int, default=30, help="attnrec's epoch cap")
    parser.add_argument("--vae-epochs", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--ease-penalty", type=float, nargs="+", default=[100.0, 500.0])
    args = parser.parse_args()
    load_average = os.getloadavg()[0]
    print(f"torch threads {torch.get_num_threads()}; load average {load_average:.2f} at start")
    rows = []
    for name in args.datasets:
        dataset = load(name)
        train, valid = holdout_split(scaled(dataset), 0.1, seed=0)

        # anchors: the best of a small grid, time = the whole grid up to the best setting
        ease_runs = [ease(train, valid, p) for p in args.ease_penalty]
        vae_runs = [vaecf(train, valid, e) for e in args.vae_epochs]
        ours = attnrec_run(dataset, args.epochs)
        for label, runs in (("EASE", ease_runs), ("VAECF", vae_runs)):
            best = int(np.argmax([r[1] for r in runs]))
            seconds = sum(r[0] for r in runs[: best + 1])
            rows.append((name, label, seconds, runs[best][1]))
        rows.append((name, f"attnrec (best epoch {ours[2]})", ours[0], ours[1]))
        print(f"{name}: EASE {ease_runs}, VAECF {vae_runs}, attnrec {ours}", flush=True)

    print(
        f"\n{'data set':<16} {'method':<26} {'s to best':>10} {'NDCG@10':>8} {'attnrec/x time':>15}"
    )
    for name, label, seconds, ndcg in rows:
        mine = next(r for r in rows if r[0] == name and r[1].startswith("attnrec"))
        print(f"{name:<16} {label:<26} {seconds:>10.1f} {ndcg:>8.4f} {mine[2] / seconds:>15.2f}")


if __name__ == "__main__":
    main()
