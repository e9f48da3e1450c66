"""issue 13: A. `Flow.step` finds a step by name through an index kept beside the flow.

The structure check and the engine ask it for every `goto` and quick reply; a scan
of the steps made a flow of many steps quadratic. Same answers as the scan: the
first step of a name, None for none; the flow itself is unchanged (equal, dumped
and copied as before), and its index goes when the flow goes.
"""

from __future__ import annotations

import gc

from pageflows.rules import model as m
from pageflows.rules.source import Span

SPAN = Span("f.flow", 1, 1, 1, 2)


def step(name: str, text: str) -> m.Step:
    send = m.SendText(span=SPAN, text=m.Text(span=SPAN, raw=text))
    return m.Step(span=SPAN, name=name, body=(send,))


def flow(*steps: m.Step) -> m.Flow:
    return m.Flow(name="f", path="f.flow", steps=steps)


def test_the_first_step_of_a_name_or_none() -> None:
    first, second, other = step("menu", "1"), step("menu", "2"), step("other", "3")
    many = flow(*(step(f"s{n}", str(n)) for n in range(500)), first, second, other)
    assert many.step("menu") is first
    assert many.step("other") is other
    assert many.step("s499") is many.steps[499]
    assert many.step("nope") is None
    assert flow().step("menu") is None


def test_the_flow_stays_plain_data() -> None:
    one, two = flow(step("a", "x")), flow(step("a", "x"))
    assert one.step("a") is one.steps[0]
    assert one == two and one.model_dump() == two.model_dump()
    assert repr(one) == repr(two)
    copy = one.model_copy(update={"steps": (step("b", "y"),)})
    assert copy.step("a") is None and copy.step("b") is copy.steps[0]
    assert one.step("a") is one.steps[0]


def test_the_index_goes_with_the_flow() -> None:
    held = len(m._STEP_INDEXES)
    gone = flow(step("a", "x"))
    assert gone.step("a") is not None
    assert len(m._STEP_INDEXES) == held + 1
    del gone
    gc.collect()
    assert len(m._STEP_INDEXES) == held
