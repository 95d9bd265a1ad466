"""Output folders: refuse to replace a user's files before any work is done, and write a new
folder whole or not at all."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from attnrec.errors import RunFolderError


def check_writable(out: Path, overwrite: bool) -> None:
    """Refuse, before any work, to write over a file or a non-empty folder unless asked to."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"{out} is a file; choose a folder for --out")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise RunFolderError(
            f"{out} already exists and is not empty; choose another --out or pass --overwrite"
        )


@contextmanager
def staged_folder(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a hidden sibling folder to write into. When the block succeeds it takes the place
    of ``out``; when it fails it is removed and ``out`` stays as it was."""
    out = Path(out)
    check_writable(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield staging
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
