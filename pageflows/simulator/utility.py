"""Utility messages: a Page's approved template, sent with `messaging_type: UTILITY`.

Facebook's replacement for the retired tags (policy.md §2a): it may go at any time,
with no 24 h window and no opt-in, but only as `message.template{name,
language{code}, components}` naming one of the Page's APPROVED templates with
enough body parameters. Checked here, apart from the window rules in send.py,
so a template send never reaches the window check and a window send never
reaches these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pageflows.simulator import errors
from pageflows.simulator.state import Page, Template


@dataclass(frozen=True)
class Filled:
    """The template a send named and the body parameters it carried, in order."""

    template: Template
    values: list[str]

    def shown(self) -> dict[str, Any]:
        """What the person sees: the body with its parameters, and the template's buttons."""
        return {"text": self.template.render(self.values), "buttons": self.template.buttons()}


def check_pairing(body: dict[str, Any], message: Any) -> bool:
    """Whether this is a utility send; refuse a template without UTILITY and the reverse."""
    utility = body.get("messaging_type") == "UTILITY"
    has_template = isinstance(message, dict) and "template" in message
    if has_template and not utility:
        raise errors.invalid_param("param message[template] needs messaging_type UTILITY")
    if utility and not has_template:
        # Covers the WhatsApp-style attachment too, which limits.py refuses first as
        # "Invalid template type" when it is sent with any messaging_type.
        raise errors.invalid_param(
            "messaging_type UTILITY needs message[template] naming an approved utility template"
        )
    return utility


def check_shape(body: dict[str, Any], message: Any) -> tuple[str, str, list[str]]:
    """(name, language, body parameters) of a well-formed utility send, or the refusal."""
    if not isinstance(message, dict):
        raise errors.invalid_param("param message must be a JSON object")
    if "quick_replies" in message:
        # Subcode from policy.md §2a (community report); code 100 and wording are ours.
        raise errors.invalid_param("Quick replies are not supported in utility messages", 2018416)
    if "tag" in body:
        raise errors.invalid_param("param tag is only allowed with messaging_type MESSAGE_TAG")
    recipient = body.get("recipient")
    if not isinstance(recipient, dict) or "id" not in recipient:
        raise errors.invalid_param("param recipient must be {id} for a utility message")
    template = message.get("template")
    if not isinstance(template, dict):
        raise errors.invalid_param("param message[template] must be a JSON object")
    name, language = template.get("name"), template.get("language")
    if not isinstance(name, str) or not name:
        raise errors.invalid_param("param message[template][name] must be non-empty")
    code = language.get("code") if isinstance(language, dict) else None
    if not isinstance(code, str) or not code:
        raise errors.invalid_param("param message[template][language][code] must be non-empty")
    return name, code, _body_parameters(template.get("components", []))


def _body_parameters(components: Any) -> list[str]:
    if not isinstance(components, list):
        raise errors.invalid_param("param message[template][components] must be an array")
    values: list[str] = []
    for i, component in enumerate(components):
        where = f"message[template][components][{i}]"
        if not isinstance(component, dict):
            raise errors.invalid_param(f"param {where} must be a JSON object")
        if str(component.get("type", "")).lower() != "body":
            continue  # header or button parameters: the simulator's templates have none
        parameters = component.get("parameters", [])
        if not isinstance(parameters, list):
            raise errors.invalid_param(f"param {where}[parameters] must be an array")
        for j, parameter in enumerate(parameters):
            text = parameter.get("text") if isinstance(parameter, dict) else None
            if not isinstance(parameter, dict) or parameter.get("type") != "text":
                raise errors.invalid_param(
                    f"param {where}[parameters][{j}][type] must be text (simulator)"
                )
            if not isinstance(text, str):
                raise errors.invalid_param(f"param {where}[parameters][{j}][text] must be a string")
            values.append(text)
    return values


def resolve(page: Page, name: str, language: str, values: list[str]) -> Filled:
    """The Page's approved template for (name, language), filled; call under the state lock."""
    template = page.template(name, language)
    if template is None:
        # UNCONFIRMED for Messenger: WhatsApp's wording for an unknown name/language pair.
        raise errors.invalid_param("Template name does not exist in the translation")
    if template.status != "APPROVED":
        raise errors.invalid_param("Template is not approved")  # UNCONFIRMED wording
    needed = template.placeholders()
    if len(values) < needed:
        # 100/1893029 from policy.md §2a (community report); wording follows WhatsApp's.
        raise errors.invalid_param(
            f"Number of parameters does not match the expected number of params "
            f"(expected {needed}, got {len(values)})",
            1893029,
        )
    return Filled(template, values)
