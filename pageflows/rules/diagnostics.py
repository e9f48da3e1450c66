"""Findings about flow files: errors and warnings as values.

A user's mistake is never an exception inside `rules/`: every stage returns
its result plus a list of `Diagnostic`. Each has a stable code and name (so
docs, editors and CI can refer to it), a span, a message in the marketer's
words and, when a fix is likely, a hint. Rendering happens once, in report.py.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from pageflows.rules.source import Span
from pageflows.rules.trusted import trusted


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Code(StrEnum):
    """Stable codes. Numbers never change meaning; retire, don't reuse."""

    # reading and syntax (PF0xx)
    NOT_TEXT = "PF001 not-text"
    TOO_LARGE = "PF002 file-too-large"
    MIXED_INDENT = "PF003 mixed-indentation"
    BAD_INDENT = "PF004 bad-indentation"
    SYNTAX = "PF010 syntax"
    BAD_NAME = "PF011 bad-flow-name"
    # values (PF1xx)
    BAD_DURATION = "PF112 bad-duration"
    BAD_STRING = "PF113 bad-text"
    BAD_URL = "PF114 bad-url"
    BAD_REGEX = "PF115 bad-regex"
    BAD_PERCENT = "PF116 bad-percent"
    BAD_TIME = "PF117 bad-broadcast-time"
    BAD_TIMEZONE = "PF118 bad-timezone"
    BAD_TEMPLATE = "PF119 bad-template"
    BAD_REF = "PF120 bad-ref"
    BAD_PHONE = "PF121 bad-phone"
    EMPTY_KEYWORD = "PF122 empty-keyword"
    EMPTY_TITLE = "PF123 title-can-be-empty"  # issue 12: B
    BAD_NUMBER = "PF130 bad-number"  # issue 12: D
    TYPING_TOO_LONG = "PF131 typing-too-long"  # issue 12: D
    CONDITION_TOO_DEEP = "PF132 condition-too-deep"  # issue 12: D
    BAD_RETRIES = "PF125 bad-retries"  # issue 12: asks
    BAD_WAIT = "PF126 bad-wait"  # issue 12: asks
    BAD_TIME_OF_DAY = "PF135 bad-time-of-day"  # issue 12: time
    BAD_WEEKDAY = "PF136 bad-weekday"  # issue 12: time
    BAD_DATE_FIELD = "PF137 bad-date-field"  # issue 12: time
    AT_NEEDS_DAYS = "PF138 time-of-day-needs-days"  # issue 12: time
    # structure (PF2xx)
    UNKNOWN_TARGET = "PF201 unknown-target"
    DUPLICATE_NAME = "PF202 duplicate-name"
    PRIVATE_REPLY_OUTSIDE_COMMENT = "PF203 private-reply-outside-comment"
    ASK_IN_FOLLOW_UP = "PF204 misplaced-action"
    ASK_OPTION_TWICE = "PF205 ask-option-twice"  # issue 12: asks
    # Facebook's limits and policy (PF3xx)
    TEXT_TOO_LONG = "PF301 text-too-long"
    TOO_MANY_QUICK_REPLIES = "PF302 too-many-quick-replies"
    QUICK_REPLY_TOO_LONG = "PF303 quick-reply-too-long"
    TOO_MANY_BUTTONS = "PF304 too-many-buttons"
    BUTTON_TITLE_TOO_LONG = "PF305 button-title-too-long"
    TOO_MANY_CARDS = "PF306 too-many-cards"
    CARD_FIELD_TOO_LONG = "PF307 card-field-too-long"
    HUMAN_AGENT_TAG = "PF310 human-agent-in-flow"
    UNKNOWN_TAG = "PF311 unknown-tag"
    RETIRED_TAG = "PF312 retired-tag"
    TAG_NOT_FOR_FLOWS = "PF313 tag-not-for-flows"
    UNKNOWN_TEMPLATE = "PF314 unknown-template"
    TEMPLATE_PARAMETERS = "PF315 template-parameters"
    TEMPLATE_QUICK_REPLIES = "PF316 quick-replies-on-template"
    TEMPLATE_NOT_APPROVED = "PF317 template-not-approved"
    GRAPH_VERSION_ENDED = "PF318 graph-version-ended"
    # warnings (PF4xx)
    SHADOWED_TRIGGER = "PF401 shadowed-trigger"
    UNREACHABLE_STEP = "PF402 unreachable-step"
    FOLLOW_UP_OUTSIDE_WINDOW = "PF403 follow-up-outside-window"
    NO_REF_FALLBACK = "PF404 no-ref-fallback"
    BROADCAST_WITHOUT_TAG = "PF405 broadcast-window-only"
    CODE_AFTER_JUMP = "PF406 unreachable-action"
    NOTIFICATIONS_DISCONTINUED = "PF407 notifications-discontinued"
    PROMOTIONAL_CONTENT = "PF408 promotional-content"
    GRAPH_VERSION_ENDING = "PF409 graph-version-ending"
    UNKNOWN_FIELD = "PF410 unknown-field"  # issue 12: B
    SILENT_TAP = "PF411 silent-tap"  # issue 12: B
    PAST_BROADCAST = "PF412 past-broadcast"  # issue 12: B
    EMPTY_FLOW = "PF413 empty-flow"  # issue 12: B
    TITLE_MAY_BE_CUT = "PF414 title-may-be-cut"  # issue 12: B
    NUMBER_FROM_TEXT = "PF418 number-from-text"  # issue 12: D
    TYPING_BEFORE_NOTHING = "PF419 typing-before-nothing"  # issue 12: D
    ASK_CHOICE_INVALID = "PF415 quick-answer-invalid"  # issue 12: asks
    ASK_WAITS_PAST_WINDOW = "PF416 ask-waits-past-window"  # issue 12: asks
    DATE_FIELD_NEVER_SET = "PF420 date-field-never-set"  # issue 12: time

    @property
    def number(self) -> str:
        return self.value.split(" ", 1)[0]

    @property
    def label(self) -> str:
        return self.value.split(" ", 1)[1]


class Diagnostic(BaseModel):
    # issue 13: A: its validator built with the first finding (source.py's SourceFile).
    model_config = ConfigDict(frozen=True, defer_build=True)

    code: Code
    severity: Severity
    span: Span
    message: str
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def error(code: Code, span: Span, message: str, hint: str | None = None) -> Diagnostic:
    return _made(code, Severity.ERROR, span, message, hint)


def warning(code: Code, span: Span, message: str, hint: str | None = None) -> Diagnostic:
    return _made(code, Severity.WARNING, span, message, hint)


# Every field is given: error() and warning() name them all.
_GIVEN = frozenset({"code", "severity", "span", "message", "hint"})


def _made(code: Code, severity: Severity, span: Span, message: str, hint: str | None) -> Diagnostic:
    """issue 13: A. A finding made as validation makes it (trusted.py) when every value
    is of its field's exact type, as the checks give them: the first finding no longer
    builds the validator (with pydantic's look for plugins among the installed
    packages, ~25 ms of a `check` that finds anything), nor does each finding go through
    it (10,000 findings: ~17 ms). Any other value is validated, as before."""
    if (
        type(code) is Code
        and type(span) is Span
        and type(message) is str
        and (hint is None or type(hint) is str)
    ):
        values: dict[str, object] = {"code": code, "severity": severity, "span": span}
        values["message"], values["hint"] = message, hint
        return trusted(Diagnostic, values, _GIVEN)
    return Diagnostic(code=code, severity=severity, span=span, message=message, hint=hint)


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.span.path, d.span.line, d.span.col, d.code.number)
