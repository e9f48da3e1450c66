"""[[users]] in pageflows.toml and `pageflows users hash`, as an operator meets them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from console_app import signs_in

from pageflows.cli import main
from pageflows.service.config import ConfigError, read_settings


def test_the_hash_command_prints_a_table_that_signs_in(tmp_path: Path) -> None:
    run = CliRunner().invoke(
        main, ["users", "hash", "ana"], input="a long enough pass\na long enough pass\n"
    )
    assert run.exit_code == 0, run.output
    table = run.output[run.output.index("[[users]]") :]
    assert "a long enough pass" not in table
    config = tmp_path / "pageflows.toml"
    config.write_text(table)
    settings = read_settings({"PAGEFLOWS_ADMIN_TOKEN": "t" * 30}, config)
    assert [u.name for u in settings.users] == ["ana"]
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert signs_in(url, settings, "ana", "a long enough pass")
    assert not signs_in(url, settings, "ana", "a long enough pas")


def test_a_short_password_or_odd_name_is_refused() -> None:
    short = CliRunner().invoke(main, ["users", "hash", "ana"], input="short\nshort\n")
    assert short.exit_code == 1 and "10 characters or more" in short.output
    odd = CliRunner().invoke(main, ["users", "hash", "a b"], input="x" * 12 + "\n" + "x" * 12)
    assert odd.exit_code == 2 and "letters, digits" in odd.output


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ('[[users]]\nname = "ana"\npassword_hash = "hunter2hunter2"\n', "never the password"),
        ('[[users]]\nname = "ana"\n', "password_hash must be a hash"),
        ('[[users]]\nname = "ana"\npassword_hash = "scrypt:pasted"\n', "password_hash must be"),
        ('[[users]]\nname = "a b"\npassword_hash = "scrypt:x"\n', "name must be"),
        ('[[users]]\nname = "ana"\npasword_hash = "scrypt:x"\n', "unknown key 'pasword_hash'"),
        ('users = "ana"\n', "users must be [[users]] tables"),
        (
            '[[users]]\nname = "ana"\npassword_hash = "scrypt:1$a$b"\n'
            '[[users]]\nname = "ana"\npassword_hash = "scrypt:1$c$d"\n',
            "a second user named 'ana'",
        ),
    ],
)
def test_a_wrong_users_table_is_one_line_saying_what_to_fix(
    tmp_path: Path, table: str, said: str
) -> None:
    config = tmp_path / "pageflows.toml"
    config.write_text(table)
    with pytest.raises(ConfigError) as raised:
        read_settings({}, config)
    assert said in str(raised.value) and "\n" not in str(raised.value)
