"""A WSGI app on a real 127.0.0.1 port (werkzeug in a thread, or gunicorn processes), and
timed posts to it from client threads in child processes."""

from __future__ import annotations

import hmac
import http.client
import json
import logging
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import psutil
import requests
from werkzeug.serving import make_server

from benchmarks.cdnow import SignedDelivery
from benchmarks.errors import BenchmarkError
from plugin.platforms.shopify.webhook_signature import webhook_hmac

REQUEST_TIMEOUT_SECONDS = 30
SHUTDOWN_TIMEOUT_SECONDS = 10
STARTUP_TIMEOUT_SECONDS = 60
SECRET_ENV = "SHOPSEG_BENCH_WEBHOOK_SECRET"  # the secret `hmac_floor` verifies with
PROJECT = Path(__file__).resolve().parent.parent


@contextmanager
def quiet(logger_name: str, level: int = logging.ERROR) -> Iterator[None]:
    """Raise a logger's level for a while (restored afterwards)."""
    logger = logging.getLogger(logger_name)
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve `app` in a werkzeug threaded server (the one `shopseg serve` runs); yields
    its base URL and stops it, bounded in time, on exit."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    # werkzeug's line per request is not what is measured, and would flood the output.
    with quiet("werkzeug", logging.WARNING):
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=SHUTDOWN_TIMEOUT_SECONDS)


def http_floor(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Read the body and answer 200 with a small JSON body: the cost of HTTP alone."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    environ["wsgi.input"].read(length)
    body = b'{"status":"ok"}\n'
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response("200 OK", headers)
    return [body]


def hmac_floor(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """What any receiver must do and nothing more: read the body, verify its Shopify HMAC in
    constant time, answer 200 (401 if it does not match). No framework, no database."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    expected = webhook_hmac(os.environ.get(SECRET_ENV, ""), body).encode()
    given = environ.get("HTTP_X_SHOPIFY_HMAC_SHA256", "").encode()
    ok = hmac.compare_digest(expected, given)
    answer = b'{"status":"ok"}\n' if ok else b'{"error":"unauthorized"}\n'
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))]
    start_response("200 OK" if ok else "401 Unauthorized", headers)
    return [answer]


@dataclass(frozen=True)
class GunicornServer:
    """A running gunicorn: its URL and master process (the web processes are its children)."""

    url: str
    master: psutil.Process

    def cpu_seconds(self) -> float:
        """User + system CPU the web processes have used so far (the master only watches)."""
        total = 0.0
        for child in self.master.children():
            try:
                times = child.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total


@contextmanager
def gunicorn(
    app: str, env: Mapping[str, str], workers: int, threads: int, log: Path
) -> Iterator[GunicornServer]:
    """`gunicorn -k gthread -w workers --threads threads app` (a `module:attribute` spec) in
    its own process, on a socket bound here and handed over (no port race); yields once it
    answers, stops it with SIGTERM on exit. Its output goes to `log`."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
    port = listener.getsockname()[1]
    fd = listener.fileno()
    os.set_inheritable(fd, True)
    command = [
        sys.executable, "-m", "gunicorn", "--bind", f"fd://{fd}", "--worker-class", "gthread",
        "--workers", str(workers), "--threads", str(threads), "--no-control-socket",
        "--log-level", "warning", app,
    ]  # fmt: skip
    environment = {**os.environ, **env, "PYTHONPATH": str(PROJECT)}
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, pass_fds=(fd,), env=environment, cwd=log.parent, stdout=out, stderr=out
        )
    listener.close()
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_answering(url, process, log)
        yield GunicornServer(url, psutil.Process(process.pid))
    finally:
        _stop(process)


def _wait_until_answering(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    parts = urlsplit(url)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise BenchmarkError(f"gunicorn exited with {process.returncode}: {tail}")
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            conn.close()
    raise BenchmarkError(f"gunicorn did not answer within {STARTUP_TIMEOUT_SECONDS} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS * 3)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class LoadResult:
    """One timed load: wall time, every request's latency, and outcomes by status."""

    seconds: float
    latencies: list[float]
    outcomes: Counter[str]
    client_cpu: float = 0.0  # user + system seconds of the client processes

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile_ms(self, p: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return cuts[p - 1] * 1000


@dataclass(frozen=True)
class _Part:
    """What one client process measured (`time.monotonic` instants, shared by processes)."""

    ended: float
    latencies: list[float]
    outcomes: Counter[str]
    cpu: float


class Client:
    """Client threads in child processes, so the client's own CPU time does not compete
    with the server for one interpreter lock; the processes are terminated on exit.

    `threads` keep-alive connections in each of `processes`; `lean` posts with
    `http.client` instead of `requests` (a third of the client CPU per request, which on a
    small machine is CPU taken from the server)."""

    def __init__(self, threads: int, processes: int = 1, lean: bool = False) -> None:
        self.threads = threads
        self.processes = processes
        self.lean = lean
        self._pool: Any = None

    @property
    def connections(self) -> int:
        return self.threads * self.processes

    def __enter__(self) -> Client:
        self._pool = multiprocessing.get_context("spawn").Pool(self.processes)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pool.terminate()
        self._pool.join()

    def post_all(self, url: str, deliveries: list[SignedDelivery], timeout: float) -> LoadResult:
        """Post every delivery once; all processes start at one instant, the load ends
        when the last one is done."""
        start_at = time.monotonic() + 0.2  # every process is waiting by then
        n = self.processes
        jobs = [
            self._pool.apply_async(
                _post_part, (url, deliveries[i::n], self.threads, self.lean, start_at)
            )
            for i in range(n)
        ]
        try:
            parts: list[_Part] = [job.get(timeout=timeout) for job in jobs]
        except multiprocessing.TimeoutError:
            raise BenchmarkError(f"posting to {url} took over {timeout:.0f} s") from None
        return LoadResult(
            max(p.ended for p in parts) - start_at,
            [x for p in parts for x in p.latencies],
            sum((p.outcomes for p in parts), Counter()),
            sum(p.cpu for p in parts),
        )


def _post_part(
    url: str, deliveries: list[SignedDelivery], threads: int, lean: bool, start_at: float
) -> _Part:
    """One client process: post its deliveries, split over `threads` keep-alive connections."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    outcomes: list[Counter[str]] = [Counter() for _ in range(threads)]
    post = _post_chunk_lean if lean else _post_chunk
    workers = [
        threading.Thread(target=post, args=(url, deliveries[i::threads], latencies[i], outcomes[i]))
        for i in range(threads)
    ]
    time.sleep(max(0.0, start_at - time.monotonic()))
    cpu_before = _cpu()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    ended, cpu = time.monotonic(), _cpu() - cpu_before
    return _Part(ended, [x for part in latencies for x in part], sum(outcomes, Counter()), cpu)


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def _post_chunk(
    url: str, chunk: Iterable[SignedDelivery], latencies: list[float], outcomes: Counter[str]
) -> None:
    with requests.Session() as http:
        for delivery in chunk:
            started = time.perf_counter()
            outcome = _post(http, url, delivery)
            latencies.append(time.perf_counter() - started)
            outcomes[outcome] += 1


def _post(http: requests.Session, url: str, delivery: SignedDelivery) -> str:
    """`"<status code> <status field of the JSON answer>"`, or the exception's name."""
    try:
        response = http.post(
            url, data=delivery.body, headers=delivery.headers, timeout=REQUEST_TIMEOUT_SECONDS
        )
        status = response.json().get("status") if response.content else None
    except (requests.RequestException, ValueError) as exc:
        return f"error {type(exc).__name__}"
    return f"{response.status_code} {status}"


def _post_chunk_lean(
    url: str, chunk: Iterable[SignedDelivery], latencies: list[float], outcomes: Counter[str]
) -> None:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(
        parts.hostname or "", parts.port, timeout=REQUEST_TIMEOUT_SECONDS
    )
    try:
        for delivery in chunk:
            started = time.perf_counter()
            outcome = _post_lean(conn, parts.path, delivery)
            latencies.append(time.perf_counter() - started)
            outcomes[outcome] += 1
    finally:
        conn.close()


def _post_lean(conn: http.client.HTTPConnection, path: str, delivery: SignedDelivery) -> str:
    """As `_post`, on one `http.client` connection (reopened after an error)."""
    try:
        conn.request("POST", path, body=delivery.body, headers=delivery.headers)
        response = conn.getresponse()
        content = response.read()
        status = json.loads(content).get("status") if content else None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        conn.close()
        return f"error {type(exc).__name__}"
    return f"{response.status} {status}"
