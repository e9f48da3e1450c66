"""`GraphClient.list_message_templates` over HTTP: paging, parsing, and Facebook's errors.

Against tests/templates_stub.py on a real socket (the simulator gains the endpoint
on branch sim-2026; these tests can then point at it instead).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from templates_stub import Stub, running_stub, template

from pageflows.rules.page_facts import TemplateInfo
from pageflows.service.graph.client import GraphClient, NeedsOperator, Refused, RetryLater
from pageflows.service.graph.templates import TemplateList, read_template
from pageflows.service.graph.transport import FunctionTransport, RequestsTransport, Response

PAGE = "104123456789012"
TOKEN = "page-token"


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as stub:
        yield stub


def listing(stub: Stub, token: str = TOKEN, page: str = PAGE) -> object:
    return GraphClient(RequestsTransport(stub.url()), token).list_message_templates(page)


def test_every_page_of_the_list_is_read_by_its_after_cursor(stub: Stub) -> None:
    stub.page(PAGE, TOKEN, [template(f"t{n:03}") for n in range(250)])
    result = listing(stub)
    assert isinstance(result, TemplateList)
    assert [t.info.name for t in result.templates] == [f"t{n:03}" for n in range(250)]
    assert result.unreadable == 0
    assert [(c["version"], c["page"], c.get("after")) for c in stub.calls] == [
        ("v25.0", PAGE, None),
        ("v25.0", PAGE, "c100"),
        ("v25.0", PAGE, "c200"),
    ]
    first = stub.calls[0]
    assert (first["fields"], first["limit"]) == (
        "id,name,language,status,category,components",
        "100",
    )


def test_each_template_becomes_the_facts_the_rules_read(stub: Stub) -> None:
    stub.page(
        PAGE,
        TOKEN,
        [
            template("order_shipped", tid="5551", buttons=("url", "postback")),
            template("order_shipped", "paused", language="de_DE", body="Hallo", buttons=()),
            template("quick", body="{{1}} and {{3}}", buttons=("QUICK_REPLY",)),
        ],
    )
    result = listing(stub)
    assert isinstance(result, TemplateList)
    assert [t.info for t in result.templates] == [
        TemplateInfo(
            "order_shipped", "en_US", "APPROVED", "UTILITY",
            "Hi {{1}}, your order {{2}} has shipped.", 2, ("URL", "POSTBACK"),
        ),
        TemplateInfo("order_shipped", "de_DE", "PAUSED", "UTILITY", "Hallo", 0, ()),
        TemplateInfo("quick", "en_US", body="{{1}} and {{3}}", parameters=3,
                     buttons=("QUICK_REPLY",)),
    ]  # fmt: skip
    assert result.templates[0].template_id == "5551"
    assert '"type":"BODY"' in result.templates[0].components


def test_an_empty_list_is_no_templates(stub: Stub) -> None:
    stub.page(PAGE, TOKEN, [])
    assert listing(stub) == TemplateList(())


def test_items_without_a_name_language_or_status_are_counted_not_guessed(stub: Stub) -> None:
    broken = [{"id": "1"}, {"name": "a", "language": "en_US"}, "junk", template("ok")]
    stub.page(PAGE, TOKEN, broken)
    result = listing(stub)
    assert isinstance(result, TemplateList)
    assert ([t.info.name for t in result.templates], result.unreadable) == (["ok"], 3)
    assert read_template({"name": " ", "language": "en_US", "status": "APPROVED"}) is None


def test_a_wrong_token_is_a_token_problem_for_an_operator(stub: Stub) -> None:
    stub.page(PAGE, TOKEN, [template("a")])
    result = listing(stub, token="stale")
    assert isinstance(result, NeedsOperator) and result.reason == "token_invalid"
    assert result.code == 190 and "Invalid OAuth access token" in result.message


@pytest.mark.parametrize(
    ("status", "body", "outcome", "reason"),
    [
        (403, {"error": {"message": "(#200) Permissions error", "code": 200}}, NeedsOperator,
         "permission_missing"),
        (400, {"error": {"message": "Unsupported get request", "code": 100, "error_subcode": 33}},
         Refused, "invalid_parameter"),
        (500, {"error": {"message": "An unknown error occurred", "code": 1}}, RetryLater, None),
        (429, {"error": {"message": "Application request limit reached", "code": 4}}, RetryLater,
         None),
        (200, {"templates": []}, Refused, "graph_refused"),
        (502, None, RetryLater, None),
    ],
)  # fmt: skip
def test_graph_errors_are_the_clients_outcome_values(
    stub: Stub, status: int, body: object, outcome: type, reason: str | None
) -> None:
    stub.page(PAGE, TOKEN, [template("a")])
    stub.errors[PAGE] = (status, body)  # type: ignore[assignment]
    result = listing(stub)
    assert isinstance(result, outcome), result
    if reason is not None:
        assert result.reason == reason  # type: ignore[union-attr]


def test_no_server_at_all_is_retry_later() -> None:
    client = GraphClient(RequestsTransport("http://127.0.0.1:9/v25.0", timeout=2), TOKEN)
    assert isinstance(client.list_message_templates(PAGE), RetryLater)


def test_a_next_url_without_cursors_gives_its_after_and_a_repeated_cursor_stops() -> None:
    again = {"next": "https://x/?a=1", "cursors": {"after": "B2"}}
    pages = {
        None: {"data": [template("a")], "paging": {"next": "https://x/v25.0/1/t?after=B2"}},
        "B2": {"data": [template("b")], "paging": again},
    }
    transport = FunctionTransport(lambda r: Response(200, pages[r.params.get("after")]))
    result = GraphClient(transport, TOKEN).list_message_templates("1")
    assert isinstance(result, Refused) and "repeats the cursor 'B2'" in result.message
    assert [r.params.get("after") for r in transport.requests] == [None, "B2"]


def test_the_page_id_stays_one_path_segment() -> None:
    transport = FunctionTransport(lambda r: Response(200, {"data": []}))
    GraphClient(transport, TOKEN).list_message_templates("../me/messages")
    assert transport.requests[0].path == "..%2Fme%2Fmessages/message_templates"
