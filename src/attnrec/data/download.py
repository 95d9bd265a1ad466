"""Download and cache the GroupLens MovieLens archives (through pooch), checksums verified.

Archives come from ``https://files.grouplens.org/datasets/movielens/{name}.zip`` and are kept in
the cache folder: ``$ATTNREC_CACHE`` when set, else the user cache folder of ``attnrec``. They are
unzipped beside the archive; the extracted release folder is returned. Offline, point attnrec at
a local copy instead (``--data-dir PATH`` or ``ATTNREC_DATA_DIR=PATH``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pooch

from attnrec.errors import ConfigError, DownloadError

logger = logging.getLogger(__name__)

BASE_URL = "https://files.grouplens.org/datasets/movielens/"
CACHE_ENV = "ATTNREC_CACHE"

# SHA-256 of each archive as published by TensorFlow Datasets (url_checksums/movielens.txt),
# matching the MD5 files GroupLens publishes beside the archives (ml-100k 0e33842e...,
# ml-1m c4d9eecf..., ml-20m cd245b17..., ml-25m 6b51fb27...).
KNOWN_HASHES: dict[str, str | None] = {
    "ml-100k": "sha256:50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
    "ml-1m": "sha256:a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
    "ml-latest-small": "sha256:696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
    "ml-20m": "sha256:96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3",
    "ml-25m": "sha256:8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa",
    # TODO: ml-latest is re-released by GroupLens from time to time, so it has no fixed
    # checksum; pooch logs the SHA-256 of what it downloads instead.
    "ml-latest": None,
}


def cache_dir() -> Path:
    """The download cache: ``$ATTNREC_CACHE`` when set, else the user cache of attnrec."""
    # read the environment now, never at import
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path(pooch.os_cache("attnrec"))


def download_movielens(
    name: str,
    cache: str | Path | None = None,
    base_url: str = BASE_URL,
    known_hash: str | None = None,
) -> Path:
    """Download (once) and unzip a MovieLens archive; return the extracted release folder.

    Args:
        name: the release, one of ``KNOWN_HASHES`` (e.g. ``ml-100k``).
        cache: the cache folder; defaults to :func:`cache_dir`.
        base_url: where the ``{name}.zip`` archives are (for tests and mirrors).
        known_hash: the archive's checksum (``sha256:...`` or ``md5:...``); defaults to the
            published one for ``name``.

    Returns:
        The folder that holds the extracted files (e.g. ``.../ml-100k/ml-100k``).

    Raises:
        ConfigError: unknown release name.
        DownloadError: the download failed (offline) or the checksum did not match.
    """
    # check the name and where the archive goes
    if name not in KNOWN_HASHES:
        raise ConfigError(
            f"unknown MovieLens release {name!r}; use one of {', '.join(KNOWN_HASHES)}"
        )
    folder = Path(cache).expanduser() if cache is not None else cache_dir()
    url = base_url.rstrip("/") + f"/{name}.zip"
    checksum = known_hash if known_hash is not None else KNOWN_HASHES[name]
    # fetch (skipped when the cached archive already matches) and unzip beside it
    logger.info("fetching %s into %s", url, folder)
    try:
        files = pooch.retrieve(
            url=url,
            known_hash=checksum,
            fname=f"{name}.zip",
            path=folder,
            processor=pooch.Unzip(extract_dir=name),
            progressbar=False,
        )
    except ValueError as error:  # pooch reports a checksum mismatch as ValueError
        raise DownloadError(
            f"{name}: the archive from {url} failed its checksum ({_one_line(error)}); "
            f"delete {folder / (name + '.zip')} and retry, or point at a local copy with "
            "--data-dir PATH or ATTNREC_DATA_DIR=PATH"
        ) from error
    except OSError as error:  # requests' errors (offline, HTTP status) are OSErrors
        raise DownloadError(
            f"{name}: could not download {url} ({type(error).__name__}: {_one_line(error)}); "
            "point at a local copy of the extracted release with --data-dir PATH "
            "or ATTNREC_DATA_DIR=PATH"
        ) from error
    # the release folder is the common parent of the extracted files
    return _release_folder([Path(f) for f in files])


def _release_folder(files: list[Path]) -> Path:
    """The deepest folder that contains every extracted file."""
    if not files:
        raise DownloadError("the downloaded archive was empty; delete the cache and retry")
    common = Path(os.path.commonpath([str(f) for f in files]))
    return common.parent if common.is_file() else common


def _one_line(error: BaseException, limit: int = 200) -> str:
    """An exception's text squeezed to one short line."""
    text = " ".join(str(error).split())
    return text[:limit] + ("..." if len(text) > limit else "")
