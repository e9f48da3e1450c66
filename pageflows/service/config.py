"""Settings for `serve`: environment variables beat `pageflows.toml`, which beats defaults.

The names are a contract: PAGEFLOWS_DATABASE_URL, PAGEFLOWS_APP_SECRET,
PAGEFLOWS_VERIFY_TOKEN, PAGEFLOWS_PAGE_ID, PAGEFLOWS_PAGE_TOKEN,
PAGEFLOWS_GRAPH_URL, PAGEFLOWS_SANDBOX.

Sandbox mode (the built-in Graph API simulator instead of Facebook, with
credentials of its own) runs only when asked for: `serve --sandbox` or
PAGEFLOWS_SANDBOX=1. A token unset by mistake must not start a server that
answers Facebook 200 and nobody else, nor one that takes bodies signed with a
secret printed in this file. A missing or wrong setting is a `ConfigError`
with one line to print, never a traceback.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pageflows.service.graph.transport import DEFAULT_GRAPH_URL
from pageflows.service.pace import DEFAULT_RATE, MAX_RATE, MIN_RATE
from pageflows.service.storage.database import DEFAULT_URL

SANDBOX_PAGE_ID = "100000000000001"
SANDBOX_TOKEN = "sandbox-page-token"
SANDBOX_SECRET = "sandbox-app-secret"
SANDBOX_VERIFY = "sandbox-verify-token"


class ConfigError(ValueError):
    """A setting pageflows cannot start with; the message is one line for the operator."""


@dataclass(frozen=True)
class IceBreaker:
    question: str
    payload: str


@dataclass(frozen=True)
class PageConfig:
    id: str
    token: str
    name: str = ""
    greeting: str | None = None
    get_started_payload: str = "GET_STARTED"
    ice_breakers: tuple[IceBreaker, ...] = ()
    flows: str | None = None
    rate: float = DEFAULT_RATE  # sends per second at most, across every process (pace.py)

    def messenger_profile(self) -> dict[str, Any]:
        """The Messenger Profile API body for this page (greeting, Get Started, ice breakers)."""
        profile: dict[str, Any] = {"get_started": {"payload": self.get_started_payload}}
        if self.greeting:
            profile["greeting"] = [{"locale": "default", "text": self.greeting}]
        if self.ice_breakers:
            actions = [{"question": i.question, "payload": i.payload} for i in self.ice_breakers]
            profile["ice_breakers"] = [{"locale": "default", "call_to_actions": actions}]
        return profile


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_URL
    app_secret: str = ""  # empty: no signature is ever valid (webhook.verify)
    verify_token: str = ""
    graph_url: str = DEFAULT_GRAPH_URL
    pages: tuple[PageConfig, ...] = field(default_factory=tuple)
    sandbox: bool = False


def _str(table: Mapping[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if key == "id" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # page ids are numbers; TOML lets people write them as such
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} must be a non-empty text")
    return value


def _page(table: Any, n: int, path: str) -> PageConfig:
    where = f"{path}: [[pages]] #{n + 1}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    page_id, token = _str(table, "id", where), _str(table, "token", where)
    if not page_id:
        raise ConfigError(f"{where} has no id (the Page's numeric id)")
    breakers = []
    for item in table.get("ice_breakers", []):
        if not isinstance(item, dict) or not {"question", "payload"} <= item.keys():
            raise ConfigError(f"{where}: each ice breaker needs a question and a payload")
        breakers.append(IceBreaker(str(item["question"]), str(item["payload"])))
    if len(breakers) > 4:
        raise ConfigError(f"{where}: Messenger shows at most 4 ice breakers")
    return PageConfig(
        id=page_id,
        token=token or "",
        name=_str(table, "name", where) or "",
        greeting=_str(table, "greeting", where),
        get_started_payload=_str(table, "get_started_payload", where) or "GET_STARTED",
        ice_breakers=tuple(breakers),
        flows=_str(table, "flows", where),
        rate=_rate(table.get("rate", DEFAULT_RATE), f"{where}: rate"),
    )


def _rate(value: Any, where: str) -> float:
    """A page's pace: a number of sends per second, above 0 and at most Facebook's 40."""
    try:
        rate = float(value)
    except (TypeError, ValueError):
        rate = float("nan")
    if isinstance(value, bool) or not MIN_RATE <= rate <= MAX_RATE:
        raise ConfigError(
            f"{where} is {value!r}; give messages per second, at least {MIN_RATE:g} and at"
            f" most {MAX_RATE:g} (above that Facebook's Page Inbox stops working for the Page)"
        )
    return rate


def read_file(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None


def read_settings(env: Mapping[str, str], config_path: Path | None) -> Settings:
    """Every setting as given, checked for form but not for completeness.

    Enough for `db upgrade`, which needs only the database; `load_settings` and
    `require_pages` say what a command that talks to Facebook still lacks.
    """
    data = read_file(config_path) if config_path and config_path.exists() else {}
    name = str(config_path) if config_path else "pageflows.toml"
    pages_raw = data.get("pages", [])
    if not isinstance(pages_raw, list):
        raise ConfigError(f"{name}: pages must be a list of [[pages]] tables")
    pages = [_page(table, n, name) for n, table in enumerate(pages_raw)]
    env_id, env_token = env.get("PAGEFLOWS_PAGE_ID"), env.get("PAGEFLOWS_PAGE_TOKEN")
    if env_id or env_token:
        # The env names one page: the file's page with that id (or the file's only
        # page, when no id is given); never another page's token or greeting.
        if env_id:
            base = next((p for p in pages if p.id == env_id), PageConfig(id=env_id, token=""))
        elif len(pages) == 1:
            base = pages[0]
        else:
            raise ConfigError(
                "PAGEFLOWS_PAGE_TOKEN is set but PAGEFLOWS_PAGE_ID is not"
                + (" (pageflows.toml lists several pages)" if pages else "")
            )
        merged = replace(base, token=env_token or base.token)
        pages = [merged, *(p for p in pages if p.id != merged.id)]
    if env.get("PAGEFLOWS_PAGE_RATE"):
        if len(pages) != 1:
            raise ConfigError(
                "PAGEFLOWS_PAGE_RATE sets the rate of the one page; with "
                + ("several pages" if pages else "no page configured")
                + ", set `rate` in each [[pages]] table of pageflows.toml"
            )
        pages = [replace(pages[0], rate=_rate(env["PAGEFLOWS_PAGE_RATE"], "PAGEFLOWS_PAGE_RATE"))]

    def pick(key: str, env_name: str, default: str) -> str:
        value = env.get(env_name) or data.get(key)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{env_name} (or {key} in {name}) must be a non-empty text")
        return value

    return Settings(
        database_url=pick("database_url", "PAGEFLOWS_DATABASE_URL", DEFAULT_URL),
        app_secret=pick("app_secret", "PAGEFLOWS_APP_SECRET", ""),
        verify_token=pick("verify_token", "PAGEFLOWS_VERIFY_TOKEN", ""),
        graph_url=pick("graph_url", "PAGEFLOWS_GRAPH_URL", DEFAULT_GRAPH_URL),
        pages=tuple(pages),
    )


def sandbox_asked(env: Mapping[str, str]) -> bool:
    """PAGEFLOWS_SANDBOX: 1/true/yes/on asks for sandbox mode; 0/false/no/off or unset does not."""
    value = env.get("PAGEFLOWS_SANDBOX", "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"PAGEFLOWS_SANDBOX is {value[:20]!r}; use 1 to ask for sandbox mode, or 0")


def load_settings(
    env: Mapping[str, str], config_path: Path | None, sandbox: bool = False
) -> Settings:
    """The settings `serve` runs with: sandbox mode when asked, else complete for Facebook."""
    settings = read_settings(env, config_path)
    if sandbox or sandbox_asked(env):
        return sandbox_settings(settings)
    missing = _missing_pages(settings)
    if not settings.app_secret:
        missing.append("PAGEFLOWS_APP_SECRET (webhook signatures cannot be checked without it)")
    if not settings.verify_token:
        missing.append("PAGEFLOWS_VERIFY_TOKEN (Facebook's subscription handshake needs it)")
    if missing:
        raise ConfigError(
            f"not set: {'; '.join(missing)}. Set them in the environment or pageflows.toml,"
            " or run `pageflows serve --sandbox` to try pageflows against its built-in simulator"
        )
    return settings


def require_pages(settings: Settings) -> Settings:
    """Settings with at least one page and a token for each, or a ConfigError saying what to set."""
    missing = _missing_pages(settings)
    if missing:
        raise ConfigError(f"not set: {'; '.join(missing)}")
    return settings


def _missing_pages(settings: Settings) -> list[str]:
    if not settings.pages:
        return ["PAGEFLOWS_PAGE_ID and PAGEFLOWS_PAGE_TOKEN (or [[pages]] in pageflows.toml)"]
    return [
        f"the token of page {page.id} (PAGEFLOWS_PAGE_TOKEN, or token= in its [[pages]])"
        for page in settings.pages
        if not page.token
    ]


def sandbox_settings(settings: Settings) -> Settings:
    """The simulator's page and credentials; the database and any given secret are kept.

    The configured pages are dropped: their tokens must never reach the simulator.
    """
    return replace(
        settings,
        sandbox=True,
        app_secret=settings.app_secret or SANDBOX_SECRET,
        verify_token=settings.verify_token or SANDBOX_VERIFY,
        pages=(
            PageConfig(
                id=SANDBOX_PAGE_ID,
                token=SANDBOX_TOKEN,
                name="Sandbox Page",
                greeting="Hi {{user_first_name}}! (sandbox)",
            ),
        ),
    )
