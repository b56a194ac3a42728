"""`shopseg serve` as a real process: self-migrating SQLite with the worker built in,
PostgreSQL refusing an unmigrated database and running a worker only when asked."""

from __future__ import annotations

import os
import pty
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
import requests
from sqlalchemy import select

from plugin.db import make_engine
from plugin.inbox.models import IGNORED, PENDING, InboxRow
from plugin.shops.models import INSTALLED, Shop
from tests.conftest import fresh_postgres_database
from tests.support.live import shopify_headers

SHOPSEG = str(Path(sys.executable).parent / "shopseg")
SECRET = "serve-test-secret"
SHOP = "demo-shop.myshopify.com"


class Served:
    def __init__(self, proc: subprocess.Popen[str], stream: IO[str] | None = None) -> None:
        self.proc = proc
        self.stream: IO[str] = stream or proc.stdout  # type: ignore[assignment]
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def _pump(self) -> None:
        try:
            for line in self.stream:
                self.lines.put(line)
        except OSError:  # a terminal's end reads as EIO once the process is gone
            pass

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.output.append(line)
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no {pattern!r} in output:\n{''.join(self.output)}")


def env_for(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPSEG_", "SHOPIFY_"))}
    env.update(
        SHOPSEG_DATABASE_URL=database_url,
        SHOPIFY_API_SECRET=SECRET,
        SHOPSEG_WORKER_POLL_SECONDS="0.1",
        PYTHONUNBUFFERED="1",
    )
    return env


@contextmanager
def serve(env: dict[str, str], cwd: Path, *args: str) -> Iterator[tuple[Served, str]]:
    proc = subprocess.Popen(
        [SHOPSEG, "serve", "--port", "0", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = Served(proc)
    try:
        url = served.wait_for(r"Serving on (http://\S+)").group(1)
        yield served, url
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def add_installed_shop(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(Shop.__table__.insert().values(domain=SHOP, install_state=INSTALLED))
    engine.dispose()


def post_unsubscribed_topic(url: str) -> None:
    body = b'{"id": 1}'
    headers = shopify_headers("carts/create", SHOP, body, SECRET)
    assert requests.post(url + "/webhooks/shopify", data=body, headers=headers).status_code == 200


def statuses(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        found = list(conn.scalars(select(InboxRow.status)))
    engine.dispose()
    return found


def wait_for_status(database_url: str, wanted: str, timeout: float = 15) -> list[str]:
    deadline = time.monotonic() + timeout
    while (found := statuses(database_url)) != [wanted] and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    with fresh_postgres_database("shopseg_serve") as url:
        yield url


def test_serve_on_sqlite_migrates_itself_and_processes_webhooks(tmp_path: Path) -> None:
    url_db = f"sqlite:///{tmp_path / 'shopseg.db'}"
    with serve(env_for(url_db, tmp_path), tmp_path) as (served, url):
        assert "with the worker" in served.output[-1]
        assert (tmp_path / ".shopseg-secret").exists()  # generated for the embedded default
        add_installed_shop(url_db)
        post_unsubscribed_topic(url)
        assert wait_for_status(url_db, IGNORED) == [IGNORED]  # the embedded worker ran
    served.wait_for("Stopped")


def test_serve_refuses_an_unmigrated_postgresql_database(fresh_pg_url: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [SHOPSEG, "serve", "--port", "0"],
        env=env_for(fresh_pg_url, tmp_path) | {"SHOPSEG_SECRET_KEY": "k" * 40},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "shopseg migrate" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_on_postgresql_runs_the_worker_only_when_asked(
    fresh_pg_url: str, tmp_path: Path
) -> None:
    env = env_for(fresh_pg_url, tmp_path) | {"SHOPSEG_SECRET_KEY": "k" * 40}
    subprocess.run([SHOPSEG, "migrate"], env=env, cwd=tmp_path, check=True, capture_output=True)
    add_installed_shop(fresh_pg_url)
    with serve(env, tmp_path) as (served, url):
        assert "no worker" in served.output[-1]
        post_unsubscribed_topic(url)
        time.sleep(0.5)
        assert statuses(fresh_pg_url) == [PENDING]
    with serve(env, tmp_path, "--with-worker") as (served, url):
        assert "with the worker" in served.output[-1]
        assert wait_for_status(fresh_pg_url, IGNORED) == [IGNORED]


def test_wsgi_entry_point_refuses_an_unmigrated_database_then_serves(tmp_path: Path) -> None:
    env = env_for(f"sqlite:///{tmp_path / 'w.db'}", tmp_path)
    probe = [sys.executable, "-c", "import plugin.wsgi as w; print(type(w.app).__name__)"]
    refused = subprocess.run(probe, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert refused.returncode != 0 and "shopseg migrate" in refused.stderr
    subprocess.run([SHOPSEG, "migrate"], env=env, cwd=tmp_path, check=True, capture_output=True)
    served = subprocess.run(probe, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert served.stdout.strip() == "Flask", served.stderr


def test_worker_command_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    env = env_for(f"sqlite:///{tmp_path / 'w.db'}", tmp_path)
    proc = subprocess.Popen(
        [SHOPSEG, "worker"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True
    )
    served = Served(proc)
    try:
        served.wait_for("Worker running")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_serve_runs_gunicorn_and_its_request_log_hides_credentials(tmp_path: Path) -> None:
    """On a terminal too: the request log is plain text, the query's credentials redacted."""
    url_db = f"sqlite:///{tmp_path / 'shopseg.db'}"
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [SHOPSEG, "serve", "--port", "0"],
        env=env_for(url_db, tmp_path),
        cwd=tmp_path,
        stdout=follower,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    served = Served(proc, os.fdopen(leader, "r", errors="replace"))
    try:
        url = served.wait_for(r"Serving on (http://\S+)").group(1).strip()
        credentials = {
            "id_token": "eyJhbGciOiJIUzI1NiJ9.eyJkZXN0IjoieCJ9.c2lnbmF0dXJl",
            "code": "oauth-code-4f2a9",
            "hmac": "0a1b2c3d4e5f60718293",
            "state": "state-nonce-77",
            "session": "session-id-55",
        }
        response = requests.get(url + "/healthz", params={"shop": SHOP, **credentials})
        assert response.status_code == 200
        assert response.headers["Server"].startswith("gunicorn")  # not Werkzeug's dev server
        line = served.wait_for(r"GET /healthz").string
        assert "id_token=[redacted]" in line and f"shop={SHOP}" in line
        for value in credentials.values():
            assert value not in line
        proc.send_signal(signal.SIGTERM)
        served.wait_for("Stopped")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        served.pump.join(timeout=5)
        served.stream.close()
    assert not any("\x1b[" in line for line in served.output), "colour codes in the log"
