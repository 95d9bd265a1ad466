"""Run folders: everything needed to reload a fitted model, with no pickle anywhere.

A run folder holds:
- ``config.json``: format version, model and training configs, data source, training summary;
- ``model.safetensors``: the network's weights, the training rating matrix (CSR arrays) and the
  neighbour table;
- ``ids.json``: raw user and item ids in index order, titles, rating scale, format version;
- whatever reports the command added (report.md, figures, CSV and JSON files).

A folder is written under a temporary name and renamed into place when complete, so an
interrupted run never leaves a half-written folder, and an existing run is only replaced when
the caller asks for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from safetensors.torch import load_file, save_file

from attnrec import __version__
from attnrec.data.dataset import IdMap, RatingDataset
from attnrec.errors import RunFolderError
from attnrec.folders import staged_folder
from attnrec.model.config import ModelConfig, TrainConfig
from attnrec.model.neighbours import Neighbours
from attnrec.model.network import DualAttentionNet
from attnrec.model.recommender import DualAttentionRecommender, set_item_item

FORMAT_VERSION = 1
REQUIRED = ("config.json", "model.safetensors", "ids.json")


def write_run(
    model: DualAttentionRecommender,
    out: Path,
    extra: Callable[[Path], None] | None = None,
    overwrite: bool = False,
    source: dict[str, Any] | None = None,
) -> Path:
    """Save a fitted model (and the reports ``extra`` writes into the folder) to ``out``.

    Raises:
        RunFolderError: ``out`` exists and is not empty, and ``overwrite`` is False.
    """
    out = Path(out)
    with staged_folder(out, overwrite, marker=REQUIRED[0]) as staging:
        save_model(model, staging, source)
        if extra is not None:
            extra(staging)
    return out


def save_model(
    model: DualAttentionRecommender, folder: Path, source: dict[str, Any] | None = None
) -> None:
    """Write config.json, model.safetensors and ids.json into an existing folder."""
    model._check_fitted()
    dataset = model.dataset_
    history = model.history_
    config = {
        "format_version": FORMAT_VERSION,
        "attnrec_version": __version__,
        "model": model.model_config.model_dump(),
        "train": model.train_config.model_dump(),
        "data": {"name": dataset.name, **(source or {})},
        "training": {
            "best_epoch": history.best_epoch,
            "best_validation_ndcg": history.best_validation_ndcg,
            "seconds": history.seconds,
            "history": [asdict(record) for record in history.history],
        },
    }
    tensors = {
        f"network.{k}": v.detach().cpu().contiguous()
        for k, v in model.network_.state_dict().items()
    }
    ratings = dataset.ratings.tocsr()
    tensors["ratings.indptr"] = torch.as_tensor(ratings.indptr.astype(np.int64))
    tensors["ratings.indices"] = torch.as_tensor(ratings.indices.astype(np.int64))
    tensors["ratings.data"] = torch.as_tensor(ratings.data.astype(np.float32))
    tensors["neighbours.index"] = torch.as_tensor(model.neighbours_.index)
    tensors["neighbours.similarity"] = torch.as_tensor(model.neighbours_.similarity)
    ids = {
        "format_version": FORMAT_VERSION,
        "users": dataset.users.to_json(),
        "items": dataset.items.to_json(),
        "titles": dataset.titles,
        "rating_scale": list(dataset.rating_scale),
        "name": dataset.name,
    }
    _write_json(folder / "config.json", config)
    _write_json(folder / "ids.json", ids)
    save_file(
        tensors, str(folder / "model.safetensors"), metadata={"format_version": str(FORMAT_VERSION)}
    )


def load_run(folder: Path | str, device: str = "cpu") -> DualAttentionRecommender:
    """Reload a fitted model from a run folder written by ``write_run``."""
    folder = Path(folder)
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    if not folder.is_dir():
        raise RunFolderError(
            f"{folder} is not a folder; give the --out folder of a train or paper run"
        )
    if missing:
        raise RunFolderError(f"{folder} is not a run folder: missing {', '.join(missing)}")
    config = _read_json(folder / "config.json")
    ids = _read_json(folder / "ids.json")
    for name, document in (("config.json", config), ("ids.json", ids)):
        if document.get("format_version") != FORMAT_VERSION:
            raise RunFolderError(
                f"{folder / name}: format version {document.get('format_version')!r}, this attnrec "
                f"reads version {FORMAT_VERSION}; retrain with this version"
            )
    try:
        tensors = load_file(str(folder / "model.safetensors"), device="cpu")
    except Exception as error:  # safetensors raises several types for a damaged file
        raise RunFolderError(f"{folder / 'model.safetensors'} is damaged: {error}") from None

    # the dataset, back from its CSR arrays and id lists
    users, items = IdMap(ids["users"]), IdMap(ids["items"])
    ratings = sp.csr_matrix(
        (
            tensors["ratings.data"].numpy(),
            tensors["ratings.indices"].numpy(),
            tensors["ratings.indptr"].numpy(),
        ),
        shape=(len(users), len(items)),
    )
    dataset = RatingDataset(
        users=users,
        items=items,
        ratings=ratings,
        rating_scale=(float(ids["rating_scale"][0]), float(ids["rating_scale"][1])),
        titles=dict(ids.get("titles", {})),
        name=str(ids.get("name", "ratings")),
    )

    # the network, from its weights; runs written before F_Theta could be tied used a dense
    # one, those written before the item-item term had none, and those written before the
    # votes were weighted by the rating had attention-only votes (p = 0), and those written
    # before the accuracy target could be sharpened trained on ybar ~ r (q = 1)
    model_fields = {
        "output_layer": "dense", "item_item": "off", "vote_rating_power": 0.0,
        "target_rating_power": 1.0, **config["model"],
    }  # fmt: skip
    model = DualAttentionRecommender(
        ModelConfig(**model_fields), TrainConfig(**config["train"]), progress=False
    )
    network = DualAttentionNet(len(items), model.model_config)
    state = {k.removeprefix("network."): v for k, v in tensors.items() if k.startswith("network.")}
    network.load_state_dict(state)
    neighbours = Neighbours(
        tensors["neighbours.index"].numpy(), tensors["neighbours.similarity"].numpy()
    )
    model._set_fitted(dataset, network.to(device).eval(), neighbours)
    # B is not stored: EASE's closed form gives it back from the ratings
    set_item_item(network, model.scaled_)
    model.history_ = _history(config.get("training", {}))
    model.run_config_ = config
    return model


def _history(training: dict[str, Any]) -> Any:
    from attnrec.model.trainer import EpochRecord, TrainResult

    return TrainResult(
        history=[EpochRecord(**record) for record in training.get("history", [])],
        best_epoch=int(training.get("best_epoch", 0)),
        best_validation_ndcg=training.get("best_validation_ndcg"),
        seconds=float(training.get("seconds", 0.0)),
    )


def _write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RunFolderError(
            f"{path}: not valid JSON ({error.msg} at line {error.lineno})"
        ) from None
