"""``attnrec serve RUN``: the REST API and the web explorer of a run folder, via uvicorn."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import typer

from attnrec.cli import app, common
from attnrec.errors import ConfigError, RunFolderError

logger = logging.getLogger(__name__)


@app.command()
def serve(
    run: Path = common.RUN,
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind; 0.0.0.0 exposes the server to the network."
    ),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        help="Server processes, each with its own copy of the model; one per core for throughput.",
    ),
    threads: int = typer.Option(
        1,
        "--threads",
        min=1,
        help="torch threads per process; 1 suits many small concurrent requests.",
    ),
) -> None:
    """Serve a run's recommendations, explanations and attention: API under /api, page at /."""
    # the serve extra is optional: say how to get it
    try:
        import torch
        import uvicorn

        from attnrec.serve import app as serve_app
    except ImportError as error:
        raise ConfigError(
            f"attnrec serve needs the serve extra ({error.name} is missing): "
            "pip install 'attnrec[serve]'"
        ) from None

    # load the run once here, so that a bad folder fails before anything listens
    log_level = "warning" if common.STATE.quiet else "info"
    torch.set_num_threads(threads)
    application = serve_app.create_app(run)
    logger.info("serving %s at http://%s:%d/ (API docs at /docs)", run, host, port)
    if workers == 1:
        uvicorn.run(application, host=host, port=port, log_level=log_level)
        return

    # several processes: each worker builds its own app from the run named in the environment
    if not run.is_dir():
        raise RunFolderError(f"{run} is not a folder; give the --out folder of a train run")
    os.environ[serve_app.RUN_ENV] = str(run.resolve())
    os.environ[serve_app.THREADS_ENV] = str(threads)
    uvicorn.run(
        "attnrec.serve.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )
