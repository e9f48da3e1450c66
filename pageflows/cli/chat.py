"""`pageflows chat FLOWS`: talk to your flows in the terminal, as a contact would."""

from __future__ import annotations

from datetime import datetime

import click

from pageflows.chat.conversation import HELP, Conversation, ConversationError
from pageflows.chat.loading import load_or_explain
from pageflows.chat.show import effect_lines
from pageflows.cli.page_facts import (
    config_lookup_option,
    find_config,
    pages_of,
    read_settings_or_exit,
)
from pageflows.clock import SystemClock
from pageflows.engine import timing


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--name", default="Alice", show_default=True, help="The contact's first name.")
@config_lookup_option
@click.option(
    "--start",
    default=None,
    help='Start the clock at this UTC time, "YYYY-MM-DD HH:MM" (default: now).',
)
def chat(paths: tuple[str, ...], name: str, start: str | None, config_path: str | None) -> None:
    """Chat with the flows in PATHS as a contact; /help lists the commands."""
    now = SystemClock().now()
    if start:
        try:
            now = datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=now.tzinfo)
        except ValueError:
            raise click.BadParameter('use "YYYY-MM-DD HH:MM"', param_hint="--start") from None
    pages = pages_of(read_settings_or_exit(find_config(config_path, list(paths))))
    program, result = load_or_explain(list(paths), now.date(), pages)
    page = pages[0] if pages else None
    conversation = Conversation.start(program, now, first_name=name, page=page)
    click.echo(
        f"pageflows chat: {len(program.flows)} flow(s), {len(program.triggers)} trigger(s);"
        f" you are {name}; the clock is {now:%Y-%m-%d %H:%M} UTC. /help for commands."
    )
    if result.warnings:
        click.echo(f"({len(result.warnings)} warning(s): run `pageflows check` to see them)")
    while True:
        try:
            line = click.prompt("", prompt_suffix="> ", default="", show_default=False)
        except (EOFError, click.Abort):
            click.echo()
            return
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return
        if line == "/help":
            click.echo(HELP)
            continue
        if line == "/state":
            show_state(conversation)
            continue
        try:
            happened = conversation.run(line)
        except ConversationError as exc:
            click.echo(f"! {exc}")
            continue
        _, zone = timing.contact_zone(conversation.contact.fields, conversation.page)
        for text in effect_lines(happened, conversation.clock.now(), zone):
            click.echo(text)


def show_state(conversation: Conversation) -> None:
    contact = conversation.contact
    click.echo(f"· clock: {conversation.clock.now():%Y-%m-%d %H:%M} UTC")
    click.echo(f"· tags: {', '.join(sorted(contact.tags)) or '-'}")
    fields = ", ".join(f"{k}={v!r}" for k, v in sorted(contact.fields.items()))
    click.echo(f"· fields: {fields or '-'}")
    click.echo(f"· ref: {contact.ref or '-'}")
    if contact.last_user_message_at:
        click.echo(f"· last message: {contact.last_user_message_at:%Y-%m-%d %H:%M} UTC")
    if contact.waiting:
        waiting = contact.waiting
        until = f" until {waiting.until:%Y-%m-%d %H:%M} UTC" if waiting.until else ""
        wrong = f", {waiting.wrong} answer(s) that did not fit" if waiting.wrong else ""
        click.echo(f"· waiting for an answer into {waiting.field}{until}{wrong}")
    if contact.handed_off:  # issue 12: asks
        ends = contact.handoff_until
        back = f" until {ends:%Y-%m-%d %H:%M} UTC" if ends else " until /handback"
        click.echo(f"· a human has the conversation{back}")
    for item in conversation.pending_follow_ups():
        click.echo(f"· pending: {item.purpose} at {item.due_at:%Y-%m-%d %H:%M} UTC")
