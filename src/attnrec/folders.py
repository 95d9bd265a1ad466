"""Output folders: refuse to replace a user's files before any work is done, and write a new
folder whole or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from attnrec.errors import RunFolderError


def check_writable(out: Path, overwrite: bool, marker: str | None = None) -> None:
    """Refuse, before any work, to write over a file or a non-empty folder unless asked to.

    With ``overwrite`` a non-empty folder is replaced only if it holds ``marker`` (a file every
    folder of this kind has), so that --overwrite never deletes a folder attnrec did not write,
    nor the working directory or one of its parents.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"{out} is a file; choose a folder for --out")
    # the nearest folder that exists must be one we may write into
    parent = next(p for p in [out, *out.parents] if p.exists())
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise RunFolderError(f"{out}: {parent} cannot be written to; choose another --out")
    if out.exists() and out.resolve() in [Path.cwd(), *Path.cwd().parents]:
        raise RunFolderError(f"{out} is the working folder or holds it; choose a new --out")
    if not (out.exists() and any(out.iterdir())):
        return
    if not overwrite:
        raise RunFolderError(
            f"{out} already exists and is not empty; choose another --out or pass --overwrite"
        )
    if marker is not None and not (out / marker).exists():
        raise RunFolderError(
            f"{out} has no {marker}, so attnrec did not write it; --overwrite replaces only "
            "attnrec's own folders: choose another --out"
        )


@contextmanager
def staged_folder(out: Path, overwrite: bool = False, marker: str | None = None) -> Iterator[Path]:
    """Yield a hidden sibling folder to write into. When the block succeeds it takes the place
    of ``out``; when it fails it is removed and ``out`` stays as it was."""
    out = Path(out)
    check_writable(out, overwrite, marker)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as error:
        reason = f"{out}: cannot write here ({error.strerror}); choose another --out"
        raise RunFolderError(reason) from None
    try:
        yield staging
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
