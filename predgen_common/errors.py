"""User-facing errors and the CLI boundary that turns them into exit code 2."""
from __future__ import annotations

import functools
import sys
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """Bad input from the user: a one-line message naming the problem and the way out.

    Library code raises it; the CLI prints ``error: <message>`` and exits 2 with
    no traceback. It subclasses ``Exception`` (not ``ValueError``) so that it is
    never swallowed by a library's own ``except ValueError``.
    """


def one_line(message: str) -> str:
    return " ".join(str(message).split())


def run_cli(app: Callable[..., object]) -> None:
    """Run a typer/click app, turning :class:`UserError` into a one-line message and exit 2."""
    try:
        code = app(standalone_mode=False)
        # click returns (not raises) a command's typer.Exit code when standalone_mode is off,
        # which is how @user_errors reports exit 2
        if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C into Exit(130), which click returns here
            _interrupted()
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except UserError as err:
        print(f"error: {one_line(str(err))}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt:
        _interrupted()
    except Exception as err:  # usage errors of click, or of the click that typer >= 0.29 carries inside
        if not _usage_error(err):
            raise
        if isinstance(err.__cause__ or err.__context__, KeyboardInterrupt):  # typer: Exit(130), click: Abort
            _interrupted()
        code = getattr(err, "exit_code", 1)
        message = one_line(err.format_message()).rstrip(".") if hasattr(err, "format_message") else ""
        if message:  # one line too, naming --help as the way out (no-args-is-help has printed the help)
            ctx = getattr(err, "ctx", None)
            where = f"; see `{ctx.command_path} --help`" if ctx is not None else ""
            print(f"error: {message}{where}", file=sys.stderr)
        sys.exit(code if isinstance(code, int) else 1)


INTERRUPTED = ("interrupted; no output was half-written (each is whole or absent, and caches keep only "
               "complete parts); rerun the command to resume")


def _interrupted() -> None:
    """Ctrl-C: one line and exit 130 (outputs are renamed into place whole, so none is half-written)."""
    print(f"error: {INTERRUPTED}", file=sys.stderr)
    sys.exit(EXIT_INTERRUPTED)


def _usage_error(err: Exception) -> bool:
    """True for click's and typer's Exit, Abort and ClickException (usage errors), from either click."""
    return any(cls.__module__.split(".")[0] in ("click", "typer")
               and cls.__name__ in ("ClickException", "Exit", "Abort")
               for cls in type(err).__mro__)


def user_errors(func: F) -> F:
    """Decorator for typer commands: a :class:`UserError` becomes ``typer.Exit(2)``.

    Used so that typer's ``CliRunner`` (which calls commands directly) sees the
    same exit code and message as the console script does.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import typer

        try:
            return func(*args, **kwargs)
        except UserError as err:
            typer.echo(f"error: {one_line(str(err))}", err=True)
            raise typer.Exit(EXIT_USER_ERROR) from None

    return wrapper  # type: ignore[return-value]
