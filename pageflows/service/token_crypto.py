"""Page tokens encrypted at rest: Fernet (AES-128-CBC + HMAC-SHA256) with a key from the
environment.

Why: a page token sends as the Page; a copy of the database (a backup, a dump
for a bug report) must not be one. The key (PAGEFLOWS_TOKEN_KEY) lives only in
the environment of the processes that send. Without a key nothing is stored:
`TokenKeyMissing` says how to make one, and no token is ever kept in clear.
A token sealed with another key (the key was changed) reads as `TokenUnreadable`:
the page is connected again, nothing guesses.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

KEY_ENV = "PAGEFLOWS_TOKEN_KEY"
HOW_TO_MAKE_ONE = (
    f"set {KEY_ENV} to a key made by `pageflows pages token-key` (the same in every"
    " process of this deployment) and restart; tokens are never stored in clear"
)


class TokenKeyMissing(Exception):
    """No key (or not a Fernet key): tokens cannot be stored, and we say how to fix it."""


class TokenUnreadable(Exception):
    """A stored token that this key cannot open (made with another key, or altered)."""


def new_key() -> str:
    """A fresh key for PAGEFLOWS_TOKEN_KEY (32 random bytes, URL-safe base64)."""
    return Fernet.generate_key().decode("ascii")


class TokenBox:
    """Seals and opens tokens with one key; made from the setting by `box`."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise TokenKeyMissing(
                f"{KEY_ENV} is not a key (32 bytes in URL-safe base64); {HOW_TO_MAKE_ONE}"
            ) from None

    def seal(self, token: str) -> str:
        return self._fernet.encrypt(token.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise TokenUnreadable(
                f"a stored page token cannot be read with this {KEY_ENV}: was the key"
                " changed? Connect the page again"
            ) from None


def box(key: str) -> TokenBox:
    """The box for the configured key; TokenKeyMissing when there is none or it is no key."""
    if not key:
        raise TokenKeyMissing(f"{KEY_ENV} is not set; {HOW_TO_MAKE_ONE}")
    return TokenBox(key)
