"""Running flow actions for one event: the interpreter behind core.handle.

A `Run` collects effects and the contact's new state. Blocks run top to
bottom; `goto`, `stop`, `ask` and `handoff` end the run of the block they are
in (a goto continues in the target step and never comes back). Every message
goes through the policy (`decide`) and comes out as a Send or a Skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pageflows.engine import addresses, answers, conditions, render, timing
from pageflows.engine.addresses import Path
from pageflows.engine.contact import ContactState, PendingAsk
from pageflows.engine.effects import (
    Cancelled,
    Changed,
    Effect,
    HandOff,
    Note,
    NotifyOut,
    Outbound,
    Recipient,
    Schedule,
    Send,
    Skipped,
    TakeBack,
    Typing,
)
from pageflows.engine.events import (
    BroadcastDue,
    CommentIn,
    FollowUpDue,
    InboundEvent,
    MessageIn,
    TimeoutDue,
    WindowClosingDue,
)
from pageflows.engine.policy import (
    RULES,
    Delivery,
    Skip,
    decide,
    decide_optin_request,
    decide_private_reply,
    decide_template,
)
from pageflows.rules import model as m
from pageflows.rules.compile import CompiledTrigger, Program
from pageflows.rules.page_facts import PageFacts
from pageflows.rules.source import Span

MAX_JUMPS = 50
DEFAULT_INVALID = {
    "email": "That doesn't look like an email address. Could you type it again?",
    "phone": "That doesn't look like a phone number. Could you type it again?",
    "number": "Please answer with a number.",
    "text": "Could you answer in a few words?",
    "date": "Which day? You can write 24/12, Dec 24, tomorrow or friday.",
    "time": "At what time? You can write 19:30 or 7pm.",
}


class Halt(Exception):
    """Ends the current run of actions (goto done, stop, ask, handoff)."""


@dataclass
class Channel:
    """How messages of this run may go out: proactively, with a tag or a token."""

    scheduled: bool = False
    tag: str | None = None
    topic: str | None = None
    comment_id: str | None = None


@dataclass
class Run:
    program: Program
    contact: ContactState
    event: InboundEvent
    now: datetime
    page: PageFacts = field(default_factory=PageFacts)
    effects: list[Effect] = field(default_factory=list)
    channel: Channel = field(default_factory=Channel)
    jumps: int = 0
    replied_to_comment: bool = False
    tokens_used: set[str] = field(default_factory=set)

    # ---------------------------------------------------------- entry points

    def fire(self, compiled: CompiledTrigger) -> None:
        root = addresses.trigger_root(self.program, compiled.id)
        if isinstance(self.event, CommentIn):
            self.channel = Channel(comment_id=self.event.comment_id)
        self.run_root(root, compiled.block.body)

    def tap(self, payload: str) -> bool:
        """A quick reply or button of ours: run what it points to."""
        address = render.parse_payload(payload)
        if address is None:
            return False
        root, path = address
        found = addresses.resolve(self.program, root)
        try:
            node = addresses.node_at(found[1], path) if found else None
        except LookupError:
            node = None
        if node is None:
            self.effects.append(Note(text=f"a tap on an old button or quick reply ({root})"))
            return True
        if isinstance(node, m.AskChoice) and node.reaction is None:  # issue 12: asks
            return self.tap_answer(node, root, path)
        self._set(waiting=None)
        reaction = node.reaction
        with contextlib.suppress(Halt):
            self.react(reaction, root)
        return True

    # ---------------------------------------------------------- asks (issue 12)

    def waiting_ask(self) -> tuple[m.Ask, tuple[m.Action, ...]] | None:
        """The question the contact's answer is awaited for, and its root's actions."""
        waiting = self.contact.waiting
        if waiting is None:
            return None
        found = addresses.resolve(self.program, waiting.root)
        try:
            ask = addresses.node_at(found[1], waiting.path) if found else None
        except LookupError:
            ask = None
        if found is None or not isinstance(ask, m.Ask):
            return None
        return ask, found[1]

    def answer(self, event: MessageIn, trigger_takes_it: bool = False) -> bool:
        """The message as the answer to the waiting question: True if the question took it.

        False means the question let go of it (a cancel word, its time ran out, a
        keyword trigger takes an answer that does not fit, or its tries ran out with
        nowhere to go): the message then goes to the triggers like any other.
        """
        waiting = self.contact.waiting
        assert waiting is not None
        found = self.waiting_ask()
        if found is None:
            self._set(waiting=None)
            self.effects.append(Note(text="the question this answers is gone from the flows"))
            return False
        ask, actions = found
        text = event.text or ""
        if waiting.expired(self.now):
            self._set(waiting=None)
            self.effects.append(
                Note(text=f'the question for "{ask.field}" stopped waiting at {_at(waiting.until)}')
            )
            return False
        if _says_cancel(text, ask.cancel_words):
            self._set(waiting=None)
            self.effects.append(Note(text=f'the contact cancelled the question for "{ask.field}"'))
            return False
        value = answers.validate(ask.expects, text, self.today)
        if value is not None:
            self.accept(ask, actions, value)
            return True
        if trigger_takes_it:
            self._set(waiting=None)
            self.effects.append(
                Note(text=f'not an answer for "{ask.field}": a trigger takes this message')
            )
            return False
        wrong = waiting.wrong + 1
        if wrong >= ask.tries:
            self._set(waiting=None)
            self.effects.append(
                Note(text=f'{wrong} answers that do not fit "{ask.field}": the question lets go')
            )
            return self.give_up(ask, actions, waiting.root, waiting.path)
        self._set(waiting=waiting.model_copy(update={"wrong": wrong}))
        text = (
            render.fill(ask.invalid, self.values) if ask.invalid else DEFAULT_INVALID[ask.expects]
        )
        message = render.ask_message(text, ask.choices, waiting.root, waiting.path)
        self.send(message, ask.span)
        return True

    def tap_answer(self, choice: m.AskChoice, root: str, path: Path) -> bool:
        """A tap on a question's quick reply: its title is the answer, if that question waits.

        A tap on the quick reply of a question that no longer waits is read as the
        title typed (False): triggers, or another waiting question, take it.
        """
        waiting = self.contact.waiting
        if waiting is None or (waiting.root, tuple(waiting.path)) != (root, tuple(path[:-2])):
            return False
        found = self.waiting_ask()
        if found is None or waiting.expired(self.now):
            return False
        ask, actions = found
        value = answers.validate(ask.expects, choice.title, self.today)
        if value is None:  # the checker warns (PF415); the contact gets the invalid text
            return self.answer(MessageIn(contact_id=self.contact.id, timestamp=self.now))
        self.accept(ask, actions, value)
        return True

    def accept(self, ask: m.Ask, actions: tuple[m.Action, ...], value: str) -> None:
        waiting = self.contact.waiting
        assert waiting is not None
        self._set(waiting=None)
        self._set_field(ask.field, value)
        with contextlib.suppress(Halt):
            self.resume(waiting.root, actions, waiting.path)

    def give_up(self, ask: m.Ask, actions: tuple[m.Action, ...], root: str, path: Path) -> bool:
        """Where the flow goes when a question gets no answer: `if no answer`, else nowhere."""
        if ask.give_up is not None:
            with contextlib.suppress(Halt):
                self.jump(ask.give_up, root)
            return True
        if ask.give_up_continue:
            with contextlib.suppress(Halt):
                self.resume(root, actions, path)
            return True
        return False

    def timeout(self, event: TimeoutDue) -> None:
        """A question's `for` ran out: it lets go, and the flow goes on if it says where."""
        if event.purpose == "handoff_timeout":
            if not any(isinstance(e, TakeBack) for e in self.effects):
                self.effects.append(Note(text="the handoff had already ended"))
            return
        waiting = self.contact.waiting
        same = waiting is not None and (
            (waiting.root, tuple(waiting.path), waiting.asked_at)
            == (event.root, tuple(event.path), event.created_at)
        )
        found = self.waiting_ask() if same else None
        if waiting is None or found is None:
            return  # answered or let go already: this timer has nothing left to end
        ask, actions = found
        self._set(waiting=None)
        if self.contact.automation_paused(self.now):
            self.effects.append(self._paused(ask.span))
            return
        self.effects.append(
            Note(text=f'no answer for "{ask.field}" in {ask.timeout_text}: the question lets go')
        )
        self.channel = Channel(scheduled=True)
        self.give_up(ask, actions, waiting.root, waiting.path)

    @property
    def today(self) -> date:
        """The event's day where the Page is, for "tomorrow" and "friday" in answers.

        The Page's time zone when it has one (`timezone`), else UTC.
        """
        zone = getattr(self.page, "timezone", None)
        if isinstance(zone, str) and zone:
            with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
                return self.now.astimezone(ZoneInfo(zone)).date()
        return self.now.astimezone(UTC).date()

    def follow_up(self, event: FollowUpDue) -> None:
        after = _after_at(self.program, event.root, event.path[:-2])
        span = after.span if after is not None else None
        if after is None:
            self.effects.append(
                Cancelled(reason="flow_changed", detail="this follow-up is no longer in the flows")
            )
            return
        last = self.contact.last_user_message_at
        if event.unless_replied and last is not None and last > event.created_at:
            self.effects.append(
                Cancelled(
                    reason="contact_replied",
                    detail=f"the contact wrote again at {last:%Y-%m-%d %H:%M} UTC",
                    origin=span,
                )
            )
            return
        if self.contact.automation_paused(self.now):
            self.effects.append(self._paused(span))
            return
        self.channel = Channel(scheduled=True, tag=event.tag, topic=event.topic)
        try:  # issue 13: not `contextlib.suppress`, an object and two calls per follow-up
            self.run_list(event.root, after.body, event.path[:-1])
        except Halt:  # the run of the `after` ended (stop, goto done, ask, handoff)
            return

    def _paused(self, span: Span | None) -> Cancelled:
        """Why a follow-up or a broadcast does not run: a human has the conversation."""
        if self.contact.handed_off:
            return Cancelled(
                reason="handed_off", detail="a human has this conversation", origin=span
            )
        until = self.contact.agent_until
        return Cancelled(
            reason="person_answering",
            detail=f"a person is answering this contact until {until:%Y-%m-%d %H:%M} UTC",
            origin=span,
        )

    def window_closing(self, event: WindowClosingDue) -> None:
        stale = self.contact.last_user_message_at != event.for_message_at
        if stale or self.contact.automation_paused(self.now):
            return
        found = addresses.resolve(self.program, event.root)
        if found is not None:
            self.channel = Channel(scheduled=True)
            self.run_root(event.root, found[1])

    def broadcast(self, event: BroadcastDue) -> None:
        entry = self.program.broadcasts.get(event.name)
        if entry is None:
            return
        flow, cast = entry
        if not _in_audience(self.contact, cast):
            return
        if self.contact.automation_paused(self.now):
            self.effects.append(self._paused(None))
            return
        topic = cast.audience_value if cast.audience == "subscribers" else None
        self.channel = Channel(scheduled=True, tag=cast.tag, topic=topic)
        self.run_root(addresses.broadcast_root(flow, cast.name), cast.body)

    # ---------------------------------------------------------- interpreter

    def run_root(self, root: str, actions: tuple[m.Action, ...]) -> None:
        try:  # as in `follow_up`: one per inbox event and broadcast delivery
            self.run_list(root, actions, ())
        except Halt:  # the run ended (stop, goto done, ask, handoff)
            return

    def run_list(
        self, root: str, actions: tuple[m.Action, ...], prefix: Path, start: int = 0
    ) -> None:
        for i in range(start, len(actions)):
            self.act(actions[i], root, (*prefix, i))

    def resume(
        self, root: str, actions: tuple[m.Action, ...], path: Path, prefix: Path = ()
    ) -> None:
        """Run what follows `path` (an ask), climbing out of branches, not out of `after`."""
        index = path[0]
        assert isinstance(index, int)
        if len(path) > 1:
            name = path[1]
            assert isinstance(name, str)
            inner = addresses.branch(actions[index], name)
            self.resume(root, inner, path[2:], (*prefix, index, name))
            if name == "body":
                return
        self.run_list(root, actions, prefix, index + 1)

    def act(self, action: m.Action, root: str, path: Path) -> None:
        if isinstance(action, m.SendText):
            values = self.values  # the contact's, built once for the text and its replies
            text = render.fill(action.text, values)
            message = render.text_message(text, action.quick_replies, root, path, values)
            self.send(message, action.span)
        elif isinstance(action, m.SendButtons):
            self.send(render.buttons_message(action, self.values, root, path), action.span)
        elif isinstance(action, m.SendCards):
            self.send(render.cards_message(action, self.values, root, path), action.span)
        elif isinstance(action, m.SendMedia):
            self.send(render.media_message(action), action.span)
        elif isinstance(action, m.SendTemplate):
            self.send_template(action)
        elif isinstance(action, m.PrivateReply):
            self.private_reply(action, root, path)
        elif isinstance(action, m.RequestNotifications):
            self.request_notifications(action)
        elif isinstance(action, m.AddTag | m.RemoveTag | m.SetField | m.Goto):
            self.react(action, root)
        elif isinstance(action, m.Ask):
            self.ask(action, root, path)
        elif isinstance(action, m.After):
            self.schedule(action, root, path)
        elif isinstance(action, m.If):
            taken = action.then if self.holds(action.condition) else action.otherwise
            self.run_list(root, taken, (*path, "then" if taken is action.then else "else"))
        elif isinstance(action, m.Split):
            share = _bucket(self.contact.id, root, path)
            then = share < action.percent
            self.run_list(
                root, action.then if then else action.otherwise, (*path, "then" if then else "else")
            )
        elif isinstance(action, m.Handoff):
            self.handoff(action, root, path)
        elif isinstance(action, m.Notify):
            self.effects.append(NotifyOut(url=action.url, payload=self.notify_payload()))
        elif isinstance(action, m.Stop):
            raise Halt
        elif isinstance(action, m.Typing):
            self.typing(action)

    def ask(self, action: m.Ask, root: str, path: Path) -> None:
        """Send the question and wait: until an answer, a cancel word, or `for` runs out."""
        text = render.fill(action.question, self.values)
        self.send(render.ask_message(text, action.choices, root, path), action.span)
        until = self.now + action.waits
        pending = PendingAsk(
            root=root, path=path, field=action.field, asked_at=self.now, until=until
        )
        self._set(waiting=pending)
        if action.timeout is not None:  # only a `for` goes on by itself; else it just expires
            self._timer("ask_timeout", until, root, path, action.span)
        raise Halt

    def handoff(self, action: m.Handoff, root: str, path: Path) -> None:
        """Pass the thread to the Page inbox; with `for`, automation takes it back after."""
        until = self.now + action.timeout if action.timeout is not None else None
        self._set(handed_off=True, waiting=None, handoff_until=until)
        self.effects.append(HandOff(reason=action.reason))
        if until is not None:
            self._timer("handoff_timeout", until, root, path, action.span)
        raise Halt

    def _timer(
        self,
        purpose: Literal["ask_timeout", "handoff_timeout"],
        due_at: datetime,
        root: str,
        path: Path,
        span: Span,
    ) -> None:
        """When a question's or a handoff's `for` runs out (keyed by where and when it began)."""
        kind = purpose.removesuffix("_timeout")
        self.effects.append(
            Schedule(
                key=f"{self.contact.id}|{kind}|{root}|{_dotted(path)}|{self.now.isoformat()}",
                purpose=purpose,
                due_at=due_at,
                root=root,
                path=path,
                created_at=self.now,
                origin=span,
            )
        )

    def react(self, reaction: m.Reaction, root: str) -> None:
        if isinstance(reaction, m.AddTag):
            if reaction.name not in self.contact.tags:
                self._set(tags=self.contact.tags | {reaction.name})
                self.effects.append(Changed(what=f'tagged "{reaction.name}"'))
        elif isinstance(reaction, m.RemoveTag):
            if reaction.name in self.contact.tags:
                self._set(tags=self.contact.tags - {reaction.name})
                self.effects.append(Changed(what=f'untagged "{reaction.name}"'))
        elif isinstance(reaction, m.SetField):
            self._set_field(reaction.field, render.fill(reaction.value, self.values))
        else:
            self.jump(reaction.target, root)

    def jump(self, target: m.Target, root: str) -> None:
        self.jumps += 1
        flow = target.flow or root.split(":", 1)[0]
        step = self.program.step(flow, target.step)
        if step is None or self.jumps > MAX_JUMPS:
            reason = "a loop of gotos" if step else f"no step {target}"
            self.effects.append(Note(text=f"stopped: {reason}"))
            raise Halt
        self.run_list(addresses.step_root(flow, target.step), step.body, ())
        raise Halt

    def schedule(self, action: m.After, root: str, path: Path) -> None:
        created = self.now
        key = f"{self.contact.id}|{root}|{'.'.join(map(str, path))}|{created.isoformat()}"
        due_at = self.due_at(action, key)
        if due_at is None:
            return
        self.effects.append(
            Schedule(
                key=key,
                due_at=due_at,
                root=root,
                path=(*path, "body", 0),
                created_at=created,
                unless_replied=action.unless_replied,
                tag=action.tag or self.channel.tag,
                topic=action.topic or self.channel.topic,
                origin=action.span,
            )
        )

    def due_at(self, action: m.After, key: str | None = None) -> datetime | None:
        """When a follow-up is due (issue 12: at a time of day, or from a stored date);
        None, with a Cancelled saying why, if a stored date gives no time to wait for
        (keyed as the Schedule would have been, so the shell records it once)."""
        if action.at is None and not action.anchored:
            return self.now + action.delay
        tz, zone_name = timing.contact_zone(self.contact.fields, self.page)
        if not action.anchored:
            assert action.at is not None
            return timing.days_later_at(self.now, action.delay.days, action.at, tz)
        field_name = f"{{contact.{action.anchor}}}"
        value = self.contact.fields.get(action.anchor or "")
        would_be: datetime | None = None
        if not value:
            reason, detail = "date_missing", f"{field_name} is empty: no date to count from"
        else:
            due = timing.from_stored(value, action.side, action.delay, action.at, tz)
            if due is not None and due > self.now:
                return due
            if due is None:
                reason = "date_unreadable"
                detail = f'{field_name} is "{value}", not a date such as 2026-12-05'
            else:
                reason, would_be = "date_passed", due
                detail = (
                    f"{action.delay_text} {action.side} {field_name} ({value}) was"
                    f" {timing.say_local(due, tz, zone_name)}, already past"
                )
        self.effects.append(
            Cancelled(
                reason=reason,
                detail=f"not scheduled: {detail}",
                origin=action.span,
                key=None if key is None else f"{key}|not_scheduled",
                due_at=would_be,
            )
        )
        return None

    def holds(self, condition: m.Condition) -> bool:
        return conditions.holds(condition, self.contact.tags, self.values)  # issue 12: D

    def typing(self, action: m.Typing) -> None:
        """issue 12: D. The typing indicator goes only where a RESPONSE or UPDATE could: a
        sender action takes no tag and no notification token (send-api.md §1)."""
        decision = self.decide()
        pause = action.pause
        reason: str
        if isinstance(decision, Skip):
            reason, detail = decision.reason, decision.detail
        elif decision.tag or decision.notification_token or self.channel.comment_id:
            reason = "typing_outside_window"
            detail = (
                "Facebook shows the typing indicator only inside the 24 h window after the"
                " contact's message; it is never sent with a tag or a notification token,"
                " nor to a comment. The next message goes without the pause."
            )
        else:
            self.effects.append(
                Typing(
                    recipient=Recipient(id=self.contact.id),
                    pause=pause,
                    delivery=decision,
                    origin=action.span,
                )
            )
            return
        self.effects.append(
            Typing(
                recipient=Recipient(id=self.contact.id),
                pause=pause,
                skip_reason=reason,
                skip_detail=detail,
                origin=action.span,
            )
        )

    # ---------------------------------------------------------- sending

    @property
    def values(self) -> dict[str, str]:
        return render.template_values(self.contact)

    def send(self, message: dict[str, Any], origin: Span) -> None:
        decision = self.decide()
        recipient = Recipient(id=self.contact.id)
        if isinstance(decision, Delivery) and decision.notification_token:
            recipient = Recipient(notification_messages_token=decision.notification_token)
        outbound = Outbound(
            recipient=recipient, message=message, preview=render.preview(message), origin=origin
        )
        self.deliver(outbound, decision)

    def deliver(self, outbound: Outbound, decision: Delivery | Skip) -> None:
        if isinstance(decision, Skip):
            self.effects.append(
                Skipped(outbound=outbound, reason=decision.reason, detail=decision.detail)
            )
            return
        self.effects.append(Send(outbound=outbound, delivery=decision))
        token = decision.notification_token
        if token and self.channel.topic and token not in self.tokens_used:
            self.tokens_used.add(token)
            state = self.contact.tokens[self.channel.topic]
            tokens = {
                **self.contact.tokens,
                self.channel.topic: state.model_copy(update={"last_sent_at": self.now}),
            }
            self._set(tokens=tokens)

    def send_template(self, action: m.SendTemplate) -> None:
        parameters = tuple(render.fill(p, self.values) for p in action.parameters)
        message = render.template_message(action.name, action.language, parameters)
        info = self.page.template(action.name, action.language)
        outbound = Outbound(
            recipient=Recipient(id=self.contact.id),
            message=message,
            preview=render.template_preview(message, info),
            origin=action.span,
        )
        decision = decide_template(
            name=action.name,
            language=action.language,
            template=info,
            parameters=len(parameters),
            page=self.page.label,
        )
        self.deliver(outbound, decision)

    def request_notifications(self, action: m.RequestNotifications) -> None:
        legacy = self.now.date() < RULES.legacy_frequency_until
        message = render.optin_message(action, with_frequency=legacy)
        outbound = Outbound(
            recipient=Recipient(id=self.contact.id),
            message=message,
            preview=render.preview(message),
            origin=action.span,
        )
        decision = decide_optin_request(
            now=self.now,
            last_user_message_at=self.contact.last_user_message_at,
            scheduled=self.channel.scheduled,
            title=action.title,
            last_requested_at=self.contact.optin_requests.get(action.title),
            region=self.page.region,
            ad_message_at=self.ad_message_at,
        )
        if isinstance(decision, Delivery):
            self._set(optin_requests={**self.contact.optin_requests, action.title: self.now})
        self.deliver(outbound, decision)

    @property
    def ad_message_at(self) -> datetime | None:
        """The ad's 7-day window counts only where the Page turned it on."""
        return self.contact.ad_message_at if self.page.ad_window else None

    def decide(self) -> Delivery | Skip:
        channel = self.channel
        token = self.contact.tokens.get(channel.topic) if channel.topic else None
        if token is not None and token.token in self.tokens_used:
            return Delivery(
                messaging_type="UPDATE", notification_token=token.token, topic=token.topic
            )
        decision = decide(
            now=self.now,
            last_user_message_at=self.contact.last_user_message_at,
            scheduled=channel.scheduled,
            tag=channel.tag,
            token=token,
            region=self.page.region,
            ad_message_at=self.ad_message_at,
        )
        if isinstance(decision, Skip) and decision.reason == "outside_window" and channel.topic:
            return Skip(
                reason="no_token",
                detail=f'{decision.detail} The contact has not opted in to "{channel.topic}".',
            )
        return decision

    def private_reply(self, action: m.PrivateReply, root: str, path: Path) -> None:
        event = self.event
        assert isinstance(event, CommentIn)
        text = render.fill(action.text, self.values)
        message = render.text_message(text, action.quick_replies, root, path, self.values)
        outbound = Outbound(
            recipient=Recipient(comment_id=event.comment_id),
            message=message,
            preview=render.preview(message),
            origin=action.span,
        )
        decision = decide_private_reply(
            now=self.now,
            comment_created_at=event.timestamp,
            already_replied=event.already_replied or self.replied_to_comment,
            from_page=event.from_page,
        )
        if isinstance(decision, Delivery):
            self.replied_to_comment = True
        self.deliver(outbound, decision)

    def notify_payload(self) -> dict[str, Any]:
        return {
            "contact": self.contact.model_dump(mode="json", exclude={"waiting", "tokens"}),
            "event": self.event.model_dump(mode="json"),
        }

    # ---------------------------------------------------------- state

    def _set(self, **update: Any) -> None:
        self.contact = self.contact.model_copy(update=update)

    def _set_field(self, name: str, value: str) -> None:
        self._set(fields={**self.contact.fields, name: value})
        self.effects.append(Changed(what=f'set {name} = "{value}"'))


def _after_at(program: Program, root: str, path: Path) -> m.After | None:
    """The `after` a stored follow-up points at (its root and path), or None when the flows
    no longer have one there. issue 13 (tenth session): worked out once per program and
    address (`Program.memo`), not for every follow-up of the same `after`: the flows of a
    program never change (a changed flow is a new Program)."""
    key = ("after", root, path)
    if key in program.memo:
        return program.memo[key]  # type: ignore[return-value]
    found = addresses.resolve(program, root)
    try:
        after = addresses.node_at(found[1], path) if found else None
    except LookupError:
        after = None
    kept = after if isinstance(after, m.After) else None
    program.memo[key] = kept
    return kept


def _says_cancel(text: str, words: tuple[str, ...]) -> bool:
    """The whole message is one of the cancel words (case, spaces and end signs aside)."""
    said = text.strip().strip(".!?").strip().casefold()
    return any(said == word.strip().casefold() for word in words)


def _dotted(path: Path) -> str:
    return ".".join(map(str, path))


def _at(moment: datetime | None) -> str:
    return "an unknown time" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def _bucket(contact_id: str, root: str, path: Path) -> float:
    """A stable share in [0, 100): the same contact always takes the same branch."""
    digest = hashlib.sha256(f"{contact_id}|{root}|{path}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10000 / 100


def _in_audience(contact: ContactState, broadcast: m.Broadcast) -> bool:
    if broadcast.audience == "tagged":
        return broadcast.audience_value in contact.tags
    if broadcast.audience == "subscribers":
        token = contact.tokens.get(broadcast.audience_value or "")
        return token is not None and not token.stopped
    return True


__all__ = ["Halt", "Run"]
