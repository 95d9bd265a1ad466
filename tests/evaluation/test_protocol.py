"""The protocol end to end on tiny data: counts, both attnrec rankings, report files, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from attnrec.errors import ConfigError, DataError, RunFolderError
from attnrec.evaluation import build_models, evaluate, make_split
from attnrec.evaluation.baselines import EASE, MostPopular
from attnrec.evaluation.protocol import AttnrecModel
from attnrec.evaluation.report import write_report
from attnrec.evaluation.splits import Split

from .conftest import synthetic_frame

TINY_ATTNREC = {"epochs": 2, "embedding_dim": 8, "n_neighbours": 5, "batch_size": 16}


def test_counts_and_per_user_values(tiny):
    split = make_split(tiny, "random", 0.3, seed=0)
    result = evaluate(tiny, [MostPopular(), EASE(10.0)], split, ks=(3, 5), progress=False)
    counts = result.counts
    relevant_users = sum(
        (split.test[u].data >= 4).any() for u in range(tiny.n_users) if split.test[u].nnz
    )
    assert counts["users_evaluated"] == relevant_users
    assert counts["users_skipped_no_relevant"] == counts["test_users"] - relevant_users
    summary = result.summary()
    assert list(summary.index) == ["most-popular", "ease"]
    for model in result.models:
        assert len(model.per_user) == relevant_users
        assert model.per_user["ndcg@5"].between(0, 1).all()
    assert (summary["ndcg@5_low"] <= summary["ndcg@5"]).all()
    assert result.paired("ndcg@5", "ease", "most-popular").n == relevant_users


def test_unknown_test_items_are_counted(tiny):
    split = make_split(tiny, "random", 0.3, seed=0)
    # move every rating of item 0 into the test set: nobody can have learnt it
    column = split.train.tocsc()[:, [0]]
    test = (
        split.test
        + sp.csr_matrix(
            (column.toarray()[:, 0], (np.arange(tiny.n_users), np.zeros(tiny.n_users, int))),
            shape=tiny.ratings.shape,
        )
    ).tocsr()
    train = split.train.tolil()
    train[:, 0] = 0
    moved = Split("random", sp.csr_matrix(train), test)
    result = evaluate(tiny, [MostPopular()], moved, ks=(5,), progress=False)
    assert result.counts["unknown_test_items"] >= 1
    assert result.counts["unknown_test_ratings"] == tiny.ratings[:, 0].nnz


def test_an_empty_test_set_is_an_error(tiny):
    empty = Split("random", tiny.ratings, sp.csr_matrix(tiny.ratings.shape, dtype=np.float32))
    with pytest.raises(DataError, match="empty test set"):
        evaluate(tiny, [MostPopular()], empty, progress=False)
    with pytest.raises(ConfigError, match="unknown"):
        build_models(["svd++"])


@pytest.mark.parametrize("kind", ["random", "strong"])
def test_attnrec_is_reported_unconstrained_and_with_the_delta_rule(tiny, kind):
    model = AttnrecModel(**TINY_ATTNREC)
    result = evaluate(tiny, [model], kind, ks=(5,), seed=1, progress=False)
    names = [r.name for r in result.models]
    assert names == ["attnrec", "attnrec-delta"]
    unconstrained, delta = result.models
    assert unconstrained.per_user["explainable_share@10"].between(0, 1).all()
    assert delta.per_user["explainable_items@10"].between(0, 10).all()
    assert len(unconstrained.per_user) == len(delta.per_user)
    assert delta.fit_seconds == unconstrained.fit_seconds


def test_write_report_makes_every_file(tiny, tmp_path):
    result = evaluate(tiny, [MostPopular(), EASE(10.0)], "random", ks=(5,), progress=False)
    folder = write_report(result, tmp_path / "out")
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "chart.png",
        "evaluation.json",
        "paired_tests.csv",
        "per_user.csv",
        "summary.csv",
        "summary.md",
    ]
    per_user = pd.read_csv(folder / "per_user.csv")
    assert set(per_user["model"]) == {"most-popular", "ease"}
    assert "±" in (folder / "summary.md").read_text()
    with pytest.raises(RunFolderError, match="not empty"):
        write_report(result, folder)


def test_a_failing_report_leaves_the_old_folder_as_it_was(tiny, tmp_path, monkeypatch):
    result = evaluate(tiny, [MostPopular()], "random", ks=(5,), progress=False)
    folder = write_report(result, tmp_path / "out")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def broken_chart(*args: object) -> None:
        raise RuntimeError("chart failed")

    monkeypatch.setattr("attnrec.evaluation.report.bar_chart", broken_chart)
    with pytest.raises(RuntimeError, match="chart failed"):
        write_report(result, folder, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left behind
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_cli_refuses_a_full_folder_before_fitting(tmp_path, monkeypatch, capsys):
    import sys

    from attnrec.cli import main

    path = tmp_path / "ratings.csv"
    synthetic_frame().to_csv(path, index=False)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "mine.txt").write_text("keep")

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the models were fitted before the folder was checked")

    monkeypatch.setattr("attnrec.evaluation.protocol.evaluate", never)
    argv = ["attnrec", "-q", "evaluate", str(path), "--models", "ease", "--out"]
    monkeypatch.setattr(sys, "argv", [*argv, str(tmp_path / "run")])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code != 0
    error = capsys.readouterr().err
    assert "not empty" in error and "--overwrite" in error and len(error.splitlines()) == 1
    assert (tmp_path / "run" / "mine.txt").read_text() == "keep"


def test_cli_prints_the_table(tmp_path):
    from attnrec.cli import app
    from attnrec.cli import evaluate as _command  # noqa: F401  (registers the command)

    path = tmp_path / "ratings.csv"
    synthetic_frame().to_csv(path, index=False)
    result = CliRunner().invoke(
        app,
        [
            "-q",
            "evaluate",
            str(path),
            "--models",
            "most-popular,ease,user-knn",
            "--k",
            "5",
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ndcg@5" in result.output and "user-knn" in result.output
    assert (tmp_path / "run" / "summary.csv").is_file()


def test_a_model_listed_twice_is_refused(tiny):
    with pytest.raises(ConfigError, match="'ease' is listed twice"):
        evaluate(tiny, ["ease", "ease"], "random", ks=(5,), progress=False)


def test_a_cut_off_beyond_the_catalogue_is_refused(tiny):
    with pytest.raises(ConfigError, match=f"larger than the {tiny.n_items} items"):
        evaluate(tiny, ["most-popular"], "random", ks=(10, tiny.n_items + 1), progress=False)


def test_nan_scores_name_the_model(tiny):
    class Broken(MostPopular):
        name = "broken"

        def score(self, rows, profiles, new_users=False):
            scores = super().score(rows, profiles, new_users)
            scores[0, 0] = np.nan
            return scores

    with pytest.raises(DataError, match="model 'broken' gave NaN scores"):
        evaluate(tiny, [Broken()], "random", ks=(5,), progress=False)


@pytest.mark.parametrize("lam", [float("nan"), float("inf"), 0.0, -1.0])
def test_ease_lambda_must_be_positive_and_finite(lam):
    with pytest.raises(ConfigError, match="positive, finite"):
        EASE(lam)


def test_cli_reads_a_ratings_file_with_its_own_column_names(tmp_path):
    from attnrec.cli import app
    from attnrec.cli import evaluate as _command  # noqa: F401  (registers the command)

    frame = synthetic_frame().rename(
        columns={"user": "userId", "item": "movieId", "timestamp": "when"}
    )
    path = tmp_path / "ratings.csv"
    frame.to_csv(path, index=False)
    options = ["--user-col", "userId", "--item-col", "movieId", "--timestamp-col", "when"]
    options += ["--split", "temporal"]
    command = ["-q", "evaluate", str(path), "--models", "most-popular", "--k", "5", *options]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    assert "temporal split" in result.output


def test_misspelt_options_and_a_bare_string_are_refused(tiny):
    with pytest.raises(ConfigError, match="'ease_lamda' is unknown"):
        build_models(["ease"], ease_lamda=1.0)
    with pytest.raises(ConfigError, match=r"\['ease'\], not a string"):
        build_models("ease")
    with pytest.raises(ConfigError, match=r"\['ease'\], not a string"):
        evaluate(tiny, "ease", "random", ks=(5,), progress=False)
