"""A page's region, ad window and declared templates, and the Graph API version, as settings.

Table tests: each row is a pageflows.toml fragment or an environment and what
pageflows reads from it, or the one line it refuses it with.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pageflows.rules.page_facts import PageFacts, TemplateInfo
from pageflows.service.config import (
    SANDBOX_PAGE_ID,
    SANDBOX_TOKEN,
    ConfigError,
    Settings,
    load_settings,
    read_settings,
)

PAGE = "104123456789012"
HEAD = f'[[pages]]\nid = "{PAGE}"\ntoken = "t"\n'
ENV_PAGE = {"PAGEFLOWS_PAGE_ID": PAGE, "PAGEFLOWS_PAGE_TOKEN": "t"}


def settings(tmp_path: Path, toml: str, env: dict[str, str] | None = None) -> Settings:
    path = tmp_path / "pageflows.toml"
    path.write_text(toml, "utf-8")
    return read_settings(env or {}, path)


def refusal(tmp_path: Path, toml: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, toml, env)
    message = str(caught.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------ region and ad window


@pytest.mark.parametrize(
    ("line", "region", "ad_window"),
    [
        ("", None, False),
        ('region = "EU"', "EU", False),
        ('region = "eu"', "EU", False),
        ('region = " jp "', "JP", False),
        ('region = "UK"\nad_window = true', "UK", True),
        ("ad_window = false", None, False),
    ],
)
def test_region_and_ad_window_in_the_file(
    tmp_path: Path, line: str, region: str | None, ad_window: bool
) -> None:
    (page,) = settings(tmp_path, HEAD + line + "\n").pages
    assert (page.region, page.ad_window) == (region, ad_window)
    assert page.facts() == PageFacts(id=PAGE, region=region, ad_window=ad_window)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('region = "US"', "region is 'US'; use one of AU, EU, JP, KR, UK"),
        ('region = ""', "region is ''; use one of AU, EU, JP, KR, UK"),
        ("region = 1", "region is 1; use one of AU, EU, JP, KR, UK"),
        ('ad_window = "yes"', "ad_window is 'yes'; write true or false"),
        ("ad_window = 1", "ad_window is 1; write true or false"),
    ],
)
def test_a_bad_region_or_ad_window_is_one_line(tmp_path: Path, line: str, says: str) -> None:
    message = refusal(tmp_path, HEAD + line + "\n")
    assert message.startswith(f"{tmp_path / 'pageflows.toml'}: [[pages]] #1: ")
    assert says in message


@pytest.mark.parametrize(
    ("env", "region", "ad_window"),
    [
        ({"PAGEFLOWS_PAGE_REGION": "kr"}, "KR", False),
        ({"PAGEFLOWS_AD_WINDOW": "1"}, None, True),
        ({"PAGEFLOWS_AD_WINDOW": "true"}, None, True),
        ({"PAGEFLOWS_AD_WINDOW": "TRUE"}, None, True),
        ({"PAGEFLOWS_AD_WINDOW": "0"}, None, False),
        ({"PAGEFLOWS_AD_WINDOW": "false"}, None, False),
        ({"PAGEFLOWS_AD_WINDOW": ""}, None, False),  # empty: not set
        ({"PAGEFLOWS_PAGE_REGION": "AU", "PAGEFLOWS_AD_WINDOW": "1"}, "AU", True),
    ],
)
def test_the_environment_sets_the_one_pages_region_and_ad_window(
    env: dict[str, str], region: str | None, ad_window: bool
) -> None:
    (page,) = read_settings(ENV_PAGE | env, None).pages
    assert (page.id, page.region, page.ad_window) == (PAGE, region, ad_window)


def test_the_environment_beats_the_file_for_the_one_page(tmp_path: Path) -> None:
    toml = HEAD + 'region = "EU"\nad_window = true\n'
    env = {"PAGEFLOWS_PAGE_REGION": "JP", "PAGEFLOWS_AD_WINDOW": "0"}
    (page,) = settings(tmp_path, toml, env).pages
    assert (page.region, page.ad_window) == ("JP", False)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"PAGEFLOWS_PAGE_REGION": "BR"}, "PAGEFLOWS_PAGE_REGION is 'BR'; use one of AU, EU"),
        ({"PAGEFLOWS_AD_WINDOW": "maybe"}, "PAGEFLOWS_AD_WINDOW is 'maybe'; use 1 (or true)"),
    ],
)
def test_a_bad_environment_value_is_one_line(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=r"^" + says.replace("(", r"\(").replace(")", r"\)")):
        read_settings(ENV_PAGE | env, None)


def test_an_environment_region_needs_exactly_one_page(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as none:
        read_settings({"PAGEFLOWS_PAGE_REGION": "EU"}, None)
    assert str(none.value) == (
        "PAGEFLOWS_PAGE_REGION sets the region of the one page; with no page configured,"
        " set `region` in each [[pages]] table of pageflows.toml"
    )
    two = HEAD + '[[pages]]\nid = "2"\ntoken = "u"\n'
    assert "with several pages" in refusal(tmp_path, two, {"PAGEFLOWS_AD_WINDOW": "1"})


def test_the_sandbox_page_stands_in_for_the_first_page_and_the_environment_wins(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pageflows.toml"
    path.write_text(HEAD + 'region = "EU"\nad_window = true\ntimezone = "Europe/Paris"\n', "utf-8")
    (plain,) = load_settings({}, path, sandbox=True).pages
    # The configured Page's id (the operator CLI reads pageflows.toml and must find the
    # sandbox's contacts) and facts, never its token: the simulator gets the sandbox's.
    assert (plain.id, plain.token, plain.region, plain.ad_window, plain.timezone) == (
        "104123456789012",
        SANDBOX_TOKEN,
        "EU",
        True,
        "Europe/Paris",
    )
    (nothing,) = load_settings({}, None, sandbox=True).pages
    assert (nothing.region, nothing.ad_window, nothing.templates) == (None, False, ())
    env = {"PAGEFLOWS_PAGE_REGION": "eu", "PAGEFLOWS_AD_WINDOW": "1"}
    (told,) = load_settings(env, None, sandbox=True).pages
    assert (told.id, told.region, told.ad_window) == (SANDBOX_PAGE_ID, "EU", True)


# ------------------------------------------------------------------ declared templates


def test_declared_templates_with_their_defaults(tmp_path: Path) -> None:
    toml = HEAD + (
        "[[pages.templates]]\n"
        'name = "order_shipped"\n'
        'body = "Hi {{1}}, order {{2}} has shipped."\n'
        'buttons = ["url", "POSTBACK"]\n'
        "[[pages.templates]]\n"
        'name = "order_shipped"\n'
        'language = "de_DE"\n'
        'status = "paused"\n'
        'category = "utility"\n'
        "[[pages.templates]]\n"
        'name = "quick"\n'
        'buttons = ["QUICK_REPLY"]\n'
    )
    (page,) = settings(tmp_path, toml).pages
    assert page.templates == (
        TemplateInfo(
            name="order_shipped",
            language="en_US",
            status="APPROVED",
            category="UTILITY",
            body="Hi {{1}}, order {{2}} has shipped.",
            parameters=2,
            buttons=("URL", "POSTBACK"),
        ),
        TemplateInfo(name="order_shipped", language="de_DE", status="PAUSED"),
        TemplateInfo(name="quick", language="en_US", buttons=("QUICK_REPLY",)),
    )
    assert page.facts().templates == page.templates


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ('language = "en_US"', "[[pages.templates]] #1 has no name"),
        ('name = "a"\nstatus = "LIVE"', "template 'a': status 'LIVE' is not one of APPROVED,"),
        ('name = "a"\nstatus = "deleted"', "status 'deleted' is not one of APPROVED, PENDING,"),
        ('name = "a"\nbuttons = ["CALL"]', "template 'a': button 'CALL' is not one of POSTBACK,"),
        ('name = "a"\nbuttons = "URL"', "template 'a': buttons must be a list of button types"),
        ('name = "a"\nbody = 5', "template 'a': body must be a text"),
        ('name = "a"\nbuttns = ["URL"]', "unknown key 'buttns'; use name, language, status,"),
        ('name = ""', "name must be a non-empty text"),
    ],
)
def test_a_bad_template_is_one_line_naming_it(tmp_path: Path, template: str, says: str) -> None:
    message = refusal(tmp_path, HEAD + "[[pages.templates]]\n" + template + "\n")
    assert says in message, message


def test_a_template_declared_twice_for_one_language_is_refused(tmp_path: Path) -> None:
    one = '[[pages.templates]]\nname = "a"\n'
    message = refusal(tmp_path, HEAD + one + one)
    assert message.endswith("[[pages]] #1: template 'a' is declared twice for en_US")
    other = '[[pages.templates]]\nname = "a"\nlanguage = "fr_FR"\n'
    assert len(settings(tmp_path, HEAD + one + other).pages[0].templates) == 2


def test_templates_must_be_tables(tmp_path: Path) -> None:
    assert "templates must be a list" in refusal(tmp_path, HEAD + 'templates = "a"\n')


# ------------------------------------------------------------------ the Graph API version


FB = "https://graph.facebook.com"
SIM = "http://127.0.0.1:8765"


@pytest.mark.parametrize(
    ("toml", "env", "url", "version"),
    [
        ("", {}, f"{FB}/v25.0", "v25.0"),
        # a version at the end of the URL (the form of older setups) is the version
        (f'graph_url = "{FB}/v21.0"', {}, f"{FB}/v21.0", "v21.0"),
        ("", {"PAGEFLOWS_GRAPH_URL": "http://p:8080/v22.0/"}, "http://p:8080/v22.0", "v22.0"),
        # graph_version, wherever it is set, names the version; the URL gives the base
        ('graph_version = "v26.0"', {"PAGEFLOWS_GRAPH_URL": "http://p/v21.0"}, "http://p/v26.0",
         "v26.0"),
        (f'graph_url = "{FB}/v21.0"', {"PAGEFLOWS_GRAPH_VERSION": "v25.0"}, f"{FB}/v25.0", "v25.0"),
        ('graph_version = "v22.0"', {"PAGEFLOWS_GRAPH_VERSION": "v24.0"}, f"{FB}/v24.0", "v24.0"),
        # a URL without a version gets the version at its end
        (f'graph_url = "{SIM}"', {}, f"{SIM}/v25.0", "v25.0"),
        (f'graph_url = "{SIM}/"\ngraph_version = "V27.0"', {}, f"{SIM}/v27.0", "v27.0"),
        ("", {"PAGEFLOWS_GRAPH_VERSION": "23.0"}, f"{FB}/v23.0", "v23.0"),
    ],
)  # fmt: skip
def test_the_graph_version_and_url(
    tmp_path: Path, toml: str, env: dict[str, str], url: str, version: str
) -> None:
    read = settings(tmp_path, toml + "\n", env)
    assert (read.graph_url, read.graph_version) == (url, version)


@pytest.mark.parametrize(
    ("toml", "env"),
    [
        ('graph_version = "latest"', {}),
        ("", {"PAGEFLOWS_GRAPH_VERSION": "v25"}),
        ("", {"PAGEFLOWS_GRAPH_VERSION": "v25.0/me"}),
    ],
)
def test_a_graph_version_that_is_no_version_is_one_line(
    tmp_path: Path, toml: str, env: dict[str, str]
) -> None:
    message = refusal(tmp_path, toml + "\n", env)
    assert "is not a version; write it as v25.0" in message


def test_a_graph_version_that_is_not_text_is_one_line(tmp_path: Path) -> None:
    assert refusal(tmp_path, "graph_version = 25\n").endswith("must be a non-empty text")


# ------------------------------------------------------------------ operators' page settings


def test_human_agent_username_and_handback_in_the_file_and_the_environment(
    tmp_path: Path,
) -> None:
    (page,) = settings(tmp_path, HEAD).pages
    assert (page.human_agent, page.username, page.handback_after) == (
        False,
        None,
        timedelta(hours=12),
    )
    toml = HEAD + 'human_agent = true\nusername = "@pizza.roma"\nhandback_after = "30m"\n'
    (page,) = settings(tmp_path, toml).pages
    assert (page.human_agent, page.username, page.handback_after) == (
        True,
        "pizza.roma",
        timedelta(minutes=30),
    )
    env = {
        "PAGEFLOWS_HUMAN_AGENT": "0",
        "PAGEFLOWS_PAGE_USERNAME": "https://m.me/pizzaroma2",
        "PAGEFLOWS_HANDBACK_AFTER": "2d",
    }
    (page,) = settings(tmp_path, toml, env).pages
    assert (page.human_agent, page.username, page.handback_after) == (
        False,
        "pizzaroma2",
        timedelta(days=2),
    )


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        (HEAD + 'regoin = "EU"\n', "[[pages]] #1: unknown key 'regoin'; use id, token,"),
        (
            HEAD + 'graph_version = "v25.0"\n',
            "[[pages]] #1: graph_version is a setting of the whole file: put it above",
        ),
        ('region = "EU"\n' + HEAD, "region belongs in a [[pages]] table"),
        ('databse_url = "x"\n', "unknown setting 'databse_url'; use database_url,"),
        (HEAD + 'handback_after = "2 weeks"\n', 'write a duration such as "30m"'),
        (HEAD + 'handback_after = "8d"\n', "at most 7d"),
        (HEAD + 'username = "a b"\n', "give the Page's username as in its m.me link"),
        (HEAD + 'human_agent = "yes"\n', "human_agent is 'yes'; write true or false"),
    ],
)
def test_a_misplaced_or_misspelt_setting_is_refused_not_ignored(
    tmp_path: Path, toml: str, says: str
) -> None:
    assert says in refusal(tmp_path, toml)


# ------------------------------------------------------------------ issue 12: the Page's time zone


@pytest.mark.parametrize(
    ("toml_line", "env", "zone"),
    [
        ("", {}, "UTC"),
        ('timezone = "Europe/Paris"', {}, "Europe/Paris"),
        ('timezone = "Europe/Paris"', {"PAGEFLOWS_PAGE_TIMEZONE": "Asia/Tokyo"}, "Asia/Tokyo"),
    ],
)
def test_the_pages_time_zone_from_the_file_and_the_environment(
    tmp_path: Path, toml_line: str, env: dict[str, str], zone: str
) -> None:
    (page,) = settings(tmp_path, HEAD + toml_line + "\n", env).pages
    assert page.facts().timezone == zone


@pytest.mark.parametrize("value", ['"Paris"', '"CET+1"', '""', "2"])
def test_a_time_zone_that_is_no_zone_is_one_line(tmp_path: Path, value: str) -> None:
    message = refusal(tmp_path, HEAD + f"timezone = {value}\n")
    assert "timezone is" in message
    assert 'give an IANA time zone such as "Europe/Paris" or "UTC"' in message
