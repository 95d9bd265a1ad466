"""Progress bars that stay silent off a terminal or when the user asked for quiet."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], desc: str, enabled: bool = True, **kwargs: object) -> Any:
    """Wrap ``iterable`` in a tqdm bar when ``enabled`` and stderr is a terminal.

    Returns the tqdm object (iterable, with ``set_postfix``).
    """
    disable = not enabled or not sys.stderr.isatty()
    return tqdm(iterable, desc=desc, leave=False, disable=disable, **kwargs)  # type: ignore[call-overload]
