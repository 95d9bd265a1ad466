"""End to end: the main job on the real MovieLens 100K, then recommend and explain on its run."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from attnrec import load_run
from attnrec.data import load_ml100k

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module")
def paper_run(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("paper") / "run"
    result = subprocess.run(
        [sys.executable, "-m", "attnrec", "paper", "--data-dir", str(data_root / "ml-100k"),
         "--out", str(out), "--permutations", "30", "--no-progress"],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (out / "stdout.txt").write_text(result.stdout)
    return out


def test_run_folder_holds_everything(paper_run: Path) -> None:
    names = {p.name for p in paper_run.iterdir()}
    expected = {"config.json", "model.safetensors", "ids.json", "report.md"}
    expected |= {"recommendations.csv", "counterfactual.json"}
    expected |= {"fig1_counterfactual.png", "fig2_predicted_vs_observed.png"}
    assert expected <= names
    for figure in ("fig1_counterfactual.png", "fig2_predicted_vs_observed.png"):
        assert (paper_run / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ids = json.loads((paper_run / "ids.json").read_text())
    assert (len(ids["users"]), len(ids["items"])) == (20, 250)


def test_explanations_are_true_of_the_data(paper_run: Path, data_root: Path) -> None:
    """Every explainable recommendation names a neighbour who really gave that rating."""
    full = load_ml100k(data_root / "ml-100k")
    with (paper_run / "recommendations.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len({r["user"] for r in rows}) == 20
    checked = 0
    for row in rows:
        if row["explainable"] != "True":
            continue
        user, item = full.user_index(row["neighbour"]), full.item_index(row["item"])
        assert full.ratings[user, item] == float(row["neighbour_rating"])
        assert full.ratings[full.user_index(row["user"]), item] == 0  # never rated by the target
        assert f"user {row['neighbour']}" in row["sentence"]
        checked += 1
    assert checked > 0


def test_summary_and_counterfactual(paper_run: Path) -> None:
    printed = (paper_run / "stdout.txt").read_text()
    assert "Training" in printed and "Counterfactual test" in printed and "because user" in printed
    document = json.loads((paper_run / "counterfactual.json").read_text())
    assert document["n_permutations"] == 30
    for family in ("recommendation", "similarity"):
        summary = document["families"][family]["summary"]
        assert summary["tvd"]["q1"] <= summary["tvd"]["median"] <= summary["tvd"]["q3"]
        assert len(document["families"][family]["per_user"]) == 20


def test_recommend_and_explain_from_the_run(paper_run: Path) -> None:
    model = load_run(paper_run)
    user = model.users_[0]
    recs = model.recommend(str(user), n=5, fallback=True)
    assert len(recs) == 5
    attention = model.attention(user)
    assert len(attention.similarity) == 19  # "all" neighbours: every other user of the subset
