"""The fleet's settings: ``[cluster] redis_url`` (or ``COBROWSE_REDIS_URL``) runs several nodes,
which then need one secret key (a cookie from one node works on all) and PostgreSQL (nodes
cannot share a SQLite file); a typo or a wrong type is refused by name; without it nothing
changes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from relay.settings import SettingsError, load_settings, shown_database, shown_redis_url

POSTGRES = "postgresql://relay:pg-pass-77@db.internal/cobrowse"
SERVER = f"""\
[server]
secret_key = "shared by every node"
database = "{POSTGRES}"
"""
CLUSTER = """
[cluster]
redis_url = "redis://:redis-pass-31@redis.internal:6379/0"
"""
BRANDS = """
[[brands]]
id = "acme"
allowed_origins = ["https://shop.acme.example"]
"""
FLEET = SERVER + CLUSTER + BRANDS
ONE_NODE = SERVER + BRANDS  # no [cluster] table


def settings_file(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "cobrowse.toml"
    config.write_text(text)
    return config


def test_a_fleet_with_postgresql_and_a_shared_key_loads(tmp_path: Path) -> None:
    settings = load_settings(settings_file(tmp_path, FLEET), env={})
    assert settings.redis_url == "redis://:redis-pass-31@redis.internal:6379/0"
    assert (settings.secret_key, settings.database) == ("shared by every node", POSTGRES)
    assert "redis-pass" not in repr(settings)
    for scheme in ("rediss://redis.internal", "unix:///run/redis.sock?db=1", "REDIS://r"):
        text = FLEET.replace("redis://:redis-pass-31@redis.internal:6379/0", scheme)
        assert load_settings(settings_file(tmp_path, text), env={}).redis_url == scheme


def test_the_environment_overrides_the_file_and_can_make_a_fleet_of_its_own(
    tmp_path: Path,
) -> None:
    config = settings_file(tmp_path, FLEET)
    env = {"COBROWSE_REDIS_URL": "redis://other:6380/2"}
    assert load_settings(config, env=env).redis_url == "redis://other:6380/2"
    single = settings_file(tmp_path, ONE_NODE)
    assert load_settings(single, env={}).redis_url is None
    assert load_settings(single, env=env).redis_url == "redis://other:6380/2"
    with pytest.raises(SettingsError, match="COBROWSE_REDIS_URL must be a redis://"):
        load_settings(single, env={"COBROWSE_REDIS_URL": "http://:env-pass-9@r"})


def test_without_a_redis_url_nothing_changes(tmp_path: Path) -> None:
    assert load_settings(None, env={}).redis_url is None  # the embedded demo
    first, second = load_settings(None, env={}), load_settings(None, env={})
    assert first.secret_key and first.secret_key != second.secret_key  # random per process
    config = settings_file(tmp_path, '[server]\ndatabase = ":memory:"\n' + BRANDS)
    settings = load_settings(config, env={})
    assert settings.redis_url is None and len(settings.secret_key) >= 32
    assert load_settings(config, env={"COBROWSE_SECRET_KEY": "k"}).secret_key == "k"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (FLEET.replace("redis_url =", "redis_ur ="), "[cluster]: redis_ur"),
        (FLEET.replace("[cluster]", "[clustr]"), "top level: clustr"),
        (
            'cluster = "redis://r"\n' + FLEET.replace("[cluster]\nredis_url", "# "),
            "[cluster] must be",
        ),
        (FLEET.replace('redis_url = "redis://', "redis_url = 6379 # "), "cluster.redis_url"),
        (FLEET.replace("redis://:redis-pass-31@", "redis-pass-31@"), "cluster.redis_url"),
        (FLEET.replace('redis_url = "redis://', 'redis_url = "http://'), "cluster.redis_url"),
    ],
)
def test_a_typo_or_a_wrong_type_in_cluster_is_refused_by_name(
    tmp_path: Path, text: str, named: str
) -> None:
    with pytest.raises(SettingsError, match=re.escape(named)) as refused:
        load_settings(settings_file(tmp_path, text), env={})
    assert "redis-pass" not in str(refused.value)


@pytest.mark.parametrize(
    ("text", "env", "said"),
    [
        (FLEET.replace('secret_key = "shared by every node"\n', ""), {}, "same secret_key"),
        (FLEET.replace(POSTGRES, "data/cobrowse.sqlite3"), {}, "cannot share a SQLite"),
        (FLEET.replace(POSTGRES, ":memory:"), {}, "cannot share a SQLite"),
        (FLEET, {"COBROWSE_DATABASE": "/var/lib/cobrowse.sqlite3"}, "cannot share a SQLite"),
    ],
)
def test_a_fleet_without_a_shared_key_or_on_sqlite_is_refused(
    tmp_path: Path, text: str, env: dict[str, str], said: str
) -> None:
    with pytest.raises(SettingsError, match=said):
        load_settings(settings_file(tmp_path, text), env=env)


def test_a_fleet_takes_its_key_and_database_from_the_environment_too(tmp_path: Path) -> None:
    single = settings_file(tmp_path, ONE_NODE)
    fleet = {"COBROWSE_REDIS_URL": "redis://r", "COBROWSE_SECRET_KEY": "k"}
    assert load_settings(single, env=fleet).secret_key == "k"
    with pytest.raises(SettingsError, match="same secret_key"):
        load_settings(None, env={"COBROWSE_REDIS_URL": "redis://r", "COBROWSE_DATABASE": POSTGRES})
    demo = load_settings(None, env={**fleet, "COBROWSE_DATABASE": POSTGRES})
    assert (demo.redis_url, demo.secret_key, demo.database) == ("redis://r", "k", POSTGRES)


def test_a_redis_url_is_shown_without_its_password() -> None:
    assert shown_redis_url("redis://:s3cret@r:6379/0") == "redis://:***@r:6379/0"
    assert shown_redis_url("rediss://relay:s3cret@r/0") == "rediss://relay:***@r/0"
    assert shown_redis_url("unix:///run/r.sock?db=1&password=s3cret") == (
        "unix:///run/r.sock?db=1&password=***"
    )
    assert shown_redis_url("redis://r:6379/0") == "redis://r:6379/0"
    # and a database URL without a host keeps its form too
    shown = shown_database("postgresql://:pw@/cobrowse?host=/run/postgresql#x")
    assert shown == "postgresql://:***@/cobrowse?host=/run/postgresql#x"


def test_a_fleet_refuses_a_grace_time_shorter_than_a_few_heartbeats(tmp_path: Path) -> None:
    short = FLEET.replace("[server]\n", "[server]\nvisitor_grace_seconds = 2\n")
    with pytest.raises(SettingsError, match="visitor_grace_seconds must be at least 5"):
        load_settings(settings_file(tmp_path, short), env={})
    enough = FLEET.replace("[server]\n", "[server]\nvisitor_grace_seconds = 5\n")
    assert load_settings(settings_file(tmp_path, enough), env={}).visitor_grace_seconds == 5
    one_node = ONE_NODE.replace("[server]\n", "[server]\nvisitor_grace_seconds = 2\n")
    assert load_settings(settings_file(tmp_path, one_node), env={}).visitor_grace_seconds == 2


def test_trusted_proxies_are_a_list_of_addresses(tmp_path: Path) -> None:
    text = FLEET.replace("[server]\n", '[server]\ntrusted_proxies = ["10.0.0.5", "10.0.0.6"]\n')
    settings = load_settings(settings_file(tmp_path, text), env={})
    assert settings.trusted_proxies == ("10.0.0.5", "10.0.0.6")
    assert load_settings(settings_file(tmp_path, FLEET), env={}).trusted_proxies == ()
    wrong = FLEET.replace("[server]\n", '[server]\ntrusted_proxies = "10.0.0.5"\n')
    with pytest.raises(SettingsError, match=r"server\.trusted_proxies must be a list of strings"):
        load_settings(settings_file(tmp_path, wrong), env={})
