"""`pageflows test [PATH]`: run the `.chat` transcripts beside the flows."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import click

from pageflows.chat.loading import load_or_explain
from pageflows.chat.transcript import find_scripts, parse_script, run_script
from pageflows.cli.page_facts import (
    config_lookup_option,
    find_config,
    pages_of,
    read_settings_or_exit,
)
from pageflows.clock import SystemClock


@click.command()
@click.argument("path", required=False, default=".", type=click.Path(exists=True))
@config_lookup_option
def test(path: str, config_path: str | None) -> None:
    """Run the transcripts (*.chat) in PATH against the flows beside them.

    Each transcript runs against the .flow files of its own folder, on the
    first Page of the pageflows.toml found for it (its region and templates).
    Exits 1 if any step fails.
    """
    now = SystemClock().now()
    _refuse_other_files(Path(path))
    scripts = find_scripts(Path(path))
    if not scripts:
        raise click.ClickException(f"no .chat transcripts in {path}; docs/testing.md shows how")
    by_folder: dict[Path, list[Path]] = defaultdict(list)
    for script in scripts:
        by_folder[script.parent].append(script)
    failed = passed = 0
    for folder, files in sorted(by_folder.items()):
        pages = pages_of(read_settings_or_exit(find_config(config_path, [str(folder)])))
        program, _ = load_or_explain([str(folder)], now.date(), pages)
        page = pages[0] if pages else None
        for file in files:
            # utf-8-sig: an editor's byte order mark is no part of the first line.
            text = file.read_text("utf-8-sig", errors="replace")
            failures = run_script(program, parse_script(str(file), text), now, page)
            if failures:
                failed += 1
                for failure in failures:
                    where = f"{failure.path}:{failure.line}" if failure.line else failure.path
                    click.echo(f"FAIL {where}: {failure.message}")
            else:
                passed += 1
                click.echo(f"ok   {file}")
    click.echo(f"{passed} passed, {failed} failed")
    if failed:
        raise SystemExit(1)


def _refuse_other_files(path: Path) -> None:
    """issue 12: B. A named file is run as a transcript: a .flow file is one clear line.

    Read as a transcript, each line of a flow would be a failure of its own.
    """
    if not path.is_file() or path.suffix == ".chat":
        return
    folder = path.parent.as_posix() or "."
    if path.suffix == ".flow":
        raise click.ClickException(
            f"{path} is a flow file; `pageflows test` runs .chat transcripts against the"
            f" flows of their folder: `pageflows test {folder}`, or name a .chat file"
        )
    raise click.ClickException(
        f"{path} is not a .chat transcript; give a .chat file or a folder of them"
    )
