"""What an operator sees setting pageflows up: settings, sandbox mode and the server commands.

Settings come from the environment first, then `pageflows.toml`, then
defaults; a bad one is a single `Error:` line, never a traceback. The CLI
tests run `pageflows.cli.main` in-process with click's CliRunner; the Graph
API is the built-in simulator on a real socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result
from sqlalchemy import inspect

from pageflows.cli import main
from pageflows.service.config import (
    SANDBOX_PAGE_ID,
    SANDBOX_TOKEN,
    ConfigError,
    IceBreaker,
    PageConfig,
    load_settings,
)
from pageflows.service.storage.database import make_engine
from pageflows.simulator import RunningSimulator, running_simulator

PAGE = "104123456789012"
TOKEN = "file-page-token"

TWO_PAGES = f"""
database_url = "sqlite:///from-file.db"
app_secret = "file-secret"
verify_token = "file-verify"

[[pages]]
id = "{PAGE}"
token = "{TOKEN}"
name = "Shop"
greeting = "Hi {{{{user_first_name}}}}! Ask us anything."
get_started_payload = "START_SHOP"
ice_breakers = [
    {{ question = "What are your prices?", payload = "PRICES" }},
    {{ question = "Where are you?", payload = "WHERE" }},
]

[[pages]]
id = "104999999999999"
token = "second-page-token"
name = "Cafe"
"""


def write(tmp_path: Path, text: str, name: str = "pageflows.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner inherits os.environ: a developer's own PAGEFLOWS_* must not leak in."""
    import os

    for name in list(os.environ):
        if name.startswith("PAGEFLOWS_") and not name.startswith("PAGEFLOWS_TEST_"):
            monkeypatch.delenv(name)


# ------------------------------------------------------------------ settings


def test_environment_variables_beat_the_settings_file(tmp_path: Path) -> None:
    path = write(tmp_path, TWO_PAGES)
    env = {
        "PAGEFLOWS_PAGE_ID": PAGE,
        "PAGEFLOWS_PAGE_TOKEN": "env-page-token",
        "PAGEFLOWS_DATABASE_URL": "sqlite:///from-env.db",
    }
    settings = load_settings(env, path)
    assert settings.database_url == "sqlite:///from-env.db"
    assert settings.pages[0].id == PAGE
    assert settings.pages[0].token == "env-page-token"
    assert settings.pages[1].token == "second-page-token"  # only the first page is overridden
    assert settings.app_secret == "file-secret" and not settings.sandbox

    from_file = load_settings({}, path)
    assert from_file.database_url == "sqlite:///from-file.db"
    assert from_file.pages[0].token == TOKEN


def test_an_env_token_names_its_page_and_never_borrows_another_pages_settings(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, TWO_PAGES)
    with pytest.raises(ConfigError, match="PAGEFLOWS_PAGE_ID is not"):
        load_settings({"PAGEFLOWS_PAGE_TOKEN": "env-page-token"}, path)
    other = load_settings({"PAGEFLOWS_PAGE_ID": "999", "PAGEFLOWS_PAGE_TOKEN": "t"}, path)
    new = next(p for p in other.pages if p.id == "999")
    assert new.token == "t" and new.greeting is None and new.name == ""
    assert {p.id for p in other.pages} == {"999", PAGE, *(p.id for p in other.pages[2:])}


def test_several_pages_each_have_their_messenger_profile(tmp_path: Path) -> None:
    settings = load_settings({}, write(tmp_path, TWO_PAGES))
    shop, cafe = settings.pages
    assert shop.name == "Shop" and cafe.name == "Cafe"
    assert shop.ice_breakers == (
        IceBreaker("What are your prices?", "PRICES"),
        IceBreaker("Where are you?", "WHERE"),
    )
    assert shop.messenger_profile() == {
        "greeting": [{"locale": "default", "text": "Hi {{user_first_name}}! Ask us anything."}],
        "get_started": {"payload": "START_SHOP"},
        "ice_breakers": [
            {
                "locale": "default",
                "call_to_actions": [
                    {"question": "What are your prices?", "payload": "PRICES"},
                    {"question": "Where are you?", "payload": "WHERE"},
                ],
            }
        ],
    }
    # A page with nothing set still gets a Get Started button, and nothing else.
    assert cafe.messenger_profile() == {"get_started": {"payload": "GET_STARTED"}}


def test_sandbox_mode_runs_only_when_asked_for(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({}, tmp_path / "missing.toml")
    message = str(caught.value)
    for name in ("PAGEFLOWS_PAGE_TOKEN", "PAGEFLOWS_APP_SECRET", "PAGEFLOWS_VERIFY_TOKEN"):
        assert name in message
    assert "--sandbox" in message and "\n" not in message

    only_ids = write(tmp_path, f'[[pages]]\nid = "{PAGE}"\n')
    with pytest.raises(ConfigError, match=f"the token of page {PAGE}"):
        load_settings({}, only_ids)
    with pytest.raises(ConfigError, match=f"the token of page {PAGE}"):
        load_settings({"PAGEFLOWS_PAGE_ID": PAGE}, None)

    for asked in (
        load_settings({}, None, sandbox=True),
        load_settings({"PAGEFLOWS_SANDBOX": "1"}, None),
    ):
        assert asked.sandbox
        assert [p.id for p in asked.pages] == [SANDBOX_PAGE_ID]
        assert asked.pages[0].token and asked.app_secret and asked.verify_token
    assert not load_settings(
        {"PAGEFLOWS_SANDBOX": "0", "PAGEFLOWS_APP_SECRET": "s", "PAGEFLOWS_VERIFY_TOKEN": "v",
         "PAGEFLOWS_PAGE_ID": PAGE, "PAGEFLOWS_PAGE_TOKEN": "t"}, None
    ).sandbox  # fmt: skip
    with pytest.raises(ConfigError, match="PAGEFLOWS_SANDBOX is 'maybe'"):
        load_settings({"PAGEFLOWS_SANDBOX": "maybe"}, None)


def test_sandbox_mode_never_hands_a_real_token_to_the_simulator(tmp_path: Path) -> None:
    settings = load_settings({}, write(tmp_path, TWO_PAGES), sandbox=True)
    assert [p.token for p in settings.pages] == [SANDBOX_TOKEN]
    assert settings.app_secret == "file-secret"  # a secret that was given is kept


def test_a_token_without_the_app_secret_names_the_missing_variable(tmp_path: Path) -> None:
    env = {"PAGEFLOWS_PAGE_ID": PAGE, "PAGEFLOWS_PAGE_TOKEN": "t", "PAGEFLOWS_VERIFY_TOKEN": "v"}
    with pytest.raises(ConfigError, match="PAGEFLOWS_APP_SECRET"):
        load_settings(env, None)
    with pytest.raises(ConfigError, match="PAGEFLOWS_VERIFY_TOKEN"):
        load_settings({**env, "PAGEFLOWS_VERIFY_TOKEN": "", "PAGEFLOWS_APP_SECRET": "s"}, None)
    with pytest.raises(ConfigError, match="PAGEFLOWS_PAGE_ID"):
        load_settings({"PAGEFLOWS_PAGE_TOKEN": "t"}, None)


def test_a_broken_settings_file_is_a_one_line_error(tmp_path: Path) -> None:
    path = write(tmp_path, '[[pages]]\nid = "1"\ntoken = \n')
    with pytest.raises(ConfigError) as caught:
        load_settings({}, path)
    message = str(caught.value)
    assert "\n" not in message and "not valid TOML" in message and str(path) in message


def test_more_than_four_ice_breakers_is_refused(tmp_path: Path) -> None:
    breakers = ",\n".join(f'{{ question = "Q{n}?", payload = "P{n}" }}' for n in range(5))
    path = write(tmp_path, f'[[pages]]\nid = "{PAGE}"\ntoken = "t"\nice_breakers = [{breakers}]\n')
    with pytest.raises(ConfigError, match="at most 4 ice breakers"):
        load_settings({"PAGEFLOWS_APP_SECRET": "s", "PAGEFLOWS_VERIFY_TOKEN": "v"}, path)
    half = write(tmp_path, f'[[pages]]\nid = "{PAGE}"\nice_breakers = [{{ question = "Q?" }}]\n')
    with pytest.raises(ConfigError, match="a question and a payload"):
        load_settings({}, half)


def test_a_page_config_built_in_code_gives_the_same_profile_shape() -> None:
    page = PageConfig(id=PAGE, token="t", greeting="Hello", ice_breakers=(IceBreaker("Q", "P"),))
    profile = page.messenger_profile()
    assert set(profile) == {"greeting", "get_started", "ice_breakers"}
    assert profile["ice_breakers"][0]["call_to_actions"] == [{"question": "Q", "payload": "P"}]


# ------------------------------------------------------------------ the CLI


def run(args: list[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, args, env=env or {})


def assert_one_error_line(result: Result, *words: str) -> str:
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for word in words:
        assert word in errors[0]
    return errors[0]


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "hello.flow").write_text('on keyword "hi":\n    send "hello"\n', "utf-8")
    return folder


def test_serve_with_a_bad_setting_prints_one_error_line(tmp_path: Path, flows_dir: Path) -> None:
    env = {"PAGEFLOWS_PAGE_ID": PAGE, "PAGEFLOWS_PAGE_TOKEN": "t", "PAGEFLOWS_VERIFY_TOKEN": "v"}
    config = str(tmp_path / "none.toml")
    result = run(["serve", str(flows_dir), "--port", "0", "--config", config], env)
    assert_one_error_line(result, "PAGEFLOWS_APP_SECRET")

    bad_toml = write(tmp_path, "database_url = \n")
    result = run(["serve", str(flows_dir), "--port", "0", "--config", str(bad_toml)])
    assert_one_error_line(result, "not valid TOML")


def test_serve_with_broken_flows_shows_the_finding_and_does_not_start(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "oops.flow").write_text('on keyword "hi":\n    goto nowhere\n', "utf-8")
    env = {"PAGEFLOWS_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    args = ["serve", str(folder), "--sandbox", "--port", "0", "--simulator-port", "0"]
    result = run([*args, "--config", str(tmp_path / "none.toml")], env)
    assert result.exit_code == 1, result.output
    assert "oops.flow:2:" in result.output and "error[" in result.output
    assert "nowhere" in result.output
    assert_one_error_line(result, "the flows have errors")
    assert "listening on" not in result.output
    assert not (tmp_path / "db.sqlite").exists()  # nothing was set up for a service that can't run


def test_serve_with_an_unsupported_database_is_one_line(tmp_path: Path, flows_dir: Path) -> None:
    env = {"PAGEFLOWS_DATABASE_URL": "mysql://x"}
    args = ["serve", str(flows_dir), "--sandbox", "--port", "0", "--simulator-port", "0"]
    result = run([*args, "--config", str(tmp_path / "none.toml")], env)
    assert_one_error_line(result, "mysql", "sqlite", "postgresql")


def test_db_upgrade_creates_the_tables(tmp_path: Path, database_url: str) -> None:
    env = {"PAGEFLOWS_DATABASE_URL": database_url}
    result = run(["db", "upgrade", "--config", str(tmp_path / "none.toml")], env)
    assert result.exit_code == 0, result.output
    assert "database is up to date" in result.output
    engine = make_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {
        "inbox",
        "contacts",
        "outbox",
        "follow_ups",
        "comment_replies",
        "media_checks",
        "broadcast_runs",
    } <= tables
    again = run(["db", "upgrade", "--config", str(tmp_path / "none.toml")], env)
    assert again.exit_code == 0, again.output  # running it twice is harmless


def test_db_upgrade_with_a_bad_database_url_is_one_line(tmp_path: Path) -> None:
    result = run(["db", "upgrade", "--config", str(tmp_path / "none.toml")],
                 {"PAGEFLOWS_DATABASE_URL": "mysql://x"})  # fmt: skip
    assert_one_error_line(result, "mysql")


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with running_simulator() as running:
        running.control.register_page(
            page_id=PAGE, token=TOKEN, app_secret="sim-secret",
            webhook_url="http://127.0.0.1:9/webhook", name="Shop",
        )  # fmt: skip
        yield running


def read_profile(sim: RunningSimulator, token: str = TOKEN) -> dict[str, Any]:
    answer = requests.get(
        f"{sim.url}/me/messenger_profile",
        params={"fields": "greeting,get_started,ice_breakers", "access_token": token},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data[0] if data else {}


def test_profile_sync_sets_greeting_get_started_and_ice_breakers(
    tmp_path: Path, sim: RunningSimulator
) -> None:
    config = write(
        tmp_path,
        f"""
[[pages]]
id = "{PAGE}"
greeting = "Welcome to the shop!"
get_started_payload = "START_SHOP"
ice_breakers = [{{ question = "Opening hours?", payload = "HOURS" }}]
""",
    )
    assert read_profile(sim) == {}
    env = {
        "PAGEFLOWS_GRAPH_URL": sim.url,
        "PAGEFLOWS_PAGE_ID": PAGE,
        "PAGEFLOWS_PAGE_TOKEN": TOKEN,
        "PAGEFLOWS_APP_SECRET": "sim-secret",
        "PAGEFLOWS_VERIFY_TOKEN": "verify",
    }
    result = run(["profile", "sync", "--config", str(config)], env)
    assert result.exit_code == 0, result.output
    assert f"page {PAGE}: profile set" in result.output
    assert read_profile(sim) == {
        "greeting": [{"locale": "default", "text": "Welcome to the shop!"}],
        "get_started": {"payload": "START_SHOP"},
        "ice_breakers": [
            {
                "locale": "default",
                "call_to_actions": [{"question": "Opening hours?", "payload": "HOURS"}],
            }
        ],
    }


def test_profile_sync_with_a_wrong_token_says_facebook_refused(
    tmp_path: Path, sim: RunningSimulator
) -> None:
    env = {
        "PAGEFLOWS_GRAPH_URL": sim.url,
        "PAGEFLOWS_PAGE_ID": PAGE,
        "PAGEFLOWS_PAGE_TOKEN": "not-the-token",
        "PAGEFLOWS_APP_SECRET": "sim-secret",
        "PAGEFLOWS_VERIFY_TOKEN": "verify",
    }
    result = run(["profile", "sync", "--config", str(tmp_path / "none.toml")], env)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"page {PAGE}: refused:" in result.output
    assert read_profile(sim) == {}


def test_profile_sync_without_a_page_says_what_to_set(tmp_path: Path) -> None:
    result = run(["profile", "sync", "--config", str(tmp_path / "none.toml")])
    assert_one_error_line(result, "PAGEFLOWS_PAGE_ID", "PAGEFLOWS_PAGE_TOKEN")


def test_a_page_id_written_as_a_toml_number_is_read_as_the_id(tmp_path: Path) -> None:
    path = tmp_path / "pageflows.toml"
    path.write_text(
        'app_secret = "s"\nverify_token = "v"\n[[pages]]\nid = 104123456789012\ntoken = "t"\n'
    )
    assert load_settings({}, path).pages[0].id == "104123456789012"
