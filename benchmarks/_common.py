"""Helpers shared by the benchmark scripts: data sets by name, timers, an RSS guard."""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from attnrec.data.dataset import RatingDataset

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
