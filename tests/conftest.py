"""Shared fixtures: a real database per test, SQLite and PostgreSQL both.

Never a mock of our own database: `database_url` gives a fresh SQLite file
and a fresh PostgreSQL database (from the server `.ci/postgres.sh` starts),
and tests that take it run on both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fresh_databases import fresh_postgres
from hypothesis import settings
from lark import Token, Tree

# Property tests check answers, never time (no timed tests): on a loaded machine an
# example is slow, not wrong, and hypothesis's default 200 ms deadline failed one at load
# 10 that passed when replayed ("Flaky"). A test may still set its own.
settings.register_profile("pageflows", deadline=None)
settings.load_profile("pageflows")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pageflows.db'}"
        return
    yield from fresh_postgres()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """PostgreSQL only: for what SQLite does not offer (several worker processes)."""
    yield from fresh_postgres()


# The slowest tests wait on real time (tests/crash: paced traffic, SIGKILLs, draining),
# not on the CPU. Collected first, they start at once on the parallel workers and run
# beside the CPU-bound rest; collected last (their folder's place), they ran at the end,
# alone, and set the suite's wall time (docs/testing.md).
SLOW_FIRST = ("tests/crash/",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(SLOW_FIRST))


@pytest.fixture(autouse=True, scope="session")
def blocks_read_both_ways() -> Iterator[None]:
    """issue 13: A. Every block a test reads in this process is read by Lark as well.

    The hand-written reader (rules/read_block.py) must give Lark's very trees:
    here every flow of the suite checks it, beside tests/unit/test_read_block.py.
    """
    from lark.exceptions import LarkError

    from pageflows.rules import parse, read_block

    fast = read_block.read

    def read_and_compare(chunk: str) -> Tree[Token] | None:
        ours = fast(chunk)
        if ours is None:
            return None
        try:
            theirs = parse.parser().parse(chunk)
        except LarkError as exc:
            refused = f"read_block accepted a block Lark refuses ({exc}):\n{chunk}"
            raise AssertionError(refused) from exc
        found = read_block.differences(ours, theirs)
        assert not found, f"read_block differs from Lark: {found[:3]}\n{chunk}"
        return ours

    read_block.read = read_and_compare
    yield
    read_block.read = fast


@pytest.fixture(autouse=True, scope="session")
def blocks_built_both_ways() -> Iterator[None]:
    """issue 13: A. Every block a test reads straight into the model is built from Lark's
    tree as well (build.py), and the two models must be the same node for node.

    rules/read_model.py skips the syntax tree for the common blocks; here every
    flow of the suite checks it, beside tests/unit/test_read_model.py.
    """
    from both_ways import assert_built_as_from_the_tree

    from pageflows.rules import model as m
    from pageflows.rules import read_model

    fast = read_model.read

    def read_and_compare(
        chunk: str, path: str, offset: int
    ) -> tuple[m.TriggerBlock | m.Step, ...] | None:
        ours = fast(chunk, path, offset)
        if ours is not None:
            assert_built_as_from_the_tree(ours, chunk, path, offset)
        return ours

    read_model.read = read_and_compare
    yield
    read_model.read = fast
