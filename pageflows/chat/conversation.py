"""A simulated conversation with one contact on a fake clock.

The shell behind `pageflows chat` and `pageflows test`: it feeds the pure
core the events a contact would cause (typing, taps, ref links, comments,
opt-ins), keeps the follow-ups the core asks for and fires them as the clock
moves, exactly as the server will. Nothing here talks to Facebook.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pageflows.clock import FakeClock
from pageflows.engine import timing
from pageflows.engine.contact import ContactState
from pageflows.engine.core import handle
from pageflows.engine.effects import Effect, Note, Outbound, Schedule, Send, Skipped
from pageflows.engine.events import (
    Attachment,
    BroadcastDue,
    CommentIn,
    FollowUpDue,
    InboundEvent,
    MessageIn,
    OptinIn,
    PostbackIn,
    Referral,
    ReferralIn,
    TimeoutDue,
    WindowClosingDue,
)
from pageflows.engine.render import TOPIC_PREFIX
from pageflows.rules.compile import Program
from pageflows.rules.page_facts import PageFacts
from pageflows.rules.values import parse_duration

ACTION_TIME = timedelta(seconds=1)
SOURCES = {
    "ads": "ADS",
    "link": "SHORTLINK",
    "qr": "MESSENGER_CODE",
    "chat plugin": "CUSTOMER_CHAT_PLUGIN",
}
HELP = """\
type a message to send it as the contact, or a command:
  /tap TITLE                  tap a quick reply or button of the last message
  /arrive [ref=REF] [from=ads|link|qr]   open the chat from an m.me link, QR code or ad
                              (no ref: see the EU fallback)
  /ad [ref=REF] TEXT          write TEXT after clicking a click-to-Messenger ad
  /getstarted [ref=REF]       tap Get Started (new conversation)
  /comment [post=ID] TEXT     comment on a Page post
  /optin TOPIC                tap "Get messages" under the bot's opt-in request on TOPIC
  /stop-optin TOPIC           stop marketing messages on TOPIC (after opting in)
  /attach KIND [URL]          send an image, audio, video, file or location
  /postback PAYLOAD           a postback from a persistent-menu item
  /wait DURATION              move the clock (25h, 3d, 1h30m); due follow-ups fire
  /broadcast NAME             send a broadcast now
  /handback                   your team hands the conversation back to the bot
  /state                      show the contact's tags, fields and pending follow-ups
  /help, /quit"""


class ConversationError(Exception):
    """A command the simulator cannot carry out, with a message for the person typing."""


@dataclass(frozen=True)
class Happened:
    at: datetime
    effect: Effect


@dataclass
class Conversation:
    program: Program
    clock: FakeClock
    contact: ContactState = field(default_factory=lambda: ContactState(id="contact-1"))
    pending: dict[str, Schedule] = field(default_factory=dict)
    broadcasts_done: set[str] = field(default_factory=set)
    # issue 12 (time): each recurring broadcast's last occurrence (or the start): the next
    # one after it is due when the clock passes it.
    occurrences_from: dict[str, datetime] = field(default_factory=dict)
    replied_comments: set[str] = field(default_factory=set)
    last_messages: list[Outbound] = field(default_factory=list)
    comments: int = 0
    page: PageFacts = field(default_factory=PageFacts)
    # Opt-in requests the contact was shown and has not tapped: topic -> title.
    optin_requests: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        program: Program,
        at: datetime,
        first_name: str = "Alice",
        page: PageFacts | None = None,
    ) -> Conversation:
        contact = ContactState(id="contact-1", first_name=first_name)
        conversation = cls(
            program=program, clock=FakeClock(at), contact=contact, page=page or PageFacts()
        )
        conversation.broadcasts_done = {
            name for name, (_, b) in program.broadcasts.items() if b.send_at <= at
        }
        conversation.occurrences_from = {
            name: at for name, (_, b) in program.broadcasts.items() if b.recurring
        }
        return conversation

    # ---------------------------------------------------------- commands

    def run(self, line: str) -> list[Happened]:
        """One line as typed in `pageflows chat`: a message, or a /command."""
        line = line.strip()
        if not line.startswith("/"):
            return self.say(line)
        head, _, raw = line[1:].partition(" ")
        if head.lower() == "tap":  # a title as typed: "Bob's table" has a lone quote
            return self.tap(raw)
        try:
            words = shlex.split(line[1:])
        except ValueError as exc:
            raise ConversationError(f"cannot read this command: {exc}") from None
        if not words:
            raise ConversationError("an empty command; /help lists them")
        name, args = words[0].lower(), words[1:]
        options = {k: v for k, _, v in (a.partition("=") for a in args if "=" in a)}
        rest = " ".join(a for a in args if "=" not in a)
        if name == "arrive":
            return self.arrive(options.get("ref"), options.get("from", "link"))
        if name == "ad":
            referral = Referral(ref=options.get("ref"), source="ADS")
            return self.event(MessageIn(text=rest, referral=referral, **self._base()))
        if name in ("getstarted", "get-started"):
            return self.get_started(options.get("ref"), options.get("from", "link"))
        if name == "comment":
            return self.comment(rest, options.get("post", "post-1"))
        if name == "optin":
            return self.optin(rest, "granted")
        if name == "stop-optin":
            return self.optin(rest, "stopped")
        if name == "attach":
            return self.attach(args)
        if name == "postback":
            return self.event(PostbackIn(payload=rest, **self._base()))
        if name == "wait":
            return self.wait(rest)
        if name == "broadcast":
            return self.broadcast(rest)
        if name == "handback":
            return self.handback()
        raise ConversationError(f'unknown command "/{name}"; /help lists them')

    def say(self, text: str) -> list[Happened]:
        return self.event(MessageIn(text=text, **self._base()))

    def tap(self, title: str) -> list[Happened]:
        wanted = _tap_key(title)
        offered: list[str] = []
        for outbound in reversed(self.last_messages):
            for kind, button_title, payload in _tappables(outbound):
                offered.append(button_title)
                if _tap_key(button_title) != wanted:
                    continue
                if kind == "quick":
                    return self.event(
                        MessageIn(text=button_title, quick_reply=payload, **self._base())
                    )
                if kind == "postback":
                    return self.event(
                        PostbackIn(payload=payload, title=button_title, **self._base())
                    )
                if kind == "optin":
                    return self.optin(payload, "granted")
                return [Happened(self.clock.now(), Note(text=f"opens {payload}"))]
        choices = ", ".join(f'"{t}"' for t in offered) or "nothing to tap"
        raise ConversationError(
            f'no quick reply or button "{title}"; the last messages offer {choices}'
        )

    def attach(self, args: list[str]) -> list[Happened]:
        kinds = ("image", "audio", "video", "file", "location")
        if not args or args[0] not in kinds:
            raise ConversationError("what to attach? /attach image|audio|video|file|location [URL]")
        url = args[1] if len(args) > 1 else None
        attachment = Attachment(type=args[0], url=url)
        return self.event(MessageIn(attachments=(attachment,), **self._base()))

    def arrive(self, ref: str | None, source: str = "link") -> list[Happened]:
        referral = Referral(ref=ref, source=SOURCES.get(source, source.upper()) if ref else None)
        return self.event(ReferralIn(referral=referral, **self._base()))

    def get_started(self, ref: str | None, source: str = "link") -> list[Happened]:
        referral = Referral(ref=ref, source=SOURCES.get(source, source.upper())) if ref else None
        return self.event(
            PostbackIn(
                payload="GET_STARTED", title="Get Started", referral=referral, **self._base()
            )
        )

    def comment(self, text: str, post_id: str) -> list[Happened]:
        self.comments += 1
        comment_id = f"{post_id}_comment{self.comments}"
        return self.event(
            CommentIn(comment_id=comment_id, post_id=post_id, text=text, **self._base())
        )

    def optin(self, topic: str, status: str) -> list[Happened]:
        """Accept (or stop) marketing messages, only as Messenger would let the contact:
        "Get messages" under an opt-in request the bot sent and that is still untapped;
        "Stop" only for a topic the contact holds a token for."""
        if not topic:
            raise ConversationError("which topic? /optin deals")
        if status == "granted":
            topic = self._take_optin_request(topic)
        else:
            held = {t.casefold(): t for t in self.contact.tokens}
            if topic.casefold() not in held:
                tokens = ", ".join(f'"{t}"' for t in self.contact.tokens) or "none"
                raise ConversationError(
                    f'the contact never opted in to "{topic}", so there is nothing to stop'
                    f" (their topics: {tokens})"
                )
            topic = held[topic.casefold()]
        return self.event(
            OptinIn(topic=topic, token=f"token-{topic}", status=status, **self._base())
        )

    def _take_optin_request(self, wanted: str) -> str:
        key = wanted.strip().strip('"').casefold()
        for topic, title in reversed(self.optin_requests.items()):
            if key in (topic.casefold(), title.casefold()):
                del self.optin_requests[topic]
                return topic
        if not self.optin_requests:
            raise ConversationError(
                f'no opt-in request for "{wanted}" to tap: Messenger shows "Get messages" only'
                " under an opt-in request the bot sent (`request notifications`), and none was"
                " sent or all were tapped"
            )
        waiting = ", ".join(f'"{t}" ({title})' for t, title in self.optin_requests.items())
        raise ConversationError(
            f'no opt-in request for "{wanted}" to tap; waiting to be tapped: {waiting}'
        )

    def broadcast(self, name: str) -> list[Happened]:
        if name not in self.program.broadcasts:
            known = ", ".join(self.program.broadcasts) or "none in these flows"
            raise ConversationError(f'no broadcast "{name}" (broadcasts: {known})')
        self.broadcasts_done.add(name)
        return self.event(BroadcastDue(name=name, **self._base()))

    def handback(self) -> list[Happened]:
        """issue 12: a person hands the conversation back (the service's handback, or the
        Page inbox passing the thread back): automation answers again from now on."""
        contact = self.contact
        if not (contact.handed_off or contact.agent_until is not None):
            raise ConversationError("the bot already has this conversation; nothing to hand back")
        self.contact = contact.model_copy(
            update={
                "handed_off": False,
                "handoff_until": None,
                "agent_until": None,
                "inbox_has_thread": False,
            }
        )
        for key in [k for k, v in self.pending.items() if v.purpose == "handoff_timeout"]:
            del self.pending[key]
        note = Note(text="the conversation is back with the bot")
        return [Happened(self.clock.now(), note)]

    def wait(self, text: str) -> list[Happened]:
        delay, problem = parse_duration(text.strip())
        if delay is None:
            raise ConversationError(problem[0] + "; " + (problem[1] or "") if problem else text)
        return self.advance_to(self.clock.now() + delay)

    def advance_to(self, target: datetime) -> list[Happened]:
        happened: list[Happened] = []
        while True:
            due = self._next_due(target)
            if due is None:
                break
            at, event = due
            self.clock.set(at)
            happened += self.event(event)
        self.clock.set(target)
        return happened

    # ---------------------------------------------------------- plumbing

    def _base(self) -> dict[str, object]:
        """A contact's action takes a second: what they do comes after what the bot did."""
        self.clock.advance(ACTION_TIME)
        return {"contact_id": self.contact.id, "timestamp": self.clock.now()}

    def _next_due(self, target: datetime) -> tuple[datetime, InboundEvent] | None:
        candidates: list[tuple[datetime, str, InboundEvent]] = []
        for key, item in self.pending.items():
            if item.due_at <= target:
                candidates.append((item.due_at, key, self._due_event(item)))
        for name, (_, cast) in self.program.broadcasts.items():
            if cast.recurring:  # issue 12: time
                occurrence = timing.occurrences(
                    cast.every,
                    f"{cast.local_time:%H:%M}",
                    timing.zone(cast.timezone) or ZoneInfo("UTC"),
                    self.occurrences_from.get(name, self.clock.now()),
                )
                if occurrence <= target:
                    occurs: InboundEvent = BroadcastDue(
                        name=name, contact_id=self.contact.id, timestamp=occurrence
                    )
                    candidates.append((occurrence, "every:" + name, occurs))
                continue
            if name not in self.broadcasts_done and cast.send_at <= target:
                due_event: InboundEvent = BroadcastDue(
                    name=name, contact_id=self.contact.id, timestamp=cast.send_at
                )
                candidates.append((cast.send_at, "broadcast:" + name, due_event))
        if not candidates:
            return None
        at, key, event = min(candidates, key=lambda c: (c[0], c[1]))
        if key.startswith("broadcast:"):
            self.broadcasts_done.add(key.removeprefix("broadcast:"))
        elif key.startswith("every:"):
            self.occurrences_from[key.removeprefix("every:")] = at
        else:
            del self.pending[key]
        return max(at, self.clock.now()), event

    def _due_event(self, item: Schedule) -> InboundEvent:
        if item.purpose in ("ask_timeout", "handoff_timeout"):  # issue 12: asks
            return TimeoutDue(
                purpose=item.purpose,
                root=item.root,
                path=item.path,
                created_at=item.created_at,
                contact_id=self.contact.id,
                timestamp=item.due_at,
            )
        if item.purpose == "window_closing":
            return WindowClosingDue(
                root=item.root,
                for_message_at=item.created_at,
                contact_id=self.contact.id,
                timestamp=item.due_at,
            )
        return FollowUpDue(
            root=item.root,
            path=item.path,
            created_at=item.created_at,
            unless_replied=item.unless_replied,
            tag=item.tag,
            topic=item.topic,
            contact_id=self.contact.id,
            timestamp=item.due_at,
        )

    def event(self, event: InboundEvent) -> list[Happened]:
        if isinstance(event, CommentIn):
            event = event.model_copy(
                update={"already_replied": event.comment_id in self.replied_comments}
            )
        now = self.clock.now()
        decision = handle(self.program, self.contact, event, now, page=self.page)
        self.contact = decision.contact
        sent: list[Outbound] = []
        for effect in decision.effects:
            if isinstance(effect, Schedule):
                if effect.purpose == "window_closing":
                    for key in [
                        k for k, v in self.pending.items() if v.purpose == "window_closing"
                    ]:
                        del self.pending[key]
                self.pending[effect.key] = effect
            elif isinstance(effect, Send):
                sent.append(effect.outbound)
                self._note_optin_request(effect.outbound)
                if effect.outbound.recipient.comment_id:
                    self.replied_comments.add(effect.outbound.recipient.comment_id)
        if sent:
            self.last_messages = sent
        return [Happened(now, effect) for effect in decision.effects]

    def _note_optin_request(self, outbound: Outbound) -> None:
        """A sent opt-in request puts "Get messages" on screen until it is tapped."""
        payload = outbound.message.get("attachment", {}).get("payload", {})
        if payload.get("template_type") == "notification_messages":
            topic = str(payload.get("payload", "")).removeprefix(TOPIC_PREFIX)
            self.optin_requests.pop(topic, None)  # the newest request is the one on top
            self.optin_requests[topic] = str(payload.get("title") or topic)

    def pending_follow_ups(self) -> list[Schedule]:
        """What is still to come. A question's timer whose question was answered (or let go)
        and a handoff's timer after a handback stay in `pending` and fire as no-ops, as in the
        service; they are not shown as if something were still to happen."""
        return sorted(
            (item for item in self.pending.values() if self._live(item)), key=lambda s: s.due_at
        )

    def _live(self, item: Schedule) -> bool:
        if item.purpose == "ask_timeout":
            waiting = self.contact.waiting
            return (
                waiting is not None
                and (waiting.root, waiting.path) == (item.root, item.path)
                and waiting.asked_at == item.created_at
            )
        if item.purpose == "handoff_timeout":
            return self.contact.handed_off
        return True


def _tappables(outbound: Outbound) -> list[tuple[str, str, str]]:
    """(kind, title, payload or url) of what a person could tap in a message."""
    message = outbound.message
    found = [("quick", q["title"], q["payload"]) for q in message.get("quick_replies", [])]
    payload = message.get("attachment", {}).get("payload", {})
    if payload.get("template_type") == "notification_messages":
        found.append(("optin", "Get messages", payload["payload"].removeprefix(TOPIC_PREFIX)))
    buttons = list(payload.get("buttons", []))
    for element in payload.get("elements", []):
        buttons += element.get("buttons", [])
    for button in buttons:
        if button["type"] == "postback":
            found.append(("postback", button["title"], button["payload"]))
        elif button["type"] == "web_url":
            found.append(("url", button["title"], button["url"]))
        else:
            found.append(("call", button["title"], button["payload"]))
    return found


def describe_delivery(effect: Send | Skipped) -> str:
    """How a message goes out, in transcript words: RESPONSE, UPDATE, ... or skipped REASON."""
    if isinstance(effect, Skipped):
        return f"skipped {effect.reason}"
    if effect.outbound.recipient.comment_id:
        return "private reply"
    return effect.delivery.describe()


def wait_text(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return "".join(parts) or f"{seconds}s"


def _tap_key(title: str) -> str:
    """A title as people type it: any case, in quotes or not, with a phone's curly
    apostrophe (’) for the straight one."""
    title = title.strip()
    if len(title) > 1 and title[0] == title[-1] == '"':
        title = title[1:-1]
    return title.replace("\u2019", "'").replace("\u2018", "'").casefold()
