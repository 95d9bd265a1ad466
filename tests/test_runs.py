"""Run folders: round trip, refusal to overwrite, damaged folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from attnrec import DualAttentionRecommender, load_run
from attnrec.errors import RunFolderError
from attnrec.runs import write_run
from attnrec.testing import random_ratings


@pytest.fixture(scope="module")
def model():
    return DualAttentionRecommender(embedding_dim=6, epochs=2, progress=False).fit(random_ratings())


def test_round_trip_gives_the_same_scores(model, tmp_path: Path) -> None:
    write_run(model, tmp_path / "run")
    loaded = load_run(tmp_path / "run")
    np.testing.assert_allclose(loaded.score().to_numpy(), model.score().to_numpy(), rtol=1e-6)
    assert loaded.model_config == model.model_config
    assert loaded.train_config == model.train_config
    assert loaded.users_ == model.users_ and loaded.items_ == model.items_
    assert not list((tmp_path / "run").glob("*.pkl"))


@pytest.mark.parametrize(
    ("field", "old_value"),
    [("output_layer", "dense"), ("vote_rating_power", 0.0), ("target_rating_power", 1.0)],
)
def test_runs_from_before_an_option_load_with_its_old_behaviour(
    field: str, old_value: object, tmp_path: Path
) -> None:
    """A run folder written before an option existed has no such key: it loads with the
    behaviour of its time (a dense F_Theta; attention-only votes; a target ybar ~ r) and
    scores as it did."""
    old = DualAttentionRecommender(
        embedding_dim=6, epochs=1, progress=False, **{field: old_value}
    ).fit(random_ratings())
    write_run(old, tmp_path / "old")
    config_path = tmp_path / "old" / "config.json"
    config = json.loads(config_path.read_text())
    del config["model"][field]
    config_path.write_text(json.dumps(config))
    loaded = load_run(tmp_path / "old")
    assert getattr(loaded.model_config, field) == old_value
    np.testing.assert_allclose(loaded.score().to_numpy(), old.score().to_numpy(), rtol=1e-6)


def test_existing_folder_is_not_overwritten(model, tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(RunFolderError, match="--overwrite"):
        write_run(model, out)
    assert (out / "keep.txt").read_text() == "mine"


def test_a_failing_report_leaves_nothing_behind(model, tmp_path: Path) -> None:
    def broken(folder: Path) -> None:
        raise RuntimeError("report failed")

    with pytest.raises(RuntimeError):
        write_run(model, tmp_path / "run", extra=broken)
    assert list(tmp_path.iterdir()) == []


def test_missing_and_damaged_run_folders(model, tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="missing"):
        (tmp_path / "empty").mkdir()
        load_run(tmp_path / "empty")
    write_run(model, tmp_path / "run")
    (tmp_path / "run" / "config.json").write_text("{not json")
    with pytest.raises(RunFolderError, match="not valid JSON"):
        load_run(tmp_path / "run")


@pytest.mark.parametrize("fraction", [0.0, 0.2])
def test_report_says_which_epoch_was_kept(fraction: float) -> None:
    from attnrec.reporting.experiment import _training_line

    model = DualAttentionRecommender(
        embedding_dim=8, n_neighbours=5, epochs=3, validation_fraction=fraction, progress=False
    ).fit(random_ratings())
    line = _training_line(model)
    if fraction == 0:
        # the default: every rating, a fixed number of epochs, the last one kept
        assert line.startswith("3 epochs on every training rating (cosine step size)")
        assert model.history_.best_epoch == 3
    else:
        assert line.startswith(f"Best epoch {model.history_.best_epoch} of ")
        assert "validation NDCG@10 0." in line
