"""Model nodes made without pydantic's validation, for values build.py already guarantees.

Why (issue 13: A): `pageflows check` of 10,000 triggers makes about 140,000
nodes, and validating each (a `Text`'s parts through their discriminated
union, a quick reply's reaction...) was the largest part of building the
model. Where the builder makes a node from values whose types it guarantees
(strings it cut from the text, nodes it made, tuples it built), validation can
only say yes; `trusted` makes the very node validation would make, without
asking.

"The very node": the same class, the same `__dict__` (fields in their declared
order, defaults filled in), the same set of fields given (`model_fields_set`),
no extra or private values. The caller writes all fields in their declared
order and names the ones it gives; `tests/unit/test_trusted_build.py` builds
every corpus flow both ways (with `VALIDATE` on, each node goes through
pydantic) and compares them node by node. Use it only where the types are
guaranteed: pydantic's `model_construct` would be the documented way, but it
is slower than validating (it fills defaults in Python).

The set of fields given is one set shared by every node made with the same
``given`` (issue 13: A): 110,000 nodes at 10,000 triggers each held a set of
their own (~230 bytes: 26 MB, a third of the model's memory, and its allocation
on every node). Sharing it cannot be seen through the model: the classes are
frozen, so pydantic never adds to a node's set (it raises first), and its copies
(`model_copy`, `copy`, `deepcopy`) take a set of their own. A class that is not
frozen gets a set of its own, as before.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)

# Tests set this to make every trusted node through pydantic's validation instead.
VALIDATE = False

_new = object.__new__
_set = object.__setattr__
# BaseModel's own slots, set through their descriptors: a third faster than by name.
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
# One `model_fields_set` for each set of given fields, shared by the frozen nodes made
# with it (see above). Its keys are the callers' constants (and the few subsets of a
# Diagnostic's fields that second_core.py sends back): a few dozen at most.
_GIVEN: dict[frozenset[str], set[str]] = {}
_FROZEN: dict[type[BaseModel], bool] = {}


def trusted(cls: type[Model], values: dict[str, Any], given: frozenset[str]) -> Model:
    """``cls`` with ``values`` (every field, declared order) as if ``given`` were passed.

    ``given`` are the fields the validated call would name (its
    `model_fields_set`); the others in ``values`` are the fields' defaults.
    """
    if VALIDATE:
        return cls(**{name: values[name] for name in given})
    node = _new(cls)
    _set(node, "__dict__", values)
    frozen = _FROZEN.get(cls)
    if frozen is None:  # once a class: `cls.model_config` goes through pydantic's metaclass
        frozen = _FROZEN[cls] = bool(cls.model_config.get("frozen"))
    if frozen:
        shared = _GIVEN.get(given)
        if shared is None:
            shared = _GIVEN[given] = set(given)
    else:
        shared = set(given)
    _set_fields_set(node, shared)
    _set_extra(node, None)
    _set_private(node, None)
    return node


# issue 13: A: the fields each node is given (its `model_fields_set`, the ones a validated
# call would name), shared by build.py (from Lark's trees) and read_model.py (straight
# from the reader), which must make the very same nodes.
TEXT_FIELDS = frozenset({"span", "raw", "parts"})
BLOCK_FIELDS = frozenset({"span", "trigger", "body"})
KEYWORD_FIELDS = frozenset({"span", "phrases", "mode"})
SEND_FIELDS = frozenset({"span", "text", "quick_replies"})
QUICK_FIELDS = frozenset({"span", "title", "reaction", "title_text"})
GOTO_FIELDS = frozenset({"span", "target"})
NAME_FIELDS = frozenset({"span", "name"})
SET_FIELDS = frozenset({"span", "field", "value"})
TARGET_FIELDS = frozenset({"span", "step"})
TARGET_IN_FLOW_FIELDS = frozenset({"span", "flow", "step"})
STEP_FIELDS = frozenset({"span", "name", "body"})
REF_FIELDS = frozenset({"span", "ref", "source"})
SPAN_FIELDS = frozenset({"span"})  # a trigger that is only its span (and kind)
