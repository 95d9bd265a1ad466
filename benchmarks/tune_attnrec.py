"""Tune attnrec over its existing config levers on a validation split, never the test split.

The test split is the one ``attnrec evaluate`` uses (per-user random 80/20, seed 0). Its
training part is split again (per-user random 80/20, seed 1): configurations are fitted on the
inner training part and ranked by NDCG@10 on the validation part. EASE (lambda 500) is scored on
the same validation split as the reference to beat. Each configuration changes one lever from the
defaults (an ablation), and a last row combines the levers that helped.

Usage:
    python benchmarks/tune_attnrec.py [--dataset ml-100k] [--data-dir ../shared/data]
        [--out tuning.csv] [--only NAME ...]

Prints one line per configuration as it finishes and writes the table as CSV and Markdown.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd

from attnrec.data.loaders import load_dataset
from attnrec.evaluation.baselines import EASE
from attnrec.evaluation.protocol import AttnrecModel, evaluate
from attnrec.evaluation.splits import random_holdout

logger = logging.getLogger("tune_attnrec")

#: one lever changed from the defaults per row (ModelConfig / TrainConfig fields)
GRID: dict[str, dict[str, Any]] = {
    "defaults": {},
    "K=20": {"n_neighbours": 20},
    "K=100": {"n_neighbours": 100},
    "lambda=0": {"alignment_lambda": 0.0},
    "lambda=0.1": {"alignment_lambda": 0.1},
    "corruption=0.2": {"corruption": 0.2},
    "corruption=0.7": {"corruption": 0.7},
    "dim=32": {"embedding_dim": 32},
    "dim=128": {"embedding_dim": 128},
    "layers=2": {"n_layers": 2},
    "lr=1e-3,epochs=100": {"learning_rate": 1e-3, "epochs": 100, "patience": 12},
    "lr=1e-2": {"learning_rate": 1e-2},
    "no similarity trace": {"use_similarity_trace": False},
    "no recommendation trace": {"use_recommendation_trace": False},
}

KS = (10, 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default="tuning.csv")
    parser.add_argument("--only", nargs="*", help="names of GRID rows to run (default: all)")
    parser.add_argument(
        "--extra", default=None, help='one more row as JSON, e.g. {"corruption":0.7}'
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    # the test split of `attnrec evaluate`, and a validation split inside its training part
    dataset = load_dataset(args.dataset, data_dir=args.data_dir)
    outer = random_holdout(dataset, 0.2, seed=0)
    train = outer.train_dataset(dataset)
    inner = random_holdout(train, 0.2, seed=1)

    grid = {k: GRID[k] for k in args.only} if args.only else dict(GRID)
    if args.extra:
        import json

        grid["combined"] = json.loads(args.extra)

    # the reference: EASE on the same validation split
    rows = [_row("EASE (lambda 500)", {}, evaluate(train, [EASE(500.0)], inner, KS, 4.0))]
    _print(rows[-1])
    for name, params in grid.items():
        started = time.perf_counter()
        model = AttnrecModel(**params)
        result = evaluate(train, [model], inner, KS, 4.0, progress=False)
        rows.append(_row(name, params, result, time.perf_counter() - started))
        rows[-1]["best_epoch"] = model.model_.history_.best_epoch
        _print(rows[-1])
        _write(rows, Path(args.out))


def _row(name: str, params: dict[str, Any], result: Any, seconds: float = 0.0) -> dict[str, Any]:
    summary = result.summary()
    out: dict[str, Any] = {"config": name, "params": params}
    for model in summary.index:
        suffix = "" if model in ("attnrec", "ease") else " (delta)"
        for metric in ("ndcg@10", "recall@20"):
            out[metric + suffix] = float(summary.loc[model, metric])
        if model == "attnrec":
            out["fit_seconds"] = float(summary.loc[model, "fit_seconds"])
    out["seconds"] = seconds
    return out


def _print(row: dict[str, Any]) -> None:
    figures = ", ".join(f"{k} {v:.4f}" for k, v in row.items() if isinstance(v, float) and "@" in k)
    print(f"{row['config']:<26} {figures}  ({row.get('fit_seconds', 0.0):.0f}s fit)", flush=True)


def _write(rows: list[dict[str, Any]], path: Path) -> None:
    frame = pd.DataFrame(rows)
    frame.to_csv(path, index=False)
    path.with_suffix(".md").write_text(frame.round(4).to_markdown(index=False) + "\n")


if __name__ == "__main__":
    main()
