"""`pageflows serve` as an operator starts it: sandbox only when asked, every refusal one line.

Through the real CLI: click's CliRunner for the refusals (they return before
anything listens), a subprocess for the servers that do start. Assertions are
on what the operator reads: one `Error:` line, no traceback, no password.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result

from pageflows.cli import main
from pageflows.ports import free_port

FACEBOOK = {
    "PAGEFLOWS_PAGE_ID": "104123456789012",
    "PAGEFLOWS_PAGE_TOKEN": "page-token",
    "PAGEFLOWS_APP_SECRET": "app-secret",
    "PAGEFLOWS_VERIFY_TOKEN": "verify-token",
}
DEAD_POSTGRES = "postgresql://u:secret@127.0.0.1:1/x"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner inherits os.environ: a developer's own PAGEFLOWS_* must not leak in."""
    for name in list(os.environ):
        if name.startswith("PAGEFLOWS_") and not name.startswith("PAGEFLOWS_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "hello.flow").write_text('on keyword "hi":\n    send "hello"\n', "utf-8")
    return folder


@pytest.fixture
def none_toml(tmp_path: Path) -> str:
    return str(tmp_path / "none.toml")


def serve(flows: Path, config: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["serve", str(flows), "--config", config, *args], env=env)


def one_error_line(result: Result, *words: str) -> str:
    """Exit 1, no traceback, and exactly one line of output: the `Error:` line with `words`."""
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------ no sandbox unless asked


def test_without_any_credentials_serve_refuses_to_start(
    flows: Path, none_toml: str, tmp_path: Path
) -> None:
    database = tmp_path / "db.sqlite"
    result = serve(flows, none_toml, env={"PAGEFLOWS_DATABASE_URL": f"sqlite:///{database}"})
    line = one_error_line(
        result,
        "PAGEFLOWS_PAGE_ID and PAGEFLOWS_PAGE_TOKEN",
        "PAGEFLOWS_APP_SECRET",
        "PAGEFLOWS_VERIFY_TOKEN",
        "pageflows serve --sandbox",
    )
    assert "sandbox mode:" not in line
    assert not database.exists()  # nothing was set up


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        ("PAGEFLOWS_PAGE_TOKEN", "the token of page 104123456789012"),
        ("PAGEFLOWS_APP_SECRET", "PAGEFLOWS_APP_SECRET"),
        ("PAGEFLOWS_VERIFY_TOKEN", "PAGEFLOWS_VERIFY_TOKEN"),
    ],
)
def test_each_missing_credential_is_named_in_one_line(
    flows: Path, none_toml: str, unset: str, named: str
) -> None:
    env = {k: v for k, v in FACEBOOK.items() if k != unset}
    line = one_error_line(serve(flows, none_toml, env=env), named)
    others = {"PAGEFLOWS_APP_SECRET", "PAGEFLOWS_VERIFY_TOKEN"} - {unset}
    assert not any(other in line for other in others)


def test_a_sandbox_setting_that_is_neither_yes_nor_no_is_one_line(
    flows: Path, none_toml: str
) -> None:
    one_error_line(serve(flows, none_toml, env={"PAGEFLOWS_SANDBOX": "maybe"}), "PAGEFLOWS_SANDBOX")


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def start(
    processes: list[subprocess.Popen[str]], args: list[str], env: dict[str, str], cwd: Path
) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PAGEFLOWS_")}
    process = subprocess.Popen(
        [sys.executable, "-c", "from pageflows.cli import main; main()", "serve", *args,
         "--port", str(port),
         "--simulator-port", str(free_port())],
        env={**clean, **env}, cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    processes.append(process)
    deadline = time.monotonic() + 60  # a loaded machine takes 20 s to start serve and its simulator
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return process, port
        except (requests.ConnectionError, requests.Timeout):  # not up, or its first answer slow
            assert process.poll() is None, process.communicate()[0]
            time.sleep(0.1)
    raise AssertionError("serve did not start")


def stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    output, _ = process.communicate(timeout=10)
    return output


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_sandbox_mode_when_asked_says_so_and_takes_sandbox_webhooks(
    flows: Path, tmp_path: Path, started: list[subprocess.Popen[str]], how: str
) -> None:
    env = {"PAGEFLOWS_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    args = [str(flows)]
    if how == "flag":
        args.append("--sandbox")
    else:
        env["PAGEFLOWS_SANDBOX"] = "1"
    process, port = start(started, args, env, tmp_path)
    answer = requests.get(
        f"http://127.0.0.1:{port}/webhook",
        params={"hub.mode": "subscribe", "hub.verify_token": "sandbox-verify-token",
                "hub.challenge": "42"},
        timeout=5,
    )  # fmt: skip
    assert answer.text == "42"
    assert "sandbox mode: pageflows talks to its built-in Graph API simulator" in stop(process)


def test_with_credentials_serve_talks_to_facebook_not_the_sandbox(
    flows: Path, tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    env = {**FACEBOOK, "PAGEFLOWS_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    process, port = start(started, [str(flows)], env, tmp_path)
    unsigned = requests.post(f"http://127.0.0.1:{port}/webhook", data=b"{}", timeout=5)
    assert unsigned.status_code == 403
    output = stop(process)
    assert "serving 1 page(s) through https://graph.facebook.com" in output
    assert "sandbox" not in output


# ------------------------------------------------------------ the database: never a password


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (DEAD_POSTGRES, ["cannot use the database postgresql://u:***@127.0.0.1:1/x",
                         "Connection refused"]),
        ("postgresql://u:secret@127.0.0.1:notaport/x", ["is not a database URL", "notaport"]),
        ("u:secret@127.0.0.1/x", ["is not a database URL", "u:***@127.0.0.1/x"]),
        ("mysql://u:secret@127.0.0.1/x", ["mysql", "sqlite:///FILE and postgresql://"]),
        ("postgresql+psycopg2://u:secret@127.0.0.1:1/x", ["u:***@127.0.0.1:1/x",
                                                         "Connection refused"]),
    ],
)  # fmt: skip
def test_a_database_problem_is_one_line_without_the_password(
    flows: Path, none_toml: str, url: str, words: list[str]
) -> None:
    env = {**FACEBOOK, "PAGEFLOWS_DATABASE_URL": url}
    result = serve(flows, none_toml, "--port", "0", env=env)
    line = one_error_line(result, *words)
    assert "secret" not in result.output, line
    upgrade = CliRunner().invoke(main, ["db", "upgrade", "--config", none_toml], env=env)
    assert upgrade.exit_code == 1 and "secret" not in upgrade.output, upgrade.output
    assert "Traceback" not in upgrade.output


def test_db_upgrade_needs_no_facebook_credentials(tmp_path: Path, none_toml: str) -> None:
    env = {"PAGEFLOWS_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    result = CliRunner().invoke(main, ["db", "upgrade", "--config", none_toml], env=env)
    assert result.exit_code == 0 and "database is up to date" in result.output


# ------------------------------------------------------------ ports


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--port", "99999"], ["--port 99999 is not a port", "1 to 65535"]),
        (["--port", "-1"], ["--port -1 is not a port"]),
        (["--sandbox", "--simulator-port", "70000"], ["--simulator-port 70000 is not a port"]),
    ],
)
def test_a_port_that_is_no_port_is_one_line(
    flows: Path, none_toml: str, args: list[str], words: list[str]
) -> None:
    one_error_line(serve(flows, none_toml, *args, env=FACEBOOK), *words)


def test_a_port_in_use_is_one_line_naming_the_option(
    flows: Path, none_toml: str, tmp_path: Path
) -> None:
    env = {**FACEBOOK, "PAGEFLOWS_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = serve(flows, none_toml, "--port", port, env=env)
        one_error_line(result, f"cannot listen on 127.0.0.1:{port}", "in use", "--port")
        result = serve(flows, none_toml, "--sandbox", "--port", "0", "--simulator-port", port)
        one_error_line(result, f"port {port} is in use", "--simulator-port")
