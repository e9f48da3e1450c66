"""The `pageflows` command: one click group; each command lives in a module here.

Only this layer prints and picks exit codes. Errors that reach here as
exceptions are bugs; users' mistakes arrive as diagnostics and are rendered.
"""

from __future__ import annotations

import gc
import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click

# issue 13: A. Each command's module is imported when that command runs, not when
# `pageflows` starts: `pageflows check` needs the rules, not Flask, SQLAlchemy and
# requests (2.4 s of imports before any work, when every module was imported here).
# name -> (module, attribute); a new command is added at the end.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("pageflows.cli.check", "check"),
    "chat": ("pageflows.cli.chat", "chat"),
    "test": ("pageflows.cli.test", "test"),
    "serve": ("pageflows.cli.server", "serve"),
    "worker": ("pageflows.cli.server", "worker"),
    "db": ("pageflows.cli.server", "db"),
    "profile": ("pageflows.cli.server", "profile"),
    "simulator": ("pageflows.cli.simulator", "simulator"),
    "inbox": ("pageflows.cli.operate", "inbox"),
    "pages": ("pageflows.cli.operate", "pages_group"),
    "policy": ("pageflows.cli.policy", "policy"),
    "templates": ("pageflows.cli.templates", "templates"),
    "links": ("pageflows.cli.growth", "links_command"),
    "qr": ("pageflows.cli.growth", "qr_command"),
    "stats": ("pageflows.cli.growth", "stats_command"),
    "status": ("pageflows.cli.status", "status"),
    "reply": ("pageflows.cli.agent", "reply"),
    "contact": ("pageflows.cli.agent", "contact"),
    "broadcast": ("pageflows.cli.broadcast", "broadcast"),
    "contacts": ("pageflows.cli.conversations", "contacts"),
    "conversation": ("pageflows.cli.conversations", "conversation"),
    "users": ("pageflows.cli.users", "users"),  # issue 11
    "graph": ("pageflows.cli.graph", "graph"),  # issue 11
}


# Commands that run until stopped: SIGTERM stops them with exit 0 however early it comes.
# Until a command installs its own handler (which finishes what is in flight), one here
# ends it at once: it was still starting (imports, flows, migrations: 10-20 s on a busy
# machine, where a rolling restart's SIGTERM came before them and the exit was -15).
SERVICES = frozenset({"serve", "worker"})


def _stopped_while_starting(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


# issue 13: A: set by a command (`check`) once nothing is left for the process to do
# but free its objects (see LazyGroup.main); what it made is held in `_kept` till then.
_done: list[bool] = []
_kept: list[object] = []


def nothing_left_but_freeing(*kept: object) -> None:
    """A command says: once it returns, what remains is freeing memory (no files, no
    connections, no threads). The process run from the command line then ends at once.

    ``kept``: what the command made (`check`: the flows' model, findings and program),
    held until then: let go as the command returns, its few million objects would be
    freed one by one (~0.04 s at 10,000 triggers) on the way to an exit that frees
    nothing. Freed as usual when the process does not end there (tests, CliRunner).
    """
    _done.append(True)
    _kept.extend(kept)


class LazyGroup(click.Group):
    """A click group that imports a command's module the first time it is asked for."""

    def main(self, args: Sequence[str] | None = None, *more: Any, **options: Any) -> Any:
        """issue 13: A. Run from the command line (no ``args``: sys.argv), a command that
        said so (`nothing_left_but_freeing`) ends the process as soon as its output is
        flushed, as mypy does: `check` of 10,000 triggers holds a few million objects
        that Python frees one by one at exit (~0.07 s) for nothing. Called with
        ``args`` (tests, CliRunner, other code) it returns or raises as click does.
        """
        _done.clear()  # what an earlier command of this process said is not this one's
        _kept.clear()
        try:
            return super().main(args, *more, **options)
        except SystemExit as stop:
            code = stop.code
            if args is None and _done and (code is None or isinstance(code, int)):
                _exit_now(code or 0)
            raise
        finally:
            _kept.clear()  # the process goes on (or exits as usual): freed now

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            if cmd_name in SERVICES and threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, _stopped_while_starting)
            module, attribute = COMMANDS[cmd_name]
            with collector_paused():
                command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@contextmanager
def collector_paused(freeze: bool = False) -> Iterator[None]:
    """issue 13: A. Python's cyclic garbage collector off while a command's module is
    imported, and (`check`) while the flows are checked; its state restored after.

    Why: importing `check`'s modules (pydantic, the model's classes and their schemas,
    click, lark) makes a few hundred thousand objects that live as long as the process,
    and reading 10,000 triggers a few million (syntax trees, model nodes) that all stay
    alive until the check ends; almost none is part of a cycle to collect, yet the
    collector rescanned them as they grew (~20 ms of `check`'s start-up; about half of
    the check's time). `freeze`: the objects made meanwhile are frozen before it is on
    again: all still "young" to the collector, its first collection would scan them all
    at once (0.4 s at 10,000 triggers); frozen, they are left to reference counting,
    which frees them as before.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if freeze:
                gc.freeze()
            gc.enable()


def _exit_now(code: int) -> None:
    """The output flushed, then the process ends without freeing its objects, unless a
    database was opened (its engine is closed already, but its driver gets its usual
    shutdown) or the output cannot be flushed (Python reports that as usual)."""
    if "sqlalchemy" in sys.modules:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(code)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pageflows")
def main() -> None:
    """Messenger automation from plain-text flow files."""
