"""GET /api/contacts, /api/contacts/<psid>, /api/contacts/<psid>/conversation.

Reads only; the queries live in `service/conversations.py` (the CLI shares
them). `?page=<page id>` picks the page (default: the only, or first,
configured one). Lists page with opaque cursors: `next` in the answer goes back
as `after` (contacts) or `before` (a conversation, newer pages first).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from pageflows.api.context import ApiContext, page_or_404
from pageflows.api.errors import ApiError
from pageflows.service import conversations
from pageflows.service.conversations import ContactFilter, QueryError


def register(blueprint: Blueprint, context: ApiContext) -> None:
    @blueprint.get("/contacts")
    def contacts() -> Response:
        page = page_or_404(context)
        filters = ContactFilter(
            q=request.args.get("q"),
            tag=request.args.get("tag") or None,
            field=request.args.get("field"),
            ref=request.args.get("ref") or None,
            source=request.args.get("source") or None,
            window=request.args.get("window") or None,
        )
        try:
            limit = conversations.parse_limit(request.args.get("limit"))
            found = conversations.list_contacts(
                context.engine,
                page.id,
                context.clock.now(),
                filters,
                limit=limit,
                after=request.args.get("after"),
                ad_window=page.ad_window,
            )
        except QueryError as exc:
            raise ApiError(400, str(exc), **exc.facts) from None
        return jsonify(page=page.id, contacts=found.items, next=found.next)

    @blueprint.get("/contacts/<psid>")
    def contact(psid: str) -> Response:
        page = page_or_404(context)
        row = conversations.get_contact(context.engine, page.id, psid)
        if row is None:
            raise ApiError(404, f"no contact {psid} on page {page.id}", psid=psid, page=page.id)
        detail = conversations.contact_detail(row, context.clock.now(), page.ad_window)
        detail["page_human_agent"] = page.human_agent
        return jsonify(detail)

    @blueprint.get("/contacts/<psid>/conversation")
    def conversation(psid: str) -> Response:
        page = page_or_404(context)
        row = conversations.get_contact(context.engine, page.id, psid)
        if row is None:
            raise ApiError(404, f"no contact {psid} on page {page.id}", psid=psid, page=page.id)
        try:
            limit = conversations.parse_limit(request.args.get("limit"))
            found = conversations.conversation(
                context.engine, page.id, psid, limit=limit, before=request.args.get("before")
            )
        except QueryError as exc:
            raise ApiError(400, str(exc), **exc.facts) from None
        return jsonify(
            page=page.id,
            contact=conversations.contact_item(row, context.clock.now(), page.ad_window),
            items=found.items,
            next=found.next,
        )
