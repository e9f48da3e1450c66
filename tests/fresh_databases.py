"""A fresh PostgreSQL database per test, on the server `.ci/postgres.sh` starts.

Its own module, not conftest.py: several test folders have a conftest.py, and
`from conftest import ...` finds whichever was imported first.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

POSTGRES = os.environ.get("PAGEFLOWS_TEST_POSTGRES_URL")


def fresh_postgres() -> Iterator[str]:
    if not POSTGRES:
        if os.environ.get("CI"):
            pytest.fail("PAGEFLOWS_TEST_POSTGRES_URL is not set: .ci/postgres.sh did not run")
        pytest.skip("no PostgreSQL server: `make test` starts one with .ci/postgres.sh")
    name = f"pageflows_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
