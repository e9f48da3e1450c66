"""Utility templates as the Page has them: known, approved, given their parameters.

A `send template` names a template that lives on Facebook's side, with the Page. A
typo, a missing parameter or a template still PENDING would be refused by Facebook
at send time, after the contact was already promised the update; so the checker
compares each send with the Page's templates (`pageflows.toml` or `pageflows
templates sync`), for every Page the flows run on.
"""

from __future__ import annotations

import difflib

from pageflows.rules import model as m
from pageflows.rules.diagnostics import Code, Diagnostic, error
from pageflows.rules.page_facts import PageFacts
from pageflows.rules.walk import walk_flow


def check(flows: list[m.Flow], pages: tuple[PageFacts, ...]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for flow in flows:
        for action, _where in walk_flow(flow):
            if isinstance(action, m.SendTemplate):
                found += _one(action, pages)
    return found


def _one(action: m.SendTemplate, pages: tuple[PageFacts, ...]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    if action.quick_replies:
        found.append(
            error(
                Code.TEMPLATE_QUICK_REPLIES,
                action.quick_replies[0].span,
                "Facebook refuses quick replies on a utility template (error 2018416)",
                "give the template POSTBACK, URL or phone buttons on Facebook, or send the"
                " question as its own message inside the 24 h window",
            )
        )
    per_page: dict[tuple[Code, str], tuple[list[str], Diagnostic]] = {}
    for page in pages or (PageFacts(),):
        for finding in _on_page(action, page):
            key = (finding.code, finding.message.replace(page.label, "\0"))
            labels, _ = per_page.setdefault(key, ([], finding))
            labels.append(page.label)
    for (_code, message), (labels, first) in per_page.items():
        found.append(first.model_copy(update={"message": message.replace("\0", _join(labels))}))
    return found


def _join(labels: list[str]) -> str:
    if len(labels) == 1:
        return labels[0]
    ids = [label.removeprefix("page ") for label in labels]
    return "pages " + ", ".join(ids[:-1]) + " and " + ids[-1]


def _on_page(action: m.SendTemplate, page: PageFacts) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    template = page.template(action.name, action.language)
    if template is None:
        return [_unknown(action, page)]
    if not template.approved:
        found.append(
            error(
                Code.TEMPLATE_NOT_APPROVED,
                action.span,
                f'template "{action.name}" ({action.language}) is {template.status} on'
                f" {page.label}; Facebook sends only APPROVED templates",
                "wait for Facebook's review, or fix the template and submit it again;"
                " `pageflows templates sync` reads the latest status",
            )
        )
    given = len(action.parameters)
    if given != template.parameters:
        found.append(
            error(
                Code.TEMPLATE_PARAMETERS,
                action.span,
                f'template "{action.name}" on {page.label} has {template.parameters}'
                f" placeholder{'s' if template.parameters != 1 else ''}"
                f" and this send gives {given}",
                _parameters_hint(template.parameters, template.body),
            )
        )
    if "QUICK_REPLY" in template.buttons:
        found.append(
            error(
                Code.TEMPLATE_QUICK_REPLIES,
                action.span,
                f'template "{action.name}" on {page.label} has a QUICK_REPLY button,'
                " which Facebook refuses in Messenger utility templates (error 2018416)",
                "use POSTBACK, URL or PHONE_NUMBER buttons in the template",
            )
        )
    return found


def _unknown(action: m.SendTemplate, page: PageFacts) -> Diagnostic:
    languages = page.languages_of(action.name)
    if languages:
        hint = (
            f'"{action.name}" exists in {", ".join(languages)}; write `language "{languages[0]}"`'
        )
    else:
        names = sorted({t.name for t in page.templates})
        close = difflib.get_close_matches(action.name, names, n=1, cutoff=0.6)
        if close:
            hint = f'did you mean "{close[0]}"?'
        elif names:
            hint = f"templates of {page.label}: {', '.join(names)}"
        else:
            hint = (
                "declare the Page's templates in pageflows.toml ([[pages.templates]])"
                " or read them from Facebook with `pageflows templates sync`"
            )
    return error(
        Code.UNKNOWN_TEMPLATE,
        action.span,
        f'there is no template "{action.name}" in {action.language} on {page.label}',
        hint,
    )


def _parameters_hint(wanted: int, body: str) -> str:
    shown = f': "{body}"' if body else ""
    if wanted == 0:
        return f"the template takes no parameters{shown}; remove `with ...`"
    return f"give {wanted} after `with`, in the order of {{{{1}}}}..{{{{{wanted}}}}}{shown}"
