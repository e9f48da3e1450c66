"""Settings for `serve`: environment variables beat `pageflows.toml`, which beats defaults.

The names are a contract: PAGEFLOWS_DATABASE_URL, PAGEFLOWS_APP_SECRET,
PAGEFLOWS_VERIFY_TOKEN, PAGEFLOWS_PAGE_ID, PAGEFLOWS_PAGE_TOKEN,
PAGEFLOWS_PAGE_RATE, PAGEFLOWS_PAGE_REGION, PAGEFLOWS_AD_WINDOW,
PAGEFLOWS_GRAPH_URL, PAGEFLOWS_GRAPH_VERSION, PAGEFLOWS_SANDBOX,
PAGEFLOWS_PAGE_TIMEZONE, PAGEFLOWS_ADMIN_TOKEN, PAGEFLOWS_SECRET_KEY,
PAGEFLOWS_APP_ID, PAGEFLOWS_TOKEN_KEY (issue 11: the console's Pages page); in the file
`database_url`, `app_secret`, `app_id`, `verify_token`, `graph_url`, `graph_version` and
`[[pages]]` tables (`id`, `token`, `name`, `greeting`, `get_started_payload`,
`ice_breakers`, `flows`, `rate`, `region`, `ad_window`, `[[pages.templates]]`,
`timezone`: the IANA zone of `after 1d at "10:00"`, UTC by default), and `[[users]]`
(`name`, `password_hash`: who may sign in to the web console, service/users.py).

The Graph API version is the first of PAGEFLOWS_GRAPH_VERSION, `graph_version`,
a version at the end of the Graph URL (PAGEFLOWS_GRAPH_URL or `graph_url`,
such as `https://graph.facebook.com/v21.0`, the form older setups use), and
`graph_versions.DEFAULT_VERSION`. `Settings.graph_url` is always the base URL
with that version at its end: the version is one setting, judged against
Facebook's dated table at start (`graph_versions.py`), whichever way it came.

A page's region, ad window and templates are facts about the Page on
Facebook's side (`rules/page_facts.py`): declared here, overlaid by what
`pageflows templates sync` and the status webhook store (`storage/templates.py`).

Sandbox mode (the built-in Graph API simulator instead of Facebook, with
credentials of its own) runs only when asked for: `serve --sandbox` or
PAGEFLOWS_SANDBOX=1. A token unset by mistake must not start a server that
answers Facebook 200 and nobody else, nor one that takes bodies signed with a
secret printed in this file. A missing or wrong setting is a `ConfigError`
with one line to print, never a traceback.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pageflows.engine.graph_versions import (
    DEFAULT_VERSION,
    VersionVerdict,
    is_version,
    version_status,
)
from pageflows.rules.page_facts import (
    REGIONS,
    TEMPLATE_BUTTONS,
    TEMPLATE_STATUSES,
    PageFacts,
    TemplateInfo,
    count_placeholders,
)
from pageflows.service.defaults import (  # issue 13: A: not the modules that import SQLAlchemy
    DEFAULT_GRAPH_URL,
    DEFAULT_RATE,
    DEFAULT_URL,
    MAX_RATE,
    MIN_RATE,
)
from pageflows.service.users import ConsoleUser, UsersError, parse_users

SANDBOX_PAGE_ID = "100000000000001"
SANDBOX_TOKEN = "sandbox-page-token"
SANDBOX_SECRET = "sandbox-app-secret"
SANDBOX_VERIFY = "sandbox-verify-token"
SANDBOX_APP_ID = "987654321098765"  # the simulator's app (its DEFAULT_APP_ID)
# Button types a declared template may list: Facebook's, and QUICK_REPLY, which Facebook
# refuses in a utility template (subcode 2018416) but is kept so `check` can say so.
DECLARABLE_BUTTONS = (*TEMPLATE_BUTTONS, "QUICK_REPLY")
TOP_KEYS = (
    "database_url",
    "app_secret",
    "verify_token",
    "graph_url",
    "graph_version",
    "pages",
    "users",
    "app_id",
)
PAGE_KEYS = (
    "id", "token", "name", "greeting", "get_started_payload", "ice_breakers", "flows", "rate",
    "region", "ad_window", "templates", "human_agent", "username", "handback_after",
    "timezone",
)  # fmt: skip
TEMPLATE_KEYS = ("name", "language", "status", "category", "body", "buttons")
DEFAULT_LANGUAGE = "en_US"
DEFAULT_HANDBACK_AFTER = timedelta(hours=12)
_DURATION = re.compile(r"\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>m|h|d)\s*")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_URL_VERSION = re.compile(r"(?P<base>.*?)/(?P<version>v\d+\.\d+)/*")


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
    region: str | None = None  # one of page_facts.REGIONS, upper case, or None
    ad_window: bool = False  # the Page uses the 7-day window after click-to-Messenger ads
    templates: tuple[TemplateInfo, ...] = ()  # declared in pageflows.toml
    # The Page holds Facebook's Human Agent permission: a person may answer 24 h to 7 days
    # after the contact's last message, tagged HUMAN_AGENT (never automation).
    human_agent: bool = False
    username: str | None = None  # the Page's @username, for m.me links
    # A person's reply pauses automation for the contact this long, unless handed back.
    handback_after: timedelta = DEFAULT_HANDBACK_AFTER
    # issue 12 (time): the zone of times of day in flows (`after 1d at "10:00"`), an IANA name.
    timezone: str = "UTC"

    def facts(self) -> PageFacts:
        """The Page as declared here; `storage.templates.load_page_facts` adds what is stored."""
        return PageFacts(
            id=self.id,
            region=self.region,
            ad_window=self.ad_window,
            templates=self.templates,
            timezone=self.timezone,
        )

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
    graph_url: str = DEFAULT_GRAPH_URL  # the base URL, ending in graph_version
    pages: tuple[PageConfig, ...] = field(default_factory=tuple)
    sandbox: bool = False
    graph_version: str = DEFAULT_VERSION
    # The operator API's bearer token (PAGEFLOWS_ADMIN_TOKEN); empty: the API is off, except
    # under `serve --sandbox`, which makes one and prints a link with it.
    admin_token: str = ""
    # issue 11: who may sign in to the web console besides the admin token ([[users]]).
    users: tuple[ConsoleUser, ...] = ()
    # Signs the console's session cookies (PAGEFLOWS_SECRET_KEY); empty: derived from the
    # admin token or the app secret (console/session.py).
    secret_key: str = ""
    # issue 11, the console's Pages page: the Meta app's id (PAGEFLOWS_APP_ID or `app_id`),
    # which Facebook Login needs, and the key that encrypts connected pages' tokens at rest
    # (PAGEFLOWS_TOKEN_KEY, a Fernet key: `pageflows pages token-key` prints a new one).
    app_id: str = ""
    token_key: str = ""


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
    unknown = sorted(set(table) - set(PAGE_KEYS))
    if unknown:  # a typo would otherwise be ignored, and the Page run without that setting
        key = unknown[0]
        if key in TOP_KEYS:
            raise ConfigError(
                f"{where}: {key} is a setting of the whole file: put it above the first"
                " [[pages]] (TOML puts every key after [[pages]] into that page)"
            )
        raise ConfigError(f"{where}: unknown key {key!r}; use {', '.join(PAGE_KEYS)}")
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
        region=_region(table.get("region"), f"{where}: region"),
        ad_window=_toml_flag(table.get("ad_window", False), f"{where}: ad_window"),
        templates=_templates(table.get("templates", []), where),
        human_agent=_toml_flag(table.get("human_agent", False), f"{where}: human_agent"),
        username=_username(table.get("username"), f"{where}: username"),
        handback_after=_duration(table.get("handback_after", "12h"), f"{where}: handback_after"),
        timezone=_timezone(table.get("timezone", "UTC"), f"{where}: timezone"),
    )


def _timezone(value: Any, where: str) -> str:
    """An IANA zone name that this machine's zone database knows (issue 12: time)."""
    name = value.strip() if isinstance(value, str) else ""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        name = ""
    if not name:
        raise ConfigError(
            f'{where} is {value!r}; give an IANA time zone such as "Europe/Paris" or "UTC"'
        )
    return name


def _username(value: Any, where: str) -> str | None:
    """The Page's username as m.me links need it: letters, digits and dots, no @ or URL."""
    if value is None:
        return None
    name = value.strip().removeprefix("@") if isinstance(value, str) else ""
    name = name.removeprefix("https://m.me/").removeprefix("m.me/").strip("/")
    if not re.fullmatch(r"[A-Za-z0-9.]{5,50}", name):
        raise ConfigError(
            f"{where} is {value!r}; give the Page's username as in its m.me link"
            ' (letters, digits and dots, at least 5), such as "pizzaroma"'
        )
    return name


def _duration(value: Any, where: str) -> timedelta:
    """A duration such as "30m", "12h" or "2d"; at least a minute, at most 7 days."""
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(f'{where} is {value!r}; write a duration such as "30m", "12h" or "2d"')
    amount = float(match.group("n")) * _UNITS[match.group("unit")]
    if not timedelta(minutes=1) <= amount <= timedelta(days=7):
        raise ConfigError(f"{where} is {value!r}; give at least 1m and at most 7d")
    return amount


def _region(value: Any, where: str) -> str | None:
    """One of REGIONS, whatever its case; None when not given (none of those regions)."""
    if value is None:
        return None
    region = value.strip().upper() if isinstance(value, str) else None
    if region not in REGIONS:
        raise ConfigError(
            f"{where} is {value!r}; use one of {', '.join(REGIONS)} (where Facebook kept"
            " notification tokens after 2026-02-10), or leave it out for any other region"
        )
    return region


def _toml_flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} is {value!r}; write true or false")
    return value


def _env_flag(value: str, name: str) -> bool:
    word = value.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} is {value[:20]!r}; use 1 (or true) or 0 (or false)")


def _templates(value: Any, where: str) -> tuple[TemplateInfo, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: templates must be a list of [[pages.templates]] tables")
    templates = [_template(table, n, where) for n, table in enumerate(value)]
    seen: set[tuple[str, str]] = set()
    for template in templates:
        key = (template.name, template.language)
        if key in seen:
            raise ConfigError(
                f"{where}: template {template.name!r} is declared twice for {template.language}"
            )
        seen.add(key)
    return tuple(templates)


def _template(table: Any, n: int, page: str) -> TemplateInfo:
    """One `[[pages.templates]]`: a typo in a key is refused, not ignored (it would be lost)."""
    where = f"{page}: [[pages.templates]] #{n + 1}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(table) - set(TEMPLATE_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; use {', '.join(TEMPLATE_KEYS)}")
    name = _str(table, "name", where)
    if not name:
        raise ConfigError(f"{where} has no name (the template's name on Facebook)")
    where = f"{page}: template {name!r}"
    status = (_str(table, "status", where) or "APPROVED").strip().upper()
    if status not in TEMPLATE_STATUSES:
        raise ConfigError(
            f"{where}: status {table['status']!r} is not one of {', '.join(TEMPLATE_STATUSES)}"
        )
    body = table.get("body", "")
    if not isinstance(body, str):
        raise ConfigError(f"{where}: body must be a text (with {{{{1}}}} for each parameter)")
    return TemplateInfo(
        name=name,
        language=(_str(table, "language", where) or DEFAULT_LANGUAGE).strip(),
        status=status,
        category=(_str(table, "category", where) or "UTILITY").strip().upper(),
        body=body,
        parameters=count_placeholders(body),
        buttons=_buttons(table.get("buttons", []), where),
    )


def _buttons(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(b, str) for b in value):
        raise ConfigError(f'{where}: buttons must be a list of button types, such as ["URL"]')
    buttons = tuple(b.strip().upper() for b in value)
    for button in buttons:
        if button not in DECLARABLE_BUTTONS:
            raise ConfigError(
                f"{where}: button {button!r} is not one of {', '.join(DECLARABLE_BUTTONS)}"
            )
    return buttons


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


# The environment's facts about its one page, and the [[pages]] key each stands for.
PAGE_FACT_ENV = (
    ("PAGEFLOWS_PAGE_REGION", "region"),
    ("PAGEFLOWS_AD_WINDOW", "ad_window"),
    ("PAGEFLOWS_HUMAN_AGENT", "human_agent"),
    ("PAGEFLOWS_PAGE_USERNAME", "username"),
    ("PAGEFLOWS_HANDBACK_AFTER", "handback_after"),
    ("PAGEFLOWS_PAGE_TIMEZONE", "timezone"),
)


def with_env_facts(page: PageConfig, env: Mapping[str, str]) -> PageConfig:
    """`page` with the environment's facts about its one page (PAGE_FACT_ENV) applied."""
    region, window = env.get("PAGEFLOWS_PAGE_REGION"), env.get("PAGEFLOWS_AD_WINDOW")
    if region:
        page = replace(page, region=_region(region, "PAGEFLOWS_PAGE_REGION"))
    if window:
        page = replace(page, ad_window=_env_flag(window, "PAGEFLOWS_AD_WINDOW"))
    if env.get("PAGEFLOWS_HUMAN_AGENT"):
        agent = _env_flag(env["PAGEFLOWS_HUMAN_AGENT"], "PAGEFLOWS_HUMAN_AGENT")
        page = replace(page, human_agent=agent)
    if env.get("PAGEFLOWS_PAGE_USERNAME"):
        page = replace(
            page, username=_username(env["PAGEFLOWS_PAGE_USERNAME"], "PAGEFLOWS_PAGE_USERNAME")
        )
    if env.get("PAGEFLOWS_HANDBACK_AFTER"):
        after = _duration(env["PAGEFLOWS_HANDBACK_AFTER"], "PAGEFLOWS_HANDBACK_AFTER")
        page = replace(page, handback_after=after)
    if env.get("PAGEFLOWS_PAGE_TIMEZONE"):
        zone = _timezone(env["PAGEFLOWS_PAGE_TIMEZONE"], "PAGEFLOWS_PAGE_TIMEZONE")
        page = replace(page, timezone=zone)
    return page


def _the_one_page(pages: list[PageConfig], env_name: str, key: str) -> PageConfig:
    if len(pages) != 1:
        raise ConfigError(
            f"{env_name} sets the {key} of the one page; with "
            + ("several pages" if pages else "no page configured")
            + f", set `{key}` in each [[pages]] table of pageflows.toml"
        )
    return pages[0]


def graph_url_and_version(url: str, version: str | None) -> tuple[str, str]:
    """The Graph base URL ending in the version to use, and that version.

    `version` (PAGEFLOWS_GRAPH_VERSION or `graph_version`) wins over a version at the
    end of `url`; with neither, the default. "V25.0" and "25.0" are read as v25.0.
    """
    match = _URL_VERSION.fullmatch(url.strip())
    base = match.group("base") if match else url.strip().rstrip("/")
    chosen = version.strip() if version else match.group("version") if match else DEFAULT_VERSION
    if chosen.startswith("V"):
        chosen = "v" + chosen[1:]
    elif chosen[:1].isdigit():
        chosen = "v" + chosen
    if not is_version(chosen):
        raise ConfigError(
            f"the Graph API version {version!r} (PAGEFLOWS_GRAPH_VERSION or graph_version) is"
            f" not a version; write it as {DEFAULT_VERSION}"
        )
    return f"{base}/{chosen}", chosen


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
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        key = unknown[0]
        raise ConfigError(
            f"{name}: {key} belongs in a [[pages]] table (a setting of one Page)"
            if key in PAGE_KEYS
            else f"{name}: unknown setting {key!r}; use {', '.join(TOP_KEYS)}"
        )
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
        page = _the_one_page(pages, "PAGEFLOWS_PAGE_RATE", "rate")
        pages = [replace(page, rate=_rate(env["PAGEFLOWS_PAGE_RATE"], "PAGEFLOWS_PAGE_RATE"))]
    named = [(name, key) for name, key in PAGE_FACT_ENV if env.get(name)]
    if named:
        pages = [with_env_facts(_the_one_page(pages, *named[0]), env)]

    def pick(key: str, env_name: str, default: str) -> str:
        value = env.get(env_name) or data.get(key)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{env_name} (or {key} in {name}) must be a non-empty text")
        return value

    graph_url, graph_version = graph_url_and_version(
        pick("graph_url", "PAGEFLOWS_GRAPH_URL", DEFAULT_GRAPH_URL),
        pick("graph_version", "PAGEFLOWS_GRAPH_VERSION", "") or None,
    )
    return Settings(
        database_url=pick("database_url", "PAGEFLOWS_DATABASE_URL", DEFAULT_URL),
        app_secret=pick("app_secret", "PAGEFLOWS_APP_SECRET", ""),
        verify_token=pick("verify_token", "PAGEFLOWS_VERIFY_TOKEN", ""),
        graph_url=graph_url,
        graph_version=graph_version,
        pages=tuple(pages),
        admin_token=env.get("PAGEFLOWS_ADMIN_TOKEN", "").strip(),
        users=_users(data.get("users", []), name),
        secret_key=env.get("PAGEFLOWS_SECRET_KEY", "").strip(),
        app_id=pick("app_id", "PAGEFLOWS_APP_ID", ""),
        token_key=env.get("PAGEFLOWS_TOKEN_KEY", "").strip(),
    )


def _users(value: Any, path: str) -> tuple[ConsoleUser, ...]:
    try:
        return parse_users(value, path)
    except UsersError as exc:
        raise ConfigError(str(exc)) from None


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
    if sandbox or sandbox_asked(env):
        # The environment's page facts are the sandbox page's, not a configured page's.
        others = {k: v for k, v in env.items() if k not in dict(PAGE_FACT_ENV)}
        return sandbox_settings(read_settings(others, config_path), env)
    settings = read_settings(env, config_path)
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


def sandbox_settings(settings: Settings, env: Mapping[str, str] | None = None) -> Settings:
    """The simulator's page and credentials; the database and any given secret are kept.

    The configured pages are dropped: their tokens must never reach the simulator.
    The sandbox page stands in for the first configured one as Facebook knows it
    (its id and name, region, ad window, time zone and declared templates, which the
    sandbox simulator is given too), so `make run` behaves as that Page would;
    PAGEFLOWS_PAGE_REGION, PAGEFLOWS_PAGE_TIMEZONE and PAGEFLOWS_AD_WINDOW still win.
    """
    first = settings.pages[0] if settings.pages else None
    page = PageConfig(
        # The configured Page's id and name, so `pageflows contacts`, `conversation`,
        # `broadcast preview`... (which read pageflows.toml) find the sandbox's contacts.
        id=first.id if first else SANDBOX_PAGE_ID,
        token=SANDBOX_TOKEN,
        name=first.name if first and first.name else "Sandbox Page",
        greeting="Hi {{user_first_name}}! (sandbox)",
        region=first.region if first else None,
        ad_window=first.ad_window if first else False,
        templates=first.templates if first else (),
        # The sandbox Page holds the Human Agent permission, so people can try answering.
        human_agent=first.human_agent if first else True,
        username=first.username if first else "pageflows.sandbox",
        handback_after=first.handback_after if first else DEFAULT_HANDBACK_AFTER,
        timezone=first.timezone if first else "UTC",
    )
    return replace(
        settings,
        sandbox=True,
        app_secret=settings.app_secret or SANDBOX_SECRET,
        verify_token=settings.verify_token or SANDBOX_VERIFY,
        app_id=SANDBOX_APP_ID,
        pages=(with_env_facts(page, env or {}),),
    )


def graph_version_verdict(settings: Settings, on: date) -> VersionVerdict:
    """The configured Graph API version judged on `on`: `serve`, `worker` and `check` ask."""
    return version_status(settings.graph_version, on)


def version_line(verdict: VersionVerdict) -> str:
    """The verdict as one line for the operator, saying which setting moves the version."""
    if verdict.move_to is None:
        return verdict.message
    return (
        f"{verdict.message.removesuffix('.')} (set PAGEFLOWS_GRAPH_VERSION={verdict.move_to}"
        " or graph_version in pageflows.toml)."
    )
