"""Shared fixtures: where the real MovieLens data lives (read-only, never copied here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# ../shared/data beside the project's root, unless ATTNREC_DATA_DIR names another folder
SHARED_DATA = Path(
    os.environ.get("ATTNREC_DATA_DIR")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)
REQUIRE_DATA_ENV = "ATTNREC_REQUIRE_DATA"


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real-data folder; skips when missing, fails instead when ATTNREC_REQUIRE_DATA=1."""
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    reason = (
        f"real MovieLens data not found at {SHARED_DATA} (set ATTNREC_DATA_DIR to the folder "
        f"holding ml-100k/ and ml-latest-small/; {REQUIRE_DATA_ENV}=1 makes this a failure)"
    )
    if os.environ.get(REQUIRE_DATA_ENV) == "1":
        pytest.fail(reason)
    pytest.skip(reason)
