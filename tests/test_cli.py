"""The `cobrowse` command: `agent add` writes a hashed account the relay can sign in with;
settings files name the database (a SQLite file relative to the file, or a PostgreSQL URL) and
are strict: an unknown key or a wrong type is refused by name."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_async
from services import PASSWORD, PostgresServer, free_port

from cobrowse_cli import cli
from relay.passwords import verify_password
from relay.settings import MEMORY_DATABASE, ServerLimits, SettingsError, load_settings

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


AGENT = """
[[agents]]
id = "kim"
name = "Kim"
password_hash = "scrypt$x"
brands = ["acme"]
"""


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("\n[clustr]\nredis_url = 'redis://r'\n", "clustr"),  # a misspelt table
        ("\n[[brand]]\nid = 'b'\n", "brand"),  # [[brand]] for [[brands]]
        ("\ndatabase = 'x.db'\n", "database"),  # a [server] key after the last table
        ("\n[cluster]\nredis_ur = 'redis://r'\n", "[cluster]: redis_ur"),  # a misspelt key
        ("\n[server2]\nport = 1\n", "server2"),
        ("\nmask_selector = ['#x']\n", "mask_selector"),  # inside the last [[brands]]
        (AGENT + "brand = ['acme']\n", "agents[0]: brand"),
    ],
)
def test_unknown_tables_and_keys_are_refused_by_name(
    tmp_path: Path, change: str, named: str
) -> None:
    config = tmp_path / "cobrowse.toml"
    config.write_text(CONFIG + change)
    with pytest.raises(SettingsError, match=re.escape(named)):
        load_settings(config, env={})


@pytest.mark.parametrize(
    ("server", "named"),
    [
        ("port = '8700'", "server.port"),
        ("port = 0", "server.port"),
        ("port = 70000", "server.port"),
        ("port = true", "server.port"),
        ("secure_cookies = 1", "server.secure_cookies"),
        ("secure_cookies = 'yes'", "server.secure_cookies"),
        ("demo = 'false'", "server.demo"),
        ("invite_ttl_seconds = 'soon'", "server.invite_ttl_seconds"),
        ("invite_ttl_seconds = 0", "server.invite_ttl_seconds"),
        ("visitor_grace_seconds = -5", "server.visitor_grace_seconds"),
        ("visitor_grace_seconds = true", "server.visitor_grace_seconds"),
        ("host = 8700", "server.host"),
        ("chromium = false", "server.chromium"),
        ("secret_key = 12", "server.secret_key"),
    ],
)
def test_wrong_types_and_durations_are_refused_by_name(
    tmp_path: Path, server: str, named: str
) -> None:
    config = tmp_path / "cobrowse.toml"
    config.write_text(CONFIG.replace('secret_key = "k"', server))
    with pytest.raises(SettingsError, match=re.escape(named)):
        load_settings(config, env={})


def test_brand_and_agent_names_must_be_strings_and_the_port_variable_a_port(
    tmp_path: Path,
) -> None:
    config = tmp_path / "cobrowse.toml"
    config.write_text(CONFIG.replace('name = "Acme"', "name = 3"))
    with pytest.raises(SettingsError, match=r"brands\[0\]\.name"):
        load_settings(config, env={})
    config.write_text(CONFIG + AGENT.replace('name = "Kim"', "name = []"))
    with pytest.raises(SettingsError, match=r"agents\[0\]\.name"):
        load_settings(config, env={})
    config.write_text(CONFIG)
    assert load_settings(config, env={"COBROWSE_PORT": "9000"}).port == 9000
    with pytest.raises(SettingsError, match="COBROWSE_PORT"):
        load_settings(config, env={"COBROWSE_PORT": "0x50"})
    config.write_text(CONFIG + AGENT)
    good = load_settings(config, env={})  # every key known: it loads
    assert good.agents[0].name == "Kim" and good.port == 8700


LIMITS = CONFIG.replace("\n[[brands]]", "\n[limits]\nLIMIT\n\n[[brands]]")


def test_the_limits_table_sets_any_server_limit_and_keeps_the_rest(tmp_path: Path) -> None:
    config = tmp_path / "cobrowse.toml"
    chosen = (
        "conversations_per_brand_per_minute = 3000\nvisitor_rate = 50\nagent_burst = 12.5\n"
        "resource_bytes = 1000000\nresource_timeout_seconds = 3"
    )
    config.write_text(LIMITS.replace("LIMIT", chosen))
    limits = load_settings(config, env={}).limits
    assert limits.resource_bytes == 1000000 and limits.resource_timeout_seconds == 3.0
    assert limits.resource_cache_bytes == ServerLimits().resource_cache_bytes
    assert limits.conversations_per_brand_per_minute == 3000
    assert limits.visitor_rate == 50.0 and isinstance(limits.visitor_rate, float)
    assert limits.agent_burst == 12.5
    assert (
        limits.conversations_per_address_per_minute
        == ServerLimits().conversations_per_address_per_minute
    )


@pytest.mark.parametrize(
    ("limit", "named"),
    [
        ("conversation_per_brand_per_minute = 10", "[limits]: conversation_per_brand_per_minute"),
        ("conversations_per_brand_per_minute = '600'", "limits.conversations_per_brand_per_minute"),
        ("conversations_per_brand_per_minute = 0", "limits.conversations_per_brand_per_minute"),
        ("conversations_per_brand_per_minute = 1.5", "limits.conversations_per_brand_per_minute"),
        ("visitor_rate = -1", "limits.visitor_rate"),
        ("visitor_rate = nan", "limits.visitor_rate"),
        ("visitor_rate = inf", "limits.visitor_rate"),
        ("login_attempts_per_minute = true", "limits.login_attempts_per_minute"),
        ("resource_bytes = '4MB'", "limits.resource_bytes"),
        ("resource_cache_bytes = 0", "limits.resource_cache_bytes"),
        ("resource_timeout_seconds = -5", "limits.resource_timeout_seconds"),
    ],
)
def test_a_wrong_limit_is_refused_by_name(tmp_path: Path, limit: str, named: str) -> None:
    config = tmp_path / "cobrowse.toml"
    config.write_text(LIMITS.replace("LIMIT", limit))
    with pytest.raises(SettingsError, match=re.escape(named)):
        load_settings(config, env={})


def test_private_addresses_for_the_resource_proxy_are_a_choice_of_the_file(
    tmp_path: Path,
) -> None:
    config = tmp_path / "cobrowse.toml"
    config.write_text(CONFIG)
    assert load_settings(config, env={}).resource_private_addresses is False
    server = 'secret_key = "k"\nresource_private_addresses = '
    config.write_text(CONFIG.replace('secret_key = "k"', server + "true"))
    assert load_settings(config, env={}).resource_private_addresses is True
    config.write_text(CONFIG.replace('secret_key = "k"', server + '"yes"'))
    with pytest.raises(SettingsError, match=r"server\.resource_private_addresses"):
        load_settings(config, env={})


def test_a_postgresql_url_is_kept_as_it_is_never_made_a_path(tmp_path: Path) -> None:
    config = tmp_path / "cobrowse.toml"
    url = "postgresql://relay:s3cret@db.internal:5432/cobrowse"
    config.write_text(CONFIG.replace('secret_key = "k"', f'database = "{url}"'))
    assert load_settings(config, env={}).database == url
    other = "postgres://relay@db2/cobrowse"
    assert load_settings(config, env={"COBROWSE_DATABASE": other}).database == other


def test_a_reload_refuses_a_misspelt_key_and_keeps_the_running_settings(tmp_path: Path) -> None:

    from relay.live_settings import LiveSettings

    config = tmp_path / "cobrowse.toml"
    config.write_text(CONFIG)
    live = LiveSettings(load_settings(config, env={}), config)
    config.write_text(CONFIG.replace("mask_selectors", "mask_selector"))
    assert run_async(live.reload) is None
    assert live.current.brands[0].mask_selectors == ("#iban",)


def test_serve_with_an_unreachable_postgresql_says_so_in_one_line_without_the_password(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    config = tmp_path / "cobrowse.toml"
    config.write_text(CONFIG)
    wrong = postgres.url.replace(PASSWORD, "not-the-password-31")
    for url in (wrong, postgres.url.replace(f":{postgres.port}/", f":{free_port()}/")):
        result = subprocess.run(  # noqa: S603 - our own command
            [sys.executable, "-m", "cobrowse_cli", "serve", "--config", str(config), "--port", "1"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "COBROWSE_DATABASE": url},
        )
        assert result.returncode == 2, result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("cobrowse: cannot connect"), lines
        assert "postgres:***@127.0.0.1" in lines[0]
        for secret in (PASSWORD, "not-the-password-31"):
            assert secret not in result.stderr + result.stdout


def test_sigterm_drains_the_node_clients_are_told_to_reconnect_and_it_exits(
    tmp_path: Path,
) -> None:
    """A deploy or an orchestrator stops a node with SIGTERM: every socket is closed with 1012
    ("service restart": the tag and the workspace reconnect, through a load balancer to
    another node), and the process exits promptly without a traceback."""
    import asyncio
    import json
    import signal
    import time
    import urllib.request

    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "relay.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "relay", "--port", str(port), "--log-level", "info"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COBROWSE_SECRET_KEY": "drain-test-secret"},
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):  # noqa: S310
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)

        async def visitor() -> tuple[int | None, float]:
            async with connect(f"ws://127.0.0.1:{port}/ws/visitor", origin=url) as ws:
                assert json.loads(await ws.recv())["type"] == "hello"
                started = time.monotonic()
                process.send_signal(signal.SIGTERM)
                with pytest.raises(ConnectionClosed):
                    while True:
                        await asyncio.wait_for(ws.recv(), 10)
                return ws.close_code, time.monotonic() - started

        code, seconds = run_async(visitor)
        assert code == 1012 and seconds < 5
        process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in log.read_text()
