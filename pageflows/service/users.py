"""The people who may sign in to the web console: `[[users]]` in pageflows.toml.

Each has a name and a password hash, never the password: `pageflows users hash`
makes the hash (werkzeug's scrypt), so the file can sit in version control
without giving anyone a way in. A value that is not such a hash is refused at
start with one line: a password pasted in plain would otherwise never match,
and a person would not know why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

USER_KEYS = ("name", "password_hash")
HASH_SCHEMES = ("scrypt:", "pbkdf2:")
NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


class UsersError(ValueError):
    """One line saying which [[users]] entry is wrong and how to fix it."""


@dataclass(frozen=True)
class ConsoleUser:
    name: str
    password_hash: str


def parse_users(value: Any, path: str) -> tuple[ConsoleUser, ...]:
    if not isinstance(value, list):
        raise UsersError(f"{path}: users must be [[users]] tables (name, password_hash)")
    users: list[ConsoleUser] = []
    for n, table in enumerate(value, start=1):
        where = f"{path}: [[users]] #{n}"
        if not isinstance(table, dict):
            raise UsersError(f"{where} must be a table with name and password_hash")
        unknown = sorted(set(table) - set(USER_KEYS))
        if unknown:
            raise UsersError(f"{where}: unknown key {unknown[0]!r}; use name, password_hash")
        name, hashed = table.get("name"), table.get("password_hash")
        if not isinstance(name, str) or not NAME.match(name):
            raise UsersError(
                f"{where}: name must be 1-64 letters, digits or . _ @ - (it is what people type)"
            )
        if (
            not isinstance(hashed, str)
            or not hashed.startswith(HASH_SCHEMES)
            or hashed.count("$") != 2
        ):
            raise UsersError(
                f"{where}: password_hash must be a hash made by `pageflows users hash`,"
                " never the password itself"
            )
        if any(u.name == name for u in users):
            raise UsersError(f"{where}: a second user named {name!r}")
        users.append(ConsoleUser(name, hashed))
    return tuple(users)
