"""Real database servers on loopback for the database sources' tests: PostgreSQL and MariaDB,
each from the system's own programs (Debian's `postgresql` and `mariadb-server`, which .ci/run
installs), in a temporary data directory, on a free port of 127.0.0.1, and never as root.

A test asks for the session's `postgres_server` or `mariadb_server` (tests/conftest.py), makes a
database of its own with `create_database`, fills it as the administrator with `sql`, and reads
it as a role that may only read (`readonly_user`), through the URL `url` gives:

    db = postgres_server.create_database("odoo_aging")
    db.sql("CREATE TABLE account_move (id int, name text); INSERT INTO account_move VALUES (1, 'INV/1')")
    user, password = db.readonly_user()
    url = db.url(user)                    # postgresql://odoo_aging_reader@127.0.0.1:PORT/odoo_aging
    # arflow.yaml: invoices: {database: URL, table: account_move, password_env: ARFLOW_TEST_DB}
    monkeypatch.setenv("ARFLOW_TEST_DB", password)

The administrator's SQL goes through the server's own client program (`psql`, `mariadb`), so
the servers need no Python driver; arflow's drivers (psycopg, PyMySQL) connect through `url`. Each
session starts a server once, when a test first asks for it (about a second each here), and
stops it and deletes its folder at the session's end, failed tests or not.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

START_SECONDS = 60  # the deadline of a server's start, initdb or install-db included
SQL_SECONDS = 60  # the deadline of one administrator's script


def _postgres_bin() -> Path | None:
    """The newest PostgreSQL under /usr/lib/postgresql/*/bin (Debian's layout), else the folder
    of an `initdb` on PATH."""
    found = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda folder: [int(n) for n in re.findall(r"\d+", folder.parent.name)],
    )
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _program(*names: str) -> str | None:
    for name in names:
        path = shutil.which(name) or next(
            (f"{d}/{name}" for d in ("/usr/sbin", "/usr/bin") if os.path.exists(f"{d}/{name}")),
            None,
        )
        if path:
            return path
    return None


POSTGRES_BIN = _postgres_bin()
MARIADBD = _program("mariadbd", "mysqld")
MARIADB_INSTALL_DB = _program("mariadb-install-db", "mysql_install_db")
MARIADB_CLIENT = _program("mariadb", "mysql")


def postgres_missing() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None."""
    if POSTGRES_BIN is None or not (POSTGRES_BIN / "postgres").exists():
        return "PostgreSQL is not installed: apt-get install postgresql"
    if not (POSTGRES_BIN / "psql").exists() and shutil.which("psql") is None:
        return "PostgreSQL's client psql is not installed: apt-get install postgresql-client"
    return None


def mariadb_missing() -> str | None:
    """Why the MariaDB tests cannot run here, or None."""
    if MARIADBD is None or MARIADB_INSTALL_DB is None:
        return "MariaDB is not installed: apt-get install mariadb-server"
    if MARIADB_CLIENT is None:
        return "MariaDB's client mariadb is not installed: apt-get install mariadb-client"
    return None


class ServerError(RuntimeError):
    """A server that did not start, or an administrator's script that failed: the message
    carries the program's own words (and the server's log where it has one)."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _account() -> tuple[int, int]:
    """Who the server runs as: this user, or `nobody` when this is root (PostgreSQL refuses
    to run as root, and MariaDB asks for --user=root to do so)."""
    if os.getuid():
        return os.getuid(), os.getgid()
    nobody = pwd.getpwnam("nobody")
    return nobody.pw_uid, nobody.pw_gid


def _reachable_temp() -> str:
    """The temporary folder, or /tmp where another account cannot pass through it (a
    TMPDIR under /root, say) and the server runs as `nobody`."""
    folder = Path(tempfile.gettempdir()).resolve()
    if not os.getuid() and any(not p.stat().st_mode & 0o001 for p in (folder, *folder.parents)):
        return "/tmp"
    return str(folder)


def _quote_identifier(name: str, quote: str) -> str:
    return quote + name.replace(quote, quote * 2) + quote


@dataclass(frozen=True)
class Database:
    """One database of a test server: SQL as the administrator, a read-only role, its URL."""

    server: DatabaseServer
    name: str

    def sql(self, script: str) -> list[tuple[str, ...]]:
        """Run `script` (one or more statements) as the administrator; the rows of its last
        statement, each value as text as the client prints it (NULL as `NULL`)."""
        return self.server.sql(script, database=self.name)

    def readonly_user(
        self, user: str | None = None, password: str | None = None
    ) -> tuple[str, str]:
        return self.server.readonly_user(self.name, user, password)

    def url(self, user: str | None = None, password: str | None = None) -> str:
        return self.server.url(self.name, user, password)


class DatabaseServer:
    """What both servers share: a folder of their own, a port, a process, and its end."""

    scheme = ""
    ADMIN = "admin"
    ADMIN_PASSWORD = "admin-pw"

    def __init__(self, prefix: str) -> None:
        self.uid, self.gid = _account()
        # its own folder, which the server's account (`nobody` under root) can reach: pytest's
        # tmp_path sits in a folder only its owner may enter
        self.root = Path(tempfile.mkdtemp(prefix=prefix, dir=_reachable_temp()))
        self.root.chmod(0o755)
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.started_in = 0.0  # seconds, initialisation included
        self.log_path = self.root / "server.log"

    def _folder(self, name: str) -> Path:
        folder = self.root / name
        folder.mkdir(mode=0o700)
        os.chown(folder, self.uid, self.gid)
        return folder

    def _as_server_account(self) -> dict:
        """subprocess arguments that run a program as the server's account."""
        if os.getuid():
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": [], "cwd": self.root}

    def _run(self, command: list[str], what: str) -> None:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=START_SECONDS,
            check=False,
            **self._as_server_account(),
        )
        if done.returncode:
            raise ServerError(f"{what} failed ({done.returncode}): {done.stderr or done.stdout}")

    def _boot(self) -> None:
        """Initialise, start and wait for the server; a port another program took between
        `_free_port` and the server's start is given up for another (three tries)."""
        begun = time.monotonic()
        try:
            self._initialise()
            for attempt in range(3):
                logged = len(self.log())
                self.process = self._launch()
                try:
                    self._wait_until_ready(begun)
                    break
                except ServerError:
                    if attempt == 2 or "already in use" not in self.log()[logged:]:
                        raise
                    self.process.wait(10)
                    self.port = _free_port()
            self._started()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - begun

    def _initialise(self) -> None:
        """Make the data directory."""
        raise NotImplementedError

    def _launch(self) -> subprocess.Popen[bytes]:
        """Start the server on self.port."""
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _started(self) -> None:
        """What follows a start (MariaDB: its administrator)."""

    def _wait_until_ready(self, begun: float) -> None:
        deadline = begun + START_SECONDS
        while not self._ready():
            if self.process is not None and self.process.poll() is not None:
                raise ServerError(
                    f"{type(self).__name__} stopped at its start: {self.log()[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise ServerError(
                    f"{type(self).__name__} not ready in {START_SECONDS} s: {self.log()[-4000:]}"
                )
            time.sleep(0.05)

    def log(self) -> str:
        """The server's whole log (its error log for MariaDB), as far as it has written it."""
        path = self.log_path
        return path.read_text(errors="replace") if path.exists() else ""

    def literal(self, text: str) -> str:
        """`text` as an SQL string literal of this server."""
        return "'" + text.replace("'", "''") + "'"

    def url(self, database: str, user: str | None = None, password: str | None = None) -> str:
        """`scheme://user[:password]@127.0.0.1:PORT/database`, user and password quoted, the
        administrator when no user is given. arflow.yaml's address holds no password (arflow
        refuses one): give it there through password_env:, and here only for a driver."""
        login = urllib.parse.quote(user or self.ADMIN, safe="")
        if password is not None:
            login += ":" + urllib.parse.quote(password, safe="")
        return f"{self.scheme}://{login}@127.0.0.1:{self.port}/{urllib.parse.quote(database)}"

    def create_database(self, name: str) -> Database:
        """A new empty database `name` (one of that name before is dropped first)."""
        raise NotImplementedError

    def sql(
        self, script: str, *, database: str, login: tuple[str, str] | None = None
    ) -> list[tuple[str, ...]]:
        raise NotImplementedError

    def readonly_user(
        self, database: str, user: str | None = None, password: str | None = None
    ) -> tuple[str, str]:
        raise NotImplementedError

    def _client(
        self, command: list[str], script: str, env: dict[str, str]
    ) -> list[tuple[str, ...]]:
        done = subprocess.run(
            command,
            input=script,
            capture_output=True,
            text=True,
            timeout=SQL_SECONDS,
            check=False,
            env={**os.environ, **env},
        )
        if done.returncode:
            # the client's ERROR lines (mariadb echoes the statement around them)
            errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
            raise ServerError("\n".join(errors) or done.stderr.strip() or f"exit {done.returncode}")
        return [tuple(line.split("\t")) for line in done.stdout.splitlines()]

    def stop(self) -> None:
        """Stop the server (a fast shutdown, then a kill after 20 s) and delete its folder."""
        try:
            if self.process is not None and self.process.poll() is None:
                self.process.send_signal(self.stop_signal)
                try:
                    self.process.wait(20)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(10)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    stop_signal = signal.SIGTERM


class PostgresServer(DatabaseServer):
    """PostgreSQL from `initdb` in a new data directory, `postgres` listening on 127.0.0.1 and a
    socket in its own folder; the administrator (a superuser) logs in with a password over TCP
    and without one on the socket."""

    scheme = "postgresql"
    stop_signal = signal.SIGINT  # PostgreSQL's fast shutdown

    def __init__(self) -> None:
        missing = postgres_missing()
        if missing:
            raise ServerError(missing)
        super().__init__("arflow-postgres-")
        assert POSTGRES_BIN is not None
        self.bin = POSTGRES_BIN
        self.psql = str(self.bin / "psql") if (self.bin / "psql").exists() else "psql"
        self._boot()

    def _initialise(self) -> None:
        self.data, self.sockets = self._folder("data"), self._folder("run")
        secret = self.root / "admin.pw"
        secret.write_text(self.ADMIN_PASSWORD + "\n")
        os.chown(secret, self.uid, self.gid)
        self._run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", self.ADMIN, f"--pwfile={secret}",
             "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8",
             "--locale=C", "--no-sync"],
            "initdb",
        )  # fmt: skip

    def _launch(self) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.sockets}",
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                stdout=log,
                stderr=subprocess.STDOUT,
                **self._as_server_account(),
            )  # fmt: skip

    def _ready(self) -> bool:
        done = subprocess.run(
            [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
            check=False,
            timeout=10,
        )
        return done.returncode == 0

    def sql(
        self, script: str, *, database: str = "postgres", login: tuple[str, str] | None = None
    ) -> list[tuple[str, ...]]:
        """`script` through psql, stopping at the first error: as the administrator on the
        socket, or as `login` (user, password) over TCP."""
        host, user, env = str(self.sockets), self.ADMIN, {}
        if login is not None:
            host, (user, env["PGPASSWORD"]) = "127.0.0.1", login
        command = [self.psql, "-X", "-q", "-A", "-t", "-F", "\t", "-P", "null=NULL", "-v", "ON_ERROR_STOP=1",
                   "-h", host, "-p", str(self.port), "-U", user, "-d", database]  # fmt: skip
        env |= {"PGCONNECT_TIMEOUT": "10", "PGCLIENTENCODING": "UTF8", "LC_MESSAGES": "C"}
        return self._client(command, script, env)

    def create_database(self, name: str) -> Database:
        quoted = _quote_identifier(name, '"')
        # only the roles given CONNECT may connect, and nobody but the administrator creates
        self.sql(f"""\
DROP DATABASE IF EXISTS {quoted} WITH (FORCE);
CREATE DATABASE {quoted};
REVOKE ALL ON DATABASE {quoted} FROM PUBLIC;""")
        # (PostgreSQL 15 grants no CREATE on public to PUBLIC any more; 14 and older did)
        self.sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC", database=name)
        return Database(self, name)

    def readonly_user(
        self, database: str, user: str | None = None, password: str | None = None
    ) -> tuple[str, str]:
        """A role that may connect to `database` and SELECT from every table of its schema
        public, those made later included, and nothing else; its sessions are read-only
        unless it asks otherwise (default_transaction_read_only)."""
        user = user or f"{database}_reader"
        password = password or "ro-" + secrets.token_hex(8)
        role, db = _quote_identifier(user, '"'), _quote_identifier(database, '"')
        exists = self.sql(f"SELECT 1 FROM pg_roles WHERE rolname = {self.literal(user)}")
        self.sql(f"""\
{"ALTER" if exists else "CREATE"} ROLE {role} LOGIN PASSWORD {self.literal(password)};
ALTER ROLE {role} SET default_transaction_read_only = on;
GRANT CONNECT ON DATABASE {db} TO {role};""")
        self.sql(
            f"""\
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role};""",
            database=database,
        )
        return user, password


class MariadbServer(DatabaseServer):
    """MariaDB from `mariadb-install-db` in a new data directory, `mariadbd` listening on
    127.0.0.1 and a socket in its own folder, none of the system's option files read; the
    administrator logs in with a password, on TCP or the socket."""

    scheme = "mysql"

    def literal(self, text: str) -> str:
        """`text` as a MariaDB string literal (where a backslash escapes)."""
        return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"

    def __init__(self) -> None:
        missing = mariadb_missing()
        if missing:
            raise ServerError(missing)
        super().__init__("arflow-mariadb-")
        self._boot()

    def _initialise(self) -> None:
        self.data, self.sockets, self.temp = (self._folder(n) for n in ("data", "run", "tmp"))
        self.socket = self.sockets / "mysqld.sock"
        self.log_path = self.sockets / "server.log"  # where the server's account may write
        assert MARIADB_INSTALL_DB is not None
        self._run(
            [MARIADB_INSTALL_DB, "--no-defaults", f"--datadir={self.data}", "--skip-test-db",
             "--auth-root-authentication-method=normal", f"--tmpdir={self.temp}"],
            "mariadb-install-db",
        )  # fmt: skip

    def _launch(self) -> subprocess.Popen[bytes]:
        data, sockets, temp = self.data, self.sockets, self.temp
        assert MARIADBD is not None
        return subprocess.Popen(
            [MARIADBD, "--no-defaults", f"--datadir={data}", f"--socket={self.socket}",
             f"--port={self.port}", "--bind-address=127.0.0.1", f"--tmpdir={temp}",
             f"--pid-file={sockets}/mysqld.pid", f"--log-error={self.log_path}",
             "--skip-name-resolve", "--innodb-buffer-pool-size=32M", "--innodb-flush-log-at-trx-commit=0",
             "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **self._as_server_account(),
        )  # fmt: skip

    def _started(self) -> None:
        # the administrator: root on the socket made it, with a password, from anywhere
        admin = self.literal(self.ADMIN)
        self.sql(
            f"CREATE USER {admin}@'%' IDENTIFIED BY {self.literal(self.ADMIN_PASSWORD)};"
            f"GRANT ALL ON *.* TO {admin}@'%' WITH GRANT OPTION;",
            database="mysql",
            login=("root", ""),
        )

    def _ready(self) -> bool:
        try:
            self.sql("SELECT 1", database="mysql", login=("root", ""))
        except ServerError:
            return False
        return True

    def sql(
        self, script: str, *, database: str = "mysql", login: tuple[str, str] | None = None
    ) -> list[tuple[str, ...]]:
        """`script` through the mariadb client, stopping at the first error: as the
        administrator over TCP, as `login` (user, password) over TCP, or as root (no
        password) on the socket."""
        user, password = login or (self.ADMIN, self.ADMIN_PASSWORD)
        where = (
            ["--socket", str(self.socket)]
            if user == "root"
            else ["--protocol=TCP", "-h", "127.0.0.1", "-P", str(self.port)]
        )
        command = [MARIADB_CLIENT or "mariadb", "--no-defaults", "-B", "-N", "-u", user,
                   "--default-character-set=utf8mb4",
                   "--connect-timeout=10", *where, database]  # fmt: skip
        return self._client(command, script, {"MYSQL_PWD": password})

    def create_database(self, name: str) -> Database:
        quoted = _quote_identifier(name, "`")
        self.sql(f"DROP DATABASE IF EXISTS {quoted}; CREATE DATABASE {quoted}")
        return Database(self, name)

    def readonly_user(
        self, database: str, user: str | None = None, password: str | None = None
    ) -> tuple[str, str]:
        """A user that may SELECT from every table of `database` (those made later included)
        and nothing else."""
        user = user or f"{database}_reader"
        password = password or "ro-" + secrets.token_hex(8)
        account = f"{self.literal(user)}@'%'"
        self.sql(f"""\
DROP USER IF EXISTS {account};
CREATE USER {account} IDENTIFIED BY {self.literal(password)};
GRANT SELECT ON {_quote_identifier(database, "`")}.* TO {account};""")
        return user, password
