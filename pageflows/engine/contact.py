"""A contact's state as the core reads and returns it (storage keeps it per page)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict

from pageflows.engine.policy import TokenState


class PendingAsk(BaseModel):
    """An `ask` waiting for the contact's answer: where it is, so the flow can resume."""

    model_config = ConfigDict(frozen=True)

    root: str
    path: tuple[int | str, ...]
    field: str


class ContactState(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    first_name: str | None = None
    last_name: str | None = None
    fields: dict[str, str] = {}
    tags: frozenset[str] = frozenset()
    ref: str | None = None
    ref_source: str | None = None
    first_seen_at: AwareDatetime | None = None
    last_user_message_at: AwareDatetime | None = None
    message_count: int = 0
    waiting: PendingAsk | None = None
    handed_off: bool = False
    tokens: dict[str, TokenState] = {}
    # The contact's message that came from a click-to-Messenger ad (policy.md §1a).
    ad_message_at: AwareDatetime | None = None
    # Opt-in request title -> when it last went out: one per title per week (policy.md §3).
    optin_requests: dict[str, AwareDatetime] = {}

    @property
    def is_new(self) -> bool:
        return self.first_seen_at is None
