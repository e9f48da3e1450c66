"""`pageflows reply PSID TEXT` and `pageflows contact resume PSID`: a person at a terminal.

The same service functions as `POST /api/contacts/{psid}/messages` and
`POST /api/contacts/{psid}/handback` (pageflows/service/agent.py): the reply
is decided by the same policy, queued in the same outbox (a running worker
sends it) and pauses automation the same way.
"""

from __future__ import annotations

import click

from pageflows.cli.operate import engine_or_exit
from pageflows.cli.server import config_option, read_settings_or_exit
from pageflows.clock import SystemClock
from pageflows.engine.policy import Skip
from pageflows.service import agent
from pageflows.service.agent_draft import Draft, DraftError, parse_draft
from pageflows.service.config import PageConfig, Settings

page_option = click.option(
    "--page", "page_id", default=None, help="The page's id; needed when several are configured."
)


def _page(settings: Settings, page_id: str | None) -> PageConfig:
    pages = settings.pages
    if page_id is not None:
        found = next((p for p in pages if p.id == page_id), None)
    elif len(pages) == 1:
        found = pages[0]
    else:
        if not pages:
            raise click.UsageError(
                "no page is configured: pass --config path/to/pageflows.toml, or set"
                " PAGEFLOWS_PAGE_ID (and PAGEFLOWS_HUMAN_AGENT=1 if the app has the permission)"
            )
        known = ", ".join(p.id for p in pages)
        raise click.UsageError(f"give --page: the configured pages are {known}")
    if found is None:
        known = ", ".join(p.id for p in pages) or "none"
        raise click.ClickException(f"no page {page_id} configured (configured: {known})")
    return found


@click.command()
@click.argument("psid")
@click.argument("text")
@click.option("--author", default=None, help="Who is answering, kept with the message.")
@page_option
@config_option
def reply(psid: str, text: str, author: str | None, page_id: str | None, config_path: str) -> None:
    """Answer a contact as a person: RESPONSE inside 24 h, HUMAN_AGENT up to 7 days."""
    settings = read_settings_or_exit(config_path)
    page = _page(settings, page_id)
    try:
        draft: Draft = parse_draft({"text": text, "author": author})
    except DraftError as exc:
        raise click.UsageError("; ".join(exc.problems)) from None
    engine = engine_or_exit(settings.database_url)
    try:
        outcome = agent.send_reply(engine, page, psid, draft, SystemClock().now())
    except agent.UnknownContact as exc:
        raise click.ClickException(str(exc)) from None
    if isinstance(outcome, agent.ReplyMode):
        assert isinstance(outcome.decision, Skip)
        raise click.ClickException(
            f"refused ({outcome.decision.reason}): {outcome.decision.detail}"
        )
    delivery = outcome.delivery
    click.echo(f"queued as {delivery.tag or delivery.messaging_type} (message {outcome.ids[0]})")
    click.echo(f"why: {delivery.because}")
    if outcome.took_thread:
        click.echo("the Page inbox had the thread: it is taken back first")
    paused = outcome.window.paused_until
    if paused is not None:
        click.echo(f"automation waits for this contact until {paused:%Y-%m-%d %H:%M} UTC")


@click.group()
def contact() -> None:
    """One contact's conversation: hand it back to automation."""


@contact.command("resume")
@click.argument("psid")
@page_option
@config_option
def contact_resume(psid: str, page_id: str | None, config_path: str) -> None:
    """Hand the conversation back: automation answers this contact again."""
    settings = read_settings_or_exit(config_path)
    page = _page(settings, page_id)
    engine = engine_or_exit(settings.database_url)
    try:
        done = agent.hand_back(engine, page, psid, SystemClock().now())
    except agent.UnknownContact as exc:
        raise click.ClickException(str(exc)) from None
    if done.was == "running" and not done.took_thread:
        click.echo(f"{psid}: automation was already running; nothing changed")
        return
    was = "handed off" if done.was == "handed_off" else done.was
    taken = "; the thread is taken back first" if done.took_thread else ""
    click.echo(f"{psid}: automation resumes (was {was}){taken}")
