"""A throwaway PostgreSQL server for tests: `initdb` into a temporary directory, started on a free port.

The server binaries come from the system (Debian's `postgresql` package; `.ci/run` installs it).
Run as root, the cluster belongs to the `postgres` user, as PostgreSQL refuses to run as root.

    with TemporaryPostgres() as server:
        PostgresCache(host=server.host, port=server.port, username=server.user, password=server.password, ...)
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any, List, Optional


def find_bindir() -> Optional[Path]:
    """The directory holding `initdb` and `pg_ctl`, or None when PostgreSQL is not installed."""
    candidates = [shutil.which("initdb")] + sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    for candidate in candidates:
        if candidate and Path(candidate).resolve().with_name("pg_ctl").exists():
            return Path(candidate).resolve().parent
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TemporaryPostgres:
    """A PostgreSQL cluster in a temporary directory, listening on 127.0.0.1 only; removed on exit."""

    user = "postgres"
    password = "warehouse-test"
    database = "postgres"
    host = "127.0.0.1"

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="source-exports-pg-"))
        self.data = self.root / "data"

    def _run(self, *command: str) -> None:
        as_owner: List[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_owner, *command], check=True, capture_output=True, text=True, timeout=120)

    def __enter__(self) -> TemporaryPostgres:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        password_file = self.root / "password"
        password_file.write_text(self.password)
        if os.geteuid() == 0:
            shutil.chown(password_file, "postgres")
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "-A",
            "scram-sha-256",
            f"--pwfile={password_file}",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = f"-c listen_addresses={self.host} -p {self.port} -k {self.root} -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
