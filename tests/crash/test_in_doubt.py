"""The scripted crash: serve SIGKILLed while its Send API call is in flight (scenario.py).

Deterministic where test_crash.py is random: the message reached Facebook,
serve never recorded it. The guarantee is the same: nothing lost, and a
second copy only from an outbox row marked possible_duplicate.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .scenario import kill_during_send
from .verdict import table


def test_a_kill_during_a_send_leaves_no_silent_duplicate(database_url: str, tmp_path: Path) -> None:
    counts = kill_during_send(database_url, tmp_path / "crash")
    if not counts.passed:
        examples = json.dumps(counts.examples["messages_doubled"], indent=1)[:3000]
        pytest.fail(f"\n{table([counts])}\nwork folder: {counts.workdir}\n{examples}", False)
