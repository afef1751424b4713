"""Real services started and stopped by the tests and the benchmarks themselves: PostgreSQL
and Redis.

Owns: ``PostgresServer``, Debian's PostgreSQL binaries (``initdb``, ``pg_ctl``) on a throw-away
cluster in a temporary folder, on a free loopback port, as the unprivileged ``postgres`` user
when run as root (PostgreSQL refuses to run as root); ``RedisServer``, a throw-away
``redis-server`` on a free loopback port. Never a mock: the store's SQL and the fleet's Redis
calls run on the servers they will meet in production. ``tests/conftest.py`` holds the tests'
fixtures (``tests/services.py`` re-exports this module); ``bench/fleet.py`` starts its own.
Must not: listen anywhere but loopback, or keep anything after ``destroy()``/``stop()``.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SETUP_HINT = "run `bash scripts/setup` (it installs Debian's postgresql package)"
# scram-sha-256 over TCP: the URL carries a real password (a throw-away loopback server).
PASSWORD = "pg-test-secret-5521"  # noqa: S105
TIMEOUT_S = 60  # each of initdb, start, stop: a stuck server fails the run, never hangs it


def postgres_bin() -> Path:
    """The folder of ``initdb`` and ``pg_ctl``: Debian's newest ``/usr/lib/postgresql/*/bin``,
    else wherever PATH has them. Raises ``LookupError`` naming the fix when there is none."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parent.parent.name.split(".")],
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    raise LookupError(f"PostgreSQL's initdb and pg_ctl are not installed: {SETUP_HINT}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresServer:
    """One throw-away cluster. ``start()``, then ``url`` (a database of its own) and
    ``fresh_url()`` (an empty schema per store); ``restart()``/``stop()``/``start()`` for the
    reconnect tests; ``destroy()`` at the end, always."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.version = (self.bin / "initdb").resolve().parent.parent.name
        self.folder = Path(tempfile.mkdtemp(prefix="cobrowse-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = free_port()
        self.url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/cobrowse_test"
        self._schemas = itertools.count(1)
        self._as: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL will not run as root: its own user owns the folder
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self.folder.chmod(0o700)

    def _run(self, *command: str) -> None:
        try:
            subprocess.run(  # noqa: S603 - PostgreSQL's own tools, our arguments
                [*self._as, *command],
                check=True,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
            )
        except subprocess.CalledProcessError as error:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{command[0]} failed: {error.stderr}{error.stdout}{log}") from None

    def init(self) -> None:
        """A new cluster: trust on the local socket (set-up), scram-sha-256 over TCP (tests)."""
        password_file = self.folder / "password"
        password_file.write_text(PASSWORD + "\n")
        if self._as:
            shutil.chown(password_file, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"),
            "--pgdata",
            str(self.data),
            "--username=postgres",
            f"--pwfile={password_file}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",  # a throw-away cluster: durability is not under test
        )
        password_file.unlink()
        self.start()
        self._sql("postgres", "CREATE DATABASE cobrowse_test")

    def start(self) -> None:
        # listen on loopback only, the socket in our folder (not /var/run/postgresql), no fsync.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "start",
            "--pgdata",
            str(self.data),
            f"--log={self.log}",
            "--wait",
            f"--timeout={TIMEOUT_S}",
            f"--options={options}",
        )

    def stop(self) -> None:
        self._run(
            str(self.bin / "pg_ctl"),
            "stop",
            "--pgdata",
            str(self.data),
            "--mode=fast",  # ends open connections: what a restarted server does to a relay
            "--wait",
            f"--timeout={TIMEOUT_S}",
        )

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        """Stop the server if it runs and remove its folder."""
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop()
            except (RuntimeError, subprocess.TimeoutExpired):
                self._run(str(self.bin / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def fresh_url(self) -> str:
        """A URL whose tables go to a new, empty schema (``search_path``): one per store, so
        tests never see each other's conversations, in milliseconds (a database takes longer)."""
        schema = f"t{next(self._schemas)}"
        self._sql("cobrowse_test", f"CREATE SCHEMA {schema}")
        return f"{self.url}?options=-csearch_path%3D{schema}"

    def _sql(self, database: str, statement: str) -> None:
        import psycopg

        local = f"host={self.folder} port={self.port} user=postgres dbname={database}"
        with psycopg.connect(local, autocommit=True) as connection:
            connection.execute(statement.encode())


class RedisServer:
    """A throw-away ``redis-server`` (Debian's package) on a free loopback port, nothing
    written to disk. ``start()``, ``url``, ``stop()`` (and ``start()`` again: the outage tests)."""

    def __init__(self) -> None:
        found = shutil.which("redis-server")
        if found is None:
            raise LookupError(
                "redis-server is not installed: run `bash scripts/setup` (it installs Debian's"
                " redis-server package)"
            )
        self.binary = found
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - Debian's redis-server, our arguments
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--protected-mode", "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        """The server's process id (after ``start()``): the benchmarks read its CPU time."""
        assert self._process is not None, "start() the server first"
        return self._process.pid

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=TIMEOUT_S)
        self._process = None
