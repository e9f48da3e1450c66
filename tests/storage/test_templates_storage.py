"""Stored message templates on SQLite and PostgreSQL: a sync, a status update, the page's facts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session

from pageflows.rules.page_facts import PageFacts, TemplateInfo
from pageflows.service.config import PageConfig
from pageflows.service.graph.templates import ListedTemplate
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import Base
from pageflows.service.storage.templates import (
    apply_status,
    load_page_facts,
    store_synced,
    stored,
)

PAGE = "104123456789012"
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)


def listed(
    name: str, status: str = "APPROVED", language: str = "en_US", tid: str = ""
) -> ListedTemplate:
    body = f"{name}: hi {{{{1}}}}, order {{{{2}}}}"
    components = [{"type": "BODY", "text": body}, {"type": "BUTTONS", "buttons": [{"type": "URL"}]}]
    return ListedTemplate(
        info=TemplateInfo(name, language, status, "UTILITY", body, 2, ("URL",)),
        template_id=tid or f"id-{name}-{language}",
        components=json.dumps(components),
    )


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = make_engine(database_url)
    upgrade(engine)
    return engine


def sync(engine: Engine, *templates: ListedTemplate, now: datetime = NOW) -> tuple[int, int]:
    with Session(engine) as session, session.begin():
        result = store_synced(session, PAGE, templates, now)
    return result.listed, result.deleted


def statuses(engine: Engine) -> dict[tuple[str, str], str]:
    with Session(engine) as session:
        return {(r.name, r.language): r.status for r in stored(session, PAGE)}


def apply(
    engine: Engine,
    status: str,
    at: datetime,
    name: str,
    language: str,
    template_id: str | None = None,
) -> str:
    with Session(engine) as session, session.begin():
        return apply_status(
            session, PAGE, status, at, name=name, language=language, template_id=template_id
        )


def test_the_migration_makes_the_table_the_model_describes(engine: Engine) -> None:
    assert "message_templates" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        diffs = [
            d for d in compare_metadata(context, Base.metadata) if "message_templates" in str(d)
        ]
    assert diffs == []


def test_a_sync_stores_the_list_and_counts_it_by_status(engine: Engine) -> None:
    result_counts = sync(engine, listed("a"), listed("b", "PAUSED"), listed("a", language="de_DE"))
    assert result_counts == (3, 0)
    assert statuses(engine) == {
        ("a", "de_DE"): "APPROVED",
        ("a", "en_US"): "APPROVED",
        ("b", "en_US"): "PAUSED",
    }
    with Session(engine) as session:
        (row, *_) = stored(session, PAGE)
        assert (row.body, row.parameters, row.buttons, row.template_id, row.updated_at) == (
            "a: hi {{1}}, order {{2}}",
            2,
            ["URL"],
            "id-a-de_DE",
            NOW,
        )
        assert json.loads(row.components or "")[0] == {"type": "BODY", "text": row.body}


def test_a_template_gone_from_the_list_is_marked_deleted_and_comes_back_when_listed(
    engine: Engine,
) -> None:
    sync(engine, listed("a"), listed("b"))
    assert sync(engine, listed("a", "PAUSED"), now=LATER) == (1, 1)
    assert statuses(engine) == {("a", "en_US"): "PAUSED", ("b", "en_US"): "DELETED"}
    assert sync(engine, listed("a", "PAUSED"), now=LATER) == (1, 0)  # deleted once, not again
    assert sync(engine, listed("a"), listed("b"), now=LATER + timedelta(minutes=1)) == (2, 0)
    assert statuses(engine) == {("a", "en_US"): "APPROVED", ("b", "en_US"): "APPROVED"}


def test_a_sync_of_one_page_leaves_the_others_alone(engine: Engine) -> None:
    sync(engine, listed("a"))
    with Session(engine) as session, session.begin():
        store_synced(session, "999", [], NOW)
    assert statuses(engine) == {("a", "en_US"): "APPROVED"}


def test_a_status_update_finds_the_template_by_id_then_by_name_and_language(
    engine: Engine,
) -> None:
    sync(engine, listed("a", tid="111"), listed("b", tid="222"))
    # by Facebook's id, whatever name the webhook gives
    assert apply(engine, "PAUSED", LATER, name="renamed", language="en_US", template_id="111") == (
        "updated"
    )
    # by name and language when the id is not known here
    assert apply(engine, "REJECTED", LATER, name="b", language="en_US", template_id="999") == (
        "updated"
    )
    assert statuses(engine) == {("a", "en_US"): "PAUSED", ("b", "en_US"): "REJECTED"}
    with Session(engine) as session:
        assert [r.template_id for r in stored(session, PAGE)] == ["111", "222"]


def test_an_unknown_template_is_stored_with_its_status_only(engine: Engine) -> None:
    assert apply(engine, "approved", NOW, name="new", language="fr_FR", template_id="5") == (
        "created"
    )
    with Session(engine) as session:
        (row,) = stored(session, PAGE)
    assert (row.name, row.language, row.status, row.template_id) == (
        "new",
        "fr_FR",
        "APPROVED",
        "5",
    )
    assert (row.body, row.parameters, row.components) == (None, None, None)
    # a later sync fills in the rest
    sync(engine, listed("new", language="fr_FR", tid="5"), now=LATER)
    with Session(engine) as session:
        (row,) = stored(session, PAGE)
    assert (row.status, row.parameters) == ("APPROVED", 2)


def test_an_older_status_never_overwrites_a_newer_one(engine: Engine) -> None:
    sync(engine, listed("a", tid="1"), now=LATER)
    assert apply(engine, "PAUSED", NOW, name="a", language="en_US", template_id="1") == "stale"
    assert statuses(engine) == {("a", "en_US"): "APPROVED"}
    assert apply(engine, "PAUSED", LATER, name="a", language="en_US", template_id="1") == "updated"
    later = LATER + timedelta(seconds=1)
    assert apply(engine, "REINSTATED", later, name="a", language="en_US") == "updated"
    assert statuses(engine) == {("a", "en_US"): "APPROVED"}


# ------------------------------------------------------------------ the page's facts


DECLARED = PageConfig(
    id=PAGE,
    token="t",
    region="EU",
    ad_window=True,
    templates=(
        TemplateInfo("a", "en_US", body="declared {{1}}", parameters=1, buttons=("POSTBACK",)),
        TemplateInfo("b", "en_US", body="only declared"),
        TemplateInfo("c", "en_US", status="PENDING", body="c {{1}} {{2}} {{3}}", parameters=3),
    ),
)


def test_without_stored_templates_the_facts_are_the_declared_ones(engine: Engine) -> None:
    assert load_page_facts(engine, DECLARED) == DECLARED.facts()
    assert load_page_facts(engine, PageConfig(id="1", token="")) == PageFacts(id="1")


def test_stored_templates_win_over_declared_ones(engine: Engine) -> None:
    sync(engine, listed("a", "PAUSED"), listed("z"))
    apply(engine, "APPROVED", LATER, name="c", language="en_US", template_id="77")
    facts = load_page_facts(engine, DECLARED)
    assert (facts.id, facts.region, facts.ad_window) == (PAGE, "EU", True)
    assert facts.templates == (
        # synced: Facebook's body, parameters and buttons, and its status
        TemplateInfo("a", "en_US", "PAUSED", "UTILITY", "a: hi {{1}}, order {{2}}", 2, ("URL",)),
        TemplateInfo("b", "en_US", body="only declared"),
        # known only from a status webhook: the status is Facebook's, the rest declared
        TemplateInfo("c", "en_US", "APPROVED", body="c {{1}} {{2}} {{3}}", parameters=3),
        TemplateInfo("z", "en_US", "APPROVED", "UTILITY", "z: hi {{1}}, order {{2}}", 2, ("URL",)),
    )


def test_a_declared_template_deleted_on_facebook_is_not_approved(engine: Engine) -> None:
    sync(engine, listed("b"))
    sync(engine, now=LATER)  # Facebook no longer lists b
    template = load_page_facts(engine, DECLARED).template("b", "en_US")
    assert template is not None and template.status == "DELETED" and not template.approved
