"""The ``attnrec`` command line: one module per group of subcommands, registered here.

Only this package configures logging. A user's mistake (any AttnrecError) is printed as one
line without a traceback, with exit code 2; an interrupt exits with 130.
"""

from __future__ import annotations

import logging
import sys

import typer

from attnrec.errors import AttnrecError

app = typer.Typer(
    name="attnrec",
    help="Explainable collaborative filtering: the attention coefficients are the explanation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


@app.callback()
def _configure(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also log per-batch details."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors."),
) -> None:
    """Explainable collaborative filtering: the attention coefficients are the explanation."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("attnrec").setLevel(level)
    logging.captureWarnings(True)
    from attnrec.cli import common

    common.STATE.quiet = quiet


def _register() -> None:
    """Import the command modules; each adds its commands to ``app``."""
    from attnrec.cli import core, evaluate, faithfulness, scale, serve

    del core, evaluate, faithfulness, scale, serve


def main() -> None:
    """Console-script entry point."""
    _register()
    try:
        app(standalone_mode=False)
    except AttnrecError as error:
        typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        sys.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except (typer.Exit, typer.Abort) as stop:
        sys.exit(getattr(stop, "exit_code", 1))
    except Exception as error:
        # click's usage errors (bad option values, unknown options); recent typer versions
        # vendor click, so their class is not click's own: recognise them by their interface
        show = getattr(error, "show", None)
        if callable(show) and isinstance(getattr(error, "exit_code", None), int):
            show()
            sys.exit(EXIT_USER_ERROR)
        raise
