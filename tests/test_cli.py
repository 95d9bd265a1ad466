"""The command line: help on every command, one-line errors, and the commands on a small run."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from attnrec import DualAttentionRecommender
from attnrec.cli import main
from attnrec.runs import write_run
from attnrec.testing import random_ratings

COMMANDS = ["paper", "train", "recommend", "explain"]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def attnrec(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run the CLI in this process, as the console script does: exit code, stdout, stderr."""

    def run(*args: str) -> Result:
        monkeypatch.setattr(sys, "argv", ["attnrec", *args])
        code = 0
        try:
            main()
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def test_console_entry_point_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "attnrec", "--help"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and "paper" in result.stdout


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = DualAttentionRecommender(embedding_dim=6, epochs=2, progress=False)
    out = tmp_path_factory.mktemp("cli") / "run"
    write_run(model.fit(random_ratings()), out)
    return out


def test_help_lists_every_command(attnrec) -> None:
    result = attnrec("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(attnrec, command: str) -> None:
    result = attnrec(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_recommend_and_explain_on_a_run(attnrec, run_folder: Path) -> None:
    result = attnrec("recommend", str(run_folder), "1", "--n", "3", "--delta", "0", "--json")
    assert result.returncode == 0, result.stderr
    recs = json.loads(result.stdout)
    assert len(recs) == 3 and all("sentence" in r for r in recs)
    item = str(recs[0]["item"])
    result = attnrec("explain", str(run_folder), "1", item, "--delta", "0", "--json")
    assert result.returncode == 0, result.stderr
    assert str(json.loads(result.stdout)["item"]) == item
    result = attnrec("explain", str(run_folder), "1")
    assert result.returncode == 0 and "Similarity coefficients" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["recommend", "{run}", "nobody"], "unknown user 'nobody'"),
        (["recommend", "{missing}", "1"], "is not a folder"),
        (["recommend", "{run}", "1", "--delta", "2"], "outside [0, 1]"),
        (["explain", "{run}", "1", "no-such-item"], "unknown item 'no-such-item'"),
        (["train", "{missing}"], "error:"),
    ],
)
def test_user_mistakes_get_one_line_without_traceback(attnrec, run_folder: Path, args, message):
    filled = [a.format(run=run_folder, missing=run_folder.parent / "nope") for a in args]
    result = attnrec(*filled)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    assert message in lines[-1]


def test_train_on_a_ratings_file(attnrec, tmp_path: Path) -> None:
    path = tmp_path / "my ratings.csv"
    random_ratings(n_users=25, n_items=15).rename(columns={"user": "uid"}).to_csv(path, index=False)
    out = tmp_path / "run"
    result = attnrec(
        "train", str(path), "--user-col", "uid", "--out", str(out), "--epochs", "2",
        "--embedding-dim", "4", "--permutations", "3", "--counterfactual-users", "5",
        "--paper-attention",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert {"report.md", "recommendations.csv", "counterfactual.json"} <= {
        p.name for p in out.iterdir()
    }
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["attention_uses_rating"] is False  # --paper-attention: Eq. 2 as printed
    assert config["model"]["embedding_dim"] == 4
    # a second run into the same folder is refused, and the first is kept
    again = attnrec("train", str(path), "--user-col", "uid", "--out", str(out), "--epochs", "1")
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert (out / "report.md").is_file()


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--embedding-dim", "foo", "valid integer"),
        ("--output-layer", "foo", "'tied', 'dense'"),
        ("--no-such-option", None, "No such option"),
    ],
)
def test_bad_option_values_are_usage_errors_not_tracebacks(
    attnrec, option: str, value: str | None, words: str
) -> None:
    args = ["train", "ml-100k", option] + ([value] if value else [])
    result = attnrec(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert option in result.stderr and words in result.stderr
