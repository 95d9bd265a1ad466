"""Helpers shared by the benchmark scripts: data sets by name, timers, an RSS guard."""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from attnrec.data.dataset import RatingDataset
from attnrec.evaluation.splits import Split, random_holdout

#: the shared, read-only real data (never copied into the repository)
DATA_ROOT = Path(
    os.environ.get("ATTNREC_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def load(name: str, seed: int = 0) -> RatingDataset:
    """ "ml-100k", "ml-latest-small" (real, from DATA_ROOT) or "synthetic-<shape>"."""
    if name.startswith("synthetic-"):
        from attnrec.data.synthetic import generate_preset

        return generate_preset(name.removeprefix("synthetic-"), seed=seed)
    from attnrec.data.loaders import load_dataset

    return load_dataset(name, data_dir=DATA_ROOT, download=False)


def scaled(dataset: RatingDataset) -> sp.csr_matrix:
    """Ratings over the top of the scale, as the model sees them."""
    matrix = dataset.ratings.astype(np.float32)
    matrix.data /= np.float32(dataset.rating_scale[1])
    return matrix


@contextmanager
def timer(into: dict[str, float], key: str) -> Iterator[None]:
    """Store the wall time of the block in ``into[key]`` and its CPU time (all threads of the
    process, user + system) in ``into[key + "_cpu"]``, in seconds. Under contention for cores
    the CPU time is the steadier figure."""
    start, cpu = time.perf_counter(), time.process_time()
    yield
    into[key] = time.perf_counter() - start
    into[key + "_cpu"] = time.process_time() - cpu


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def guard_rss(limit_gib: float) -> None:
    """Abort the process when its RSS exceeds ``limit_gib`` (checked every half second)."""
    import psutil

    process = psutil.Process()

    def watch() -> None:
        while True:
            rss = process.memory_info().rss / 2**30
            if rss > limit_gib:
                print(f"ABORT: RSS {rss:.1f} GiB exceeds the {limit_gib} GiB guard", flush=True)
                sys.stdout.flush()
                os._exit(3)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()


#: the outer seed of the validation recipe of the second to seventh tuning runs; the validation
#: parts lie inside the training part of ``attnrec evaluate``'s default split (seed 0) only with
#: ``--outer-seed 0`` (docs/evaluation.md, "The choice checked on validation splits inside seed
#: 0's training part")
OUTER_SEED = 42


def validation_parser(description: str, attnrec: bool = True) -> argparse.ArgumentParser:
    """The arguments every validation benchmark takes: the data set, where it lies, the two
    seeds of the split and, for scripts that fit attnrec, its config (JSON) and torch threads."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("dataset", help="ml-100k or ml-latest-small")
    if attnrec:
        parser.add_argument("params", nargs="?", default="{}", help="ModelConfig/TrainConfig JSON")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--outer-seed",
        type=int,
        default=OUTER_SEED,
        help="seed of the outer 80/20 split whose training part is split again "
        "(0: nested in the default split of attnrec evaluate)",
    )
    parser.add_argument("--split-seed", type=int, default=7, help="seed of the inner split")
    if attnrec:
        parser.add_argument("--threads", type=int, default=1, help="torch threads")
    return parser


def validation_setup(args: argparse.Namespace) -> tuple[dict[str, Any], RatingDataset, Split]:
    """From parsed ``validation_parser`` arguments: attnrec's config, the outer training part
    and its validation split (torch's thread count is set on the way)."""
    import torch

    from attnrec.data.loaders import load_dataset

    if hasattr(args, "threads"):
        torch.set_num_threads(args.threads)
    params = json.loads(getattr(args, "params", "{}"))
    dataset = load_dataset(args.dataset, data_dir=args.data_dir)
    train, validation = validation_split(dataset, args.outer_seed, args.split_seed)
    return params, train, validation


def validation_split(
    dataset: RatingDataset, outer_seed: int = OUTER_SEED, inner_seed: int = 7
) -> tuple[RatingDataset, Split]:
    """The outer split's training part, and that part split again per user 80/20: models fit
    on the inner training part and are scored on the validation part; the outer test part is
    never read."""
    train = random_holdout(dataset, 0.2, seed=outer_seed).train_dataset(dataset)
    return train, random_holdout(train, 0.2, seed=inner_seed)
