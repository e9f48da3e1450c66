"""The `pageflows` command: one click group; each command lives in a module here.

Only this layer prints and picks exit codes. Errors that reach here as
exceptions are bugs; users' mistakes arrive as diagnostics and are rendered.
"""

from __future__ import annotations

import click

from pageflows.cli.agent import contact, reply
from pageflows.cli.broadcast import broadcast
from pageflows.cli.chat import chat
from pageflows.cli.check import check
from pageflows.cli.conversations import contacts, conversation
from pageflows.cli.graph import graph
from pageflows.cli.growth import links_command, qr_command, stats_command
from pageflows.cli.operate import inbox, pages_group
from pageflows.cli.policy import policy
from pageflows.cli.server import db, profile, serve, worker
from pageflows.cli.simulator import simulator
from pageflows.cli.status import status
from pageflows.cli.templates import templates
from pageflows.cli.test import test
from pageflows.cli.users import users


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pageflows")
def main() -> None:
    """Messenger automation from plain-text flow files."""


main.add_command(check)
main.add_command(chat)
main.add_command(test)
main.add_command(serve)
main.add_command(worker)
main.add_command(db)
main.add_command(profile)
main.add_command(simulator)
main.add_command(inbox)
main.add_command(pages_group, name="pages")
main.add_command(policy)
main.add_command(templates)
main.add_command(links_command)
main.add_command(qr_command)
main.add_command(stats_command)
main.add_command(status)
main.add_command(reply)
main.add_command(contact)
main.add_command(broadcast)
main.add_command(contacts)
main.add_command(conversation)
main.add_command(users)
main.add_command(graph)
