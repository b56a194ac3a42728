"""Runs the demo: the simulated Shopify in this process, `shopseg serve` (SQLite, embedded
worker) as a child, the real OAuth install, the history import, then live traffic."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import select

from plugin.backfill import runs
from plugin.backfill.models import DONE, FAILED
from plugin.db import utcnow
from plugin.demo import snapshot
from plugin.demo.cdnow_shop import SHOP, build_shop
from plugin.demo.live import Counters, LiveShop
from plugin.errors import ShopSegError
from plugin.manifest import access_scopes, subscriptions
from plugin.platforms.shopify.simulator import SimulatorHandle, start_simulator
from plugin.platforms.shopify.subscriptions import topic_enum
from plugin.runtime import Runtime, build_runtime
from plugin.segments.services import segment_summaries
from plugin.settings import SECRET_KEY_BYTES, SECRET_KEY_FILE, Settings
from plugin.shops.admin_links import LINK_TTL, issue_admin_link
from plugin.shops.models import Shop
from plugin.tagsync.choice import set_push_tag

# The demo's app credentials. The simulator signs every webhook with this secret and the
# app verifies with it: one documented value, nothing to match by hand (docs/demo.md).
DEMO_API_KEY = "shopseg-demo"
DEMO_API_SECRET = "shopseg-demo-secret-not-for-a-real-shop"
SNAPSHOT = "simulator.pickle"
DEMO_PLAN = "Growth"  # the plan the demo merchant chose (docs/billing.md)
STATE_FILE = "demo.json"
# Checkouts left unfinished this long ago (hours) when the demo shop is first built: past
# the shop's 10-hour abandonment threshold, so abandoned-cart triggers fire in the first
# minute instead of tomorrow.
OLD_CARTS = (10.5, 11, 11.5, 12, 13, 14, 15, 16, 18, 20, 22, 23)
# The built-ins the demo merchant chose to become tags (built-ins start without one).
TAGGED_BUILTINS = ("VIP", "Regular", "RFM: Champions", "RFM: At risk")
SAVE_EVERY = 60.0


class DemoError(ShopSegError):
    status = 500
    code = "demo_failed"


@dataclass(frozen=True)
class DemoOptions:
    directory: Path
    port: int = 8000
    fresh: bool = False
    pace: float = 15.0  # seconds between live events
    ready_timeout: float = 600.0
    live_events: int | None = None  # stop after this many (tests); None: until Ctrl-C
    customers: int | None = None  # CDNOW's first N customers only; None: all 23,570


class Demo:
    """One run of `shopseg demo`; `run()` returns when stopped (Ctrl-C or `stop()`)."""

    def __init__(self, options: DemoOptions, say: Callable[[str], None] = print) -> None:
        self.options = options
        self.say = say
        self.dir = options.directory.resolve()
        self.stopping = threading.Event()
        self.simulator: SimulatorHandle | None = None
        self.app: subprocess.Popen[bytes] | None = None
        self.runtime: Runtime | None = None
        self.counters = Counters()
        self.port = options.port
        self.ready_at: float | None = None

    # --- the run ------------------------------------------------------------------------

    def run(self) -> None:
        started = time.monotonic()
        try:
            first_run = self._prepare()
            self._start_app()
            self._install()
            self._wait_for_import()
            if first_run:
                self._leave_old_carts()
            self._wait_for_tags()
            self.ready_at = time.monotonic() - started
            self._save_state()
            self._print_ready()
            self._live()
        finally:
            self._shut_down()

    def stop(self) -> None:
        self.stopping.set()

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _prepare(self) -> bool:
        """The data directory, the simulator and its shop; True when the shop is new."""
        if self.port == 0:
            self.port = _free_port()
        elif not _port_free(self.port):
            raise DemoError(f"port {self.port} is in use: pass --port N (or --port 0 for any)")
        if self.options.fresh and self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.simulator = start_simulator(
            DEMO_API_KEY,
            DEMO_API_SECRET,
            application_url=self.app_url + "/admin",
            app_scopes=access_scopes(),
            app_webhooks=[
                (topic_enum(sub.topic), self.app_url + sub.route)
                for sub in subscriptions(compliance=False)
            ],
        )
        saved = snapshot.load(self.simulator.state, self.dir / SNAPSHOT)
        if saved is not None:
            self.counters = Counters(**saved["counters"])
            orders = len(self.simulator.state.shop_orders(SHOP))
            self.say(f"Continuing the demo shop in {self.dir} ({orders:,} orders).")
            return False
        self.say("Building the demo shop from the CDNOW history (ends today)…")
        orders = build_shop(self.simulator.state, customers=self.options.customers)
        # The merchant chose a plan their customers fit in (CDNOW's 23,570 < 25,000), so
        # the demo pushes tags; the Plan page shows it and links to the simulator's plans.
        self.simulator.state.choose_plan(SHOP, DEMO_PLAN)
        customers = len(self.simulator.state.customers.by_shop[SHOP])
        self.say(f"  {customers:,} customers, {orders:,} orders, 48 products.")
        return True

    def _settings_env(self) -> dict[str, str]:
        assert self.simulator is not None
        key_file = self.dir / SECRET_KEY_FILE
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(SECRET_KEY_BYTES))
            key_file.chmod(0o600)
        return {
            "SHOPSEG_DATABASE_URL": f"sqlite:///{self.dir / 'demo.db'}",
            "SHOPSEG_SECRET_KEY": key_file.read_text().strip(),
            "SHOPIFY_API_KEY": DEMO_API_KEY,
            "SHOPIFY_API_SECRET": DEMO_API_SECRET,
            "SHOPSEG_APP_URL": self.app_url,
            "SHOPSEG_SHOPIFY_BASE_URL": self.simulator.base_url,
            "SHOPSEG_LOG_LEVEL": "WARNING",
        }

    def _start_app(self) -> None:
        env = self._settings_env()
        # Commands run in the data directory see the demo's database (`.env` there; the
        # secret key sits beside it in .shopseg-secret, as on any embedded install).
        (self.dir / ".env").write_text(
            "".join(f"{k}={v}\n" for k, v in env.items() if k != "SHOPSEG_SECRET_KEY")
        )
        self.runtime = build_runtime(Settings.from_env(env))
        command = [sys.executable, "-m", "plugin.cli", "serve", "--port", str(self.port)]
        self.say(f"Starting the app on {self.app_url} (log: {self.dir / 'app.log'})…")
        with (self.dir / "app.log").open("ab") as log:
            self.app = subprocess.Popen(
                command,
                cwd=self.dir,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us; we stop the app in order
            )
        self._until("the app answers", self._app_answers, timeout=90)

    def _app_answers(self) -> bool:
        assert self.app is not None
        if self.app.poll() is not None:
            raise DemoError(
                f"the app stopped (exit {self.app.returncode}); see {self.dir / 'app.log'}:\n"
                + _tail(self.dir / "app.log")
            )
        try:
            return requests.get(self.app_url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def _install(self) -> None:
        """The merchant's one click: /install → approve at the shop → the app's callback."""
        self.say(f"Installing the app into {SHOP} (OAuth, as a merchant would)…")
        browser = requests.Session()
        answer = browser.get(
            self.app_url + "/install", params={"shop": SHOP}, timeout=60, allow_redirects=True
        )
        if not answer.ok:
            raise DemoError(f"the install answered {answer.status_code}: {answer.text[:300]}")
        shop_id = self._shop_id()  # installed, or a clear error
        assert self.runtime is not None
        with self.runtime.sessions.begin() as session:
            for name in TAGGED_BUILTINS:
                set_push_tag(session, shop_id, name, True, utcnow())

    def _shop_id(self) -> int:
        assert self.runtime is not None
        with self.runtime.sessions() as session:
            shop_id = session.scalar(select(Shop.id).where(Shop.domain == SHOP))
        if shop_id is None:
            raise DemoError(f"{SHOP} is not in the app's database after the install")
        return int(shop_id)

    def _wait_for_import(self) -> None:
        assert self.runtime is not None
        shop_id = self._shop_id()
        shown: tuple[tuple[str, str], ...] = ()
        said_at = time.monotonic()

        def imported() -> bool:
            nonlocal shown, said_at
            with self.runtime.sessions() as session:  # type: ignore[union-attr]
                report = runs.progress(session, shop_id)
            if report is None:
                return False
            if report.state == FAILED:
                raise DemoError(f"the history import failed: {report.error}")
            # A line when a phase moves on, and every 10 s while one is long.
            phases = tuple((p.resource, p.state) for p in report.phases)
            if phases != shown or time.monotonic() - said_at > 10:
                self.say(
                    "  history import: "
                    + ", ".join(f"{p.resource} {p.state} {p.lines_done:,}" for p in report.phases)
                )
                shown, said_at = phases, time.monotonic()
            return report.state == DONE

        self._until("the history import", imported, timeout=self.options.ready_timeout)

    def _leave_old_carts(self) -> None:
        live = self._live_shop()
        now = datetime.now(UTC)
        for hours in OLD_CARTS:
            live.abandoned_cart(now, hours_ago=hours)
        self.say(f"  {len(OLD_CARTS)} checkouts left unfinished 10 to 23 hours ago.")

    def _wait_for_tags(self) -> None:
        """Segments evaluated and their tags at the shop: the state the demo is for."""
        assert self.simulator is not None
        customers = self.simulator.state.customers

        def tagged() -> bool:
            return any(c.tags for c in customers.all(SHOP))

        self._until("segments evaluated and tags pushed to the shop", tagged, timeout=300)

    def _print_ready(self) -> None:
        assert self.runtime is not None and self.simulator is not None
        shop_id = self._shop_id()
        with self.runtime.sessions() as session:
            summaries = segment_summaries(session, shop_id)
        tagged = sum(1 for c in self.simulator.state.customers.all(SHOP) if c.tags)
        busiest = sorted((s for s in summaries if s.size), key=lambda s: -s.size)[:8]
        self.say("")
        self.say(f"Shop Segments demo is ready ({self.ready_at:.0f} s).")
        self.say(f"  Shop: {SHOP}, CDNOW's history ending today.")
        self.say("  Segments: " + ", ".join(f"{s.name} {s.size:,}" for s in busiest))
        self.say(f"  Customers tagged at the shop: {tagged:,}")
        shop_admin = self.simulator.shop_url(SHOP) + "/admin/customers"
        self.say(f"  The shop's customers and tags: {shop_admin}")
        self.say(f"  Admin tab (one-time link, {_minutes(LINK_TTL)} min): {self.admin_link()}")
        self.say("  More in another terminal, from the data directory:")
        self.say(f"    cd {self.dir}")
        for command in ("segments list", "status", "activity", "triggers list", "admin-link"):
            self.say(f"    shopseg {command} {SHOP}")
        self.say("")
        self.say("Live webhooks keep coming (a few a minute). Ctrl-C stops everything;")
        self.say(f"the data stays in {self.dir} (`shopseg demo --fresh` starts over).")
        if sys.stdin.isatty():
            self.say("Press Enter for a new admin link.")
            threading.Thread(target=self._links_on_enter, daemon=True).start()

    def admin_link(self) -> str:
        assert self.runtime is not None
        with self.runtime.sessions.begin() as session:
            token = issue_admin_link(
                session, self._shop_id(), self.runtime.settings.secret_key, utcnow()
            )
        return f"{self.app_url}/admin/login?token={token}"

    def _links_on_enter(self) -> None:
        for _ in sys.stdin:
            if self.stopping.is_set():
                return
            self.say(f"Admin tab: {self.admin_link()}")

    def _live(self) -> None:
        live = self._live_shop()
        sent, saved = 0, time.monotonic()
        while not self.stopping.is_set():
            if self.options.live_events is not None and sent >= self.options.live_events:
                return
            stamp = datetime.now().strftime("%H:%M:%S")
            self.say(f"{stamp} live: {live.step()}")
            sent += 1
            if time.monotonic() - saved > SAVE_EVERY:
                self._save_state()
                saved = time.monotonic()
            self.stopping.wait(self.options.pace)

    def _live_shop(self) -> LiveShop:
        assert self.simulator is not None
        return LiveShop(self.simulator, self.counters)

    def _save_state(self) -> None:
        if self.simulator is None or SHOP not in self.simulator.state.shops:
            return
        self.simulator.wait_for_webhooks(timeout=10)
        extra = {"counters": asdict(self.counters), "saved_at": datetime.now(UTC).isoformat()}
        snapshot.save(self.simulator.state, self.dir / SNAPSHOT, extra)
        (self.dir / STATE_FILE).write_text(
            json.dumps({"shop": SHOP, "app_url": self.app_url, **extra}, indent=2)
        )

    def _shut_down(self) -> None:
        if self.app is not None and self.app.poll() is None:
            self.say("Stopping the app…")
            self.app.send_signal(signal.SIGTERM)
            try:
                self.app.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.app.kill()
                self.app.wait()
        try:
            self._save_state()
        finally:
            if self.runtime is not None:
                self.runtime.close()
            if self.simulator is not None:
                self.simulator.stop()

    def _until(self, what: str, done: Callable[[], bool], *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if self.stopping.is_set():
                raise KeyboardInterrupt
            if time.monotonic() > deadline:
                raise DemoError(f"gave up waiting for {what} after {timeout:.0f} s")
            time.sleep(0.25)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)
