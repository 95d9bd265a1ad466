"""Download: a tiny archive served on 127.0.0.1, the cache, checksums, the offline message."""

from __future__ import annotations

import functools
import hashlib
import http.server
import re
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from attnrec.data import cache_dir, download_movielens, load_ml100k
from attnrec.data.download import KNOWN_HASHES
from attnrec.errors import ConfigError, DownloadError


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def archive_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Serve ml-100k.zip (two tiny files under ml-100k/); yield (base_url, sha256 hash)."""
    served = tmp_path / "served"
    served.mkdir()
    archive = served / "ml-100k.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("ml-100k/u.data", "1\t1\t5\t874965758\n2\t1\t3\t874965759\n")
        bundle.writestr("ml-100k/u.item", "1|Toy Story (1995)|01-Jan-1995||http://x|0\n")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    handler = functools.partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", f"sha256:{digest}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_download_unzips_and_caches(archive_server: tuple[str, str], tmp_path: Path) -> None:
    base_url, digest = archive_server
    cache = tmp_path / "cache"
    folder = download_movielens("ml-100k", cache=cache, base_url=base_url, known_hash=digest)
    assert folder.name == "ml-100k"
    assert (folder / "u.data").is_file()
    assert load_ml100k(folder).title(1) == "Toy Story (1995)"
    # a second call uses the cached archive, even with the server out of reach
    again = download_movielens(
        "ml-100k", cache=cache, base_url=closed_port_url(), known_hash=digest
    )
    assert again == folder


def test_cache_dir_from_environment(
    archive_server: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, digest = archive_server
    monkeypatch.setenv("ATTNREC_CACHE", str(tmp_path / "env-cache"))
    assert cache_dir() == tmp_path / "env-cache"
    folder = download_movielens("ml-100k", base_url=base_url, known_hash=digest)
    assert (tmp_path / "env-cache") in folder.parents


def test_default_cache_dir_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATTNREC_CACHE", raising=False)
    assert "attnrec" in str(cache_dir())


def test_checksum_mismatch(archive_server: tuple[str, str], tmp_path: Path) -> None:
    base_url, _ = archive_server
    with pytest.raises(DownloadError) as excinfo:
        download_movielens(
            "ml-100k", cache=tmp_path, base_url=base_url, known_hash="sha256:" + "0" * 64
        )
    message = str(excinfo.value)
    assert "\n" not in message
    assert "checksum" in message


def test_offline_error_says_how_to_use_a_local_copy(tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as excinfo:
        download_movielens("ml-100k", cache=tmp_path, base_url=closed_port_url())
    message = str(excinfo.value)
    assert "\n" not in message
    assert "ml-100k" in message
    assert "--data-dir PATH" in message
    assert "ATTNREC_DATA_DIR=PATH" in message


def test_missing_archive_on_server(archive_server: tuple[str, str], tmp_path: Path) -> None:
    base_url, _ = archive_server
    with pytest.raises(DownloadError, match="could not download"):
        download_movielens("ml-1m", cache=tmp_path, base_url=base_url)


def test_unknown_release() -> None:
    with pytest.raises(ConfigError, match="ml-100k"):
        download_movielens("ml-5k")


def test_known_hashes_are_well_formed() -> None:
    assert set(KNOWN_HASHES) == {
        "ml-100k",
        "ml-1m",
        "ml-latest-small",
        "ml-latest",
        "ml-20m",
        "ml-25m",
    }
    for value in KNOWN_HASHES.values():
        assert value is None or re.fullmatch(r"sha256:[0-9a-f]{64}", value)
