"""Options shared by the commands that check flows, in a module that imports only click.

issue 13: A: `pageflows check` declares its options when its module is imported, and
that module must stay light (see check.py: its lexing child starts before the rest of
the command is imported).
"""

from __future__ import annotations

import click

config_lookup_option = click.option(
    "--config",
    "config_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Settings file with the Pages' region and templates (default: ./pageflows.toml, "
    "else the one beside the flows).",
)
