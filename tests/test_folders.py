"""Output folders: what --out and --overwrite may and may not replace."""

from __future__ import annotations

from pathlib import Path

import pytest

from attnrec.errors import RunFolderError
from attnrec.folders import check_writable, staged_folder


def test_new_and_empty_folders_are_fine(tmp_path: Path) -> None:
    check_writable(tmp_path / "new" / "deeper", overwrite=False)
    (tmp_path / "empty").mkdir()
    check_writable(tmp_path / "empty", overwrite=False)


def test_a_file_or_a_path_through_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunFolderError, match="is a file"):
        check_writable(tmp_path / "notes.txt", overwrite=True)
    with pytest.raises(RunFolderError, match="cannot be written"):
        check_writable(tmp_path / "notes.txt" / "sub", overwrite=True)


def test_overwrite_replaces_only_a_folder_attnrec_wrote(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "thesis.tex").write_text("years of work")
    with pytest.raises(RunFolderError, match="not empty"):
        check_writable(theirs, overwrite=False)
    refused = pytest.raises(RunFolderError, match=r"has no evaluation\.json")
    with refused, staged_folder(theirs, overwrite=True, marker="evaluation.json") as staging:
        (staging / "evaluation.json").write_text("{}")
    assert (theirs / "thesis.tex").read_text() == "years of work"

    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "evaluation.json").write_text("old")
    with staged_folder(ours, overwrite=True, marker="evaluation.json") as staging:
        (staging / "evaluation.json").write_text("new")
    assert (ours / "evaluation.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ours", "theirs"]


def test_the_working_folder_is_never_replaced(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")
    with pytest.raises(RunFolderError, match="working folder"):
        check_writable(Path("."), overwrite=False)  # even empty: it would be swapped away
    (tmp_path / "evaluation.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    for out in (Path("."), Path("..") / tmp_path.name):
        with pytest.raises(RunFolderError, match="working folder"):
            check_writable(out, overwrite=True, marker="evaluation.json")
    assert (tmp_path / "evaluation.json").exists()
