"""What a Page is on Facebook's side, as far as the rules care: its region and its templates.

Facebook's rules differ by Page: notification tokens work from 2026-02-10 only for Pages
in AU, the EU, JP, KR and the UK; a utility template is the Page's own, approved or not;
the 7-day window after a click-to-Messenger ad is a per-Page opt-in. The checker, the
engine and the `policy` command all read these facts from here. They come from
`pageflows.toml` (declared) and from the database (`pageflows templates sync` and the
`message_template_status_update` webhook); rules/ only holds the shapes, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Regions where Facebook kept recurring notifications after 2026-02-10 (policy.md §3).
REGIONS = ("AU", "EU", "JP", "KR", "UK")
TEMPLATE_STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED", "IN_APPEAL")
# Buttons Facebook accepts in a Messenger utility template (policy.md §2a); QUICK_REPLY is
# refused with subcode 2018416.
TEMPLATE_BUTTONS = ("POSTBACK", "URL", "PHONE_NUMBER")
_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


def count_placeholders(text: str) -> int:
    """The number of parameters `{{1}}`..`{{n}}` a template text needs: its highest index."""
    return max((int(n) for n in _PLACEHOLDER.findall(text)), default=0)


@dataclass(frozen=True)
class TemplateInfo:
    """One message template of a Page, as Facebook lists it."""

    name: str
    language: str
    status: str = "APPROVED"
    category: str = "UTILITY"
    body: str = ""  # the body text with {{1}} placeholders, for previews and the linter
    parameters: int = 0  # how many body parameters a send must carry
    buttons: tuple[str, ...] = ()  # button types, upper case: URL, POSTBACK, PHONE_NUMBER...

    @property
    def approved(self) -> bool:
        return self.status == "APPROVED"

    def fill(self, values: tuple[str, ...]) -> str:
        """The body as the contact reads it, with the parameters in place."""

        def one(match: re.Match[str]) -> str:
            index = int(match.group(1)) - 1
            return values[index] if 0 <= index < len(values) else match.group(0)

        return _PLACEHOLDER.sub(one, self.body)


@dataclass(frozen=True)
class PageFacts:
    """The per-Page facts Facebook's rules depend on; the defaults are the strict reading."""

    id: str = ""
    region: str | None = None  # one of REGIONS, or None: none of them
    ad_window: bool = False  # the 7-day window after a click-to-Messenger ad (policy.md §1a)
    templates: tuple[TemplateInfo, ...] = ()
    # issue 12 (time): the IANA zone `after 1d at "10:00"` counts in when the contact's
    # own is unknown (Facebook does not give pageflows one: see docs/language.md).
    timezone: str = "UTC"

    def template(self, name: str, language: str) -> TemplateInfo | None:
        for template in self.templates:
            if template.name == name and template.language == language:
                return template
        return None

    def languages_of(self, name: str) -> tuple[str, ...]:
        return tuple(t.language for t in self.templates if t.name == name)

    @property
    def label(self) -> str:
        return f"page {self.id}" if self.id else "the page"
