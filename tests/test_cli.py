"""The `cobrowse` command: `agent add` writes a hashed account the relay can sign in with;
settings files name the SQLite database (relative to the file)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from cobrowse_cli import cli
from relay.passwords import verify_password
from relay.settings import MEMORY_DATABASE, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """\
[server]
secret_key = "k"

[[brands]]
id = "acme"
name = "Acme"
allowed_origins = ["https://shop.acme.example"]
mask_selectors = ["#iban"]
"""


def add(config: Path, monkeypatch: pytest.MonkeyPatch, password: str, *args: str) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    return cli.main(["agent", "add", "--config", str(config), "--password-stdin", *args])


def test_agent_add_writes_an_scrypt_hash_that_signs_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "cobrowse.toml"
    config.write_text(CONFIG)
    assert (
        add(config, monkeypatch, "s3cret-pass", "--id", "kim", "--name", "Kim", "--brand", "acme")
        == 0
    )
    assert "added agent 'kim'" in capsys.readouterr().out
    text = config.read_text()
    assert "s3cret-pass" not in text and 'password_hash = "scrypt$' in text
    settings = load_settings(config, env={})
    (agent,) = settings.agents
    assert (agent.id, agent.name, agent.brands) == ("kim", "Kim", ("acme",))
    assert verify_password("s3cret-pass", agent.password_hash)
    assert not verify_password("wrong", agent.password_hash)


def test_agent_add_refuses_duplicates_unknown_brands_short_passwords_and_bad_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "cobrowse.toml"
    config.write_text(CONFIG)
    assert add(config, monkeypatch, "long-enough", "--id", "kim", "--brand", "acme") == 0
    before = config.read_text()
    assert add(config, monkeypatch, "long-enough", "--id", "kim", "--brand", "acme") == 2
    assert "already exists" in capsys.readouterr().err
    assert add(config, monkeypatch, "long-enough", "--id", "lee", "--brand", "nope") == 2
    assert "unknown brand" in capsys.readouterr().err
    assert add(config, monkeypatch, "short", "--id", "lee", "--brand", "acme") == 2
    assert "8 characters" in capsys.readouterr().err
    assert add(config, monkeypatch, "long-enough", "--id", "bad id!", "--brand", "acme") == 2
    assert config.read_text() == before  # a refusal never changes the file
    assert not (tmp_path / "cobrowse.toml.new").exists()


def test_the_database_is_a_file_beside_the_settings_file_unless_configured(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "cobrowse.toml"
    config.parent.mkdir()
    config.write_text(CONFIG)
    assert load_settings(config, env={}).database == str(config.parent / "data/cobrowse.sqlite3")
    config.write_text(CONFIG.replace('secret_key = "k"', 'secret_key = "k"\ndatabase = ":memory:"'))
    assert load_settings(config, env={}).database == MEMORY_DATABASE
    env = {"COBROWSE_DATABASE": str(tmp_path / "x.db")}
    assert load_settings(config, env=env).database == str(tmp_path / "x.db")
    assert load_settings(None, env={}).database == MEMORY_DATABASE  # the embedded demo
    config.write_text(CONFIG.replace('secret_key = "k"', "database = 3"))
    with pytest.raises(SettingsError, match=r"server\.database"):
        load_settings(config, env={})


def test_serve_with_a_broken_settings_file_says_why_without_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("[server]\nport = 'x'\n[[brands]]\nid='a'\n")
    result = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "cobrowse_cli", "serve", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "server.port" in result.stderr and "Traceback" not in result.stderr
