"""``attnrec serve``: a REST API and an offline web explorer of one run folder.

Build the application with :func:`create_app` (nothing is loaded before that call) and serve it
with uvicorn; ``attnrec serve RUN`` does both. Needs the ``serve`` extra:
``pip install 'attnrec[serve]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["create_app"]

if TYPE_CHECKING:
    from attnrec.serve.app import create_app


def __getattr__(name: str) -> Any:
    """Import FastAPI and torch only when the app is first asked for."""
    if name == "create_app":
        from attnrec.serve.app import create_app

        return create_app
    raise AttributeError(f"module 'attnrec.serve' has no attribute {name!r}")
