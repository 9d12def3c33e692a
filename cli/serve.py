"""`closeout serve`: closeout running by itself.

Each location is read and posted once its day has closed (closeout.schedule); Toast's
`order_updated` webhooks land in the spool within Toast's 2 s and are applied, debounced, so a
late void, tip or refund reaches the ledger as an adjustment within minutes; a nightly
reconciliation reads every location whatever the webhooks said. The finance page and
`/status.json` show what happened and what is next.

Threads: uvicorn serves the page and the webhook endpoint (one listener, or two when the
endpoint is exposed alone); the main thread runs the cycles, because dbt and dlt expect it.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import signal
import socket
import threading
import time as clock_time
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import click

from cli.options import erp_option
from cli.serve_cycle import CycleRecord, Work, run_cycle
from closeout import warehouse
from closeout.schedule import CLOCK_SETTING, Retries, Schedule, ServeClock, location_clocks
from closeout.webhook_endpoint import WEBHOOK_PATH, webhook_routes, webhook_secrets
from closeout.webhook_spool import Spool

log = logging.getLogger("closeout.serve")

# How often the cycle loop looks at the spool and the schedule (a query each; cheap).
LOOK_SECONDS = 1.0
# Events keep arriving while a group edits orders: applied once none came for the debounce,
# and at the latest this long after the oldest waiting one.
LONGEST_EVENT_WAIT = timedelta(minutes=5)
MAX_CONNECTIONS = 64


def parse_bind(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter(f"{value!r} is not HOST:PORT, e.g. 127.0.0.1:8800")
    return host, int(port)


def parse_reconcile_at(value: str) -> time | None:
    if value == "off":
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not HH:MM (UTC) or off") from None


@click.command()
@erp_option
@click.option(
    "--bind",
    default="127.0.0.1:8800",
    show_default=True,
    help="Where the finance page (and the webhook endpoint, unless --webhook-bind) listens.",
)
@click.option(
    "--webhook-bind",
    default=None,
    help="Serve only the webhook endpoint here, apart from the page (e.g. behind the TLS "
    "proxy Toast reaches), and leave it off the page's listener.",
)
@click.option(
    "--debounce",
    default=30.0,
    show_default=True,
    help="Seconds without a new webhook event before the waiting ones are applied and posted.",
)
@click.option(
    "--reconcile-at",
    default="10:00",
    show_default=True,
    help="UTC time of the nightly pass that reads every location (HH:MM, or off).",
)
@click.option("--ready-file", type=click.Path(path_type=Path), hidden=True)
def serve(erp, bind, webhook_bind, debounce, reconcile_at, ready_file) -> None:
    """Run by itself: schedule, webhooks, page.

    Loads, builds and posts each location once its day has closed (its closeoutHour plus the
    settle delay, in its own time zone), applies Toast's order webhooks as they arrive (set
    SOURCES__TOAST__WEBHOOK_SECRETS), reads every location nightly at --reconcile-at, and
    serves the finance page at --bind. Stop it with Ctrl-C or SIGTERM.

    \b
    Example:
        closeout serve --erp d365 --bind 127.0.0.1:8800 --webhook-bind 127.0.0.1:8801
    """
    service = Service(
        erp,
        debounce=timedelta(seconds=debounce),
        reconcile_at=parse_reconcile_at(reconcile_at),
    )
    listeners = service.listen(parse_bind(bind), webhook_bind and parse_bind(webhook_bind))
    try:
        for line in service.describe(listeners):
            click.echo(line)
        if ready_file is not None:
            ready_file.write_text(json.dumps({"urls": listeners.urls}))
        service.run_until_stopped()
    finally:
        listeners.stop()
        service.close()


class Service:
    def __init__(self, erp: str | None, *, debounce: timedelta, reconcile_at: time | None):
        self.erp, self.debounce = erp, debounce
        self.clock = ServeClock.from_env()
        self.schedule = Schedule(reconcile_at)
        self.stop = threading.Event()
        self.cycles: list[CycleRecord] = []  # the newest 50
        self.cycle_count = 0
        self.busy_since: datetime | None = None
        # what to try again, and when: "everyone" (a full load that loaded nothing), "post"
        # (a build or post that did not finish), "webhooks" (applying the spool failed)
        self.retries = Retries()
        self.schedule.start_reconciling(self.clock.now())
        try:
            self.secrets = webhook_secrets()
        except Exception as exc:  # noqa: BLE001 - serve runs without webhooks, and says so
            self.secrets, self.webhooks_off = [], str(exc)
        else:
            self.webhooks_off = None
        self.spool = Spool() if self.secrets else None

    # --- listening ---

    def listen(self, page_bind, webhook_bind) -> Listeners:
        from starlette.applications import Starlette

        hooks = webhook_routes(self.spool, self.secrets) if self.spool is not None else []
        listeners = Listeners()
        page_routes = self.page_routes()
        if webhook_bind is None:
            listeners.start("page", Starlette(routes=[*page_routes, *hooks]), page_bind)
        else:
            listeners.start("page", Starlette(routes=page_routes), page_bind)
            listeners.start("webhooks", Starlette(routes=hooks), webhook_bind)
        return listeners

    def page_routes(self):
        from starlette.responses import HTMLResponse, JSONResponse
        from starlette.routing import Route

        def status(request):
            return JSONResponse(self.status())

        def page(request):
            return HTMLResponse(self.render_page())

        return [Route("/", page), Route("/status.json", status)]

    def describe(self, listeners: Listeners) -> list[str]:
        lines = [f"closeout serve: finance page at {listeners.urls['page']}/"]
        webhooks = listeners.urls.get("webhooks", listeners.urls["page"])
        if self.spool is None:
            lines.append(f"webhooks off: {self.webhooks_off}")
        else:
            lines.append(f"Toast webhooks at {webhooks}{WEBHOOK_PATH} (spool {self.spool.path})")
        page_host = listeners.urls["page"].split("//")[1].rsplit(":", 1)[0].strip("[]")
        if not _loopback(page_host):
            lines.append(
                f"warning: the finance page listens on {page_host}, not only this machine; it has "
                "no login of its own: put it behind one, or bind it to 127.0.0.1"
            )
        if self.clock.start is not None or self.clock.file is not None:
            lines.append(f"warning: {CLOCK_SETTING} moves the schedule's clock (a test setting)")
        reconcile = self.schedule.reconcile_at
        lines.append(
            f"nightly reconciliation at {reconcile:%H:%M} UTC"
            if reconcile
            else "nightly reconciliation off"
        )
        return lines

    # --- cycles ---

    def run_until_stopped(self) -> None:
        """Cycles until SIGTERM or Ctrl-C, which let the cycle under way finish (dbt would
        swallow an interrupt as a failed build); a second Ctrl-C stops at once."""

        def stop_after_this_cycle(signum, _frame):
            if signum == signal.SIGINT and self.stop.is_set():
                raise KeyboardInterrupt
            click.echo("stopping after the cycle under way (Ctrl-C again: at once)")
            self.stop.set()

        previous = {
            signum: signal.signal(signum, stop_after_this_cycle)
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            work: Work | None = Work(["start"], load=True, events=True)
            while not self.stop.is_set():
                try:
                    if work is not None:
                        self.cycle(work)
                        self.print_upcoming()
                    work = self.next_work()
                except Exception as exc:  # noqa: BLE001 - a bug must not stop the service
                    log.exception("serve's loop failed")
                    click.echo(f"error: {type(exc).__name__}: {exc}; trying again shortly")
                    work = None
                    self.stop.wait(LOOK_SECONDS * 30)
                if work is None:
                    self.stop.wait(LOOK_SECONDS)
        except KeyboardInterrupt:
            click.echo("stopped (Ctrl-C)")
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def next_work(self) -> Work | None:
        now = self.clock.now()
        triggers, work = [], Work([])
        if self.schedule.reconcile_due(now) or self.retries.due("everyone", now):
            triggers.append("reconcile" if self.schedule.reconcile_due(now) else "retry")
            work.load, work.locations = True, None
        due = self.schedule.due(now)
        if due and not work.load:
            triggers.append("due")
            work.load, work.locations = True, due
        if self.events_ready() and not self.retries.waiting("webhooks", now):
            triggers.append("webhook")
        if self.retries.due("post", now):
            triggers.append("retry")
            work.build = True
        if not triggers:
            return None
        work.triggers, work.events = triggers, self.spool is not None
        return work

    def events_ready(self) -> bool:
        if self.spool is None:
            return False
        count, oldest, newest = self.spool.waiting()
        if not count:
            return False
        real_now = datetime.now(timezone.utc)
        return real_now - newest >= self.debounce or real_now - oldest >= LONGEST_EVENT_WAIT

    def cycle(self, work: Work) -> None:
        from cli.main import operator_message

        started = self.clock.now()
        self.busy_since = started
        try:
            record = run_cycle(work, self.spool, self.erp, operator_message)
        finally:
            self.busy_since = None
        self.cycles = [*self.cycles[-49:], record]
        self.cycle_count += 1
        click.echo(f"{started:%Y-%m-%d %H:%M:%S} UTC {record.summary()}")
        self.learn(work, record, started)

    def learn(self, work: Work, record: CycleRecord, started: datetime) -> None:
        """Move the schedule on from what the cycle did, and back off what failed."""
        now = self.clock.now()
        try:
            with warehouse.connect(read_only=True) as con:
                self.schedule.know(location_clocks(con), started)
        except Exception:  # noqa: BLE001 - the known locations stay as they were
            log.warning("could not read the locations' closeout hours", exc_info=True)
        stopped = record.error or record.skipped
        if work.load:
            self.schedule.loaded(record.loaded_ok, started)
            failed = dict(record.load_failed)
            if stopped and not record.loaded_ok and work.locations is not None:
                failed.update(dict.fromkeys(work.locations, stopped))
            for guid, why in failed.items():
                self.schedule.failed({guid}, now, why)
            # A load of every location that loaded none (a first start with Toast down)
            # is tried again as a whole: no location may be known yet to retry alone.
            self._retry("everyone", now, work.locations is None and not record.loaded_ok)
            if "reconcile" in work.triggers:
                self.schedule.reconciled(now)
        self._retry("webhooks", now, bool(record.webhooks_failed))
        self._retry("post", now, bool(record.build_failed or record.post_unfinished or stopped))

    def _retry(self, kind: str, now: datetime, failed: bool) -> None:
        if failed:
            self.retries.failed(kind, now)
        else:
            self.retries.succeeded(kind)

    def print_upcoming(self, limit: int = 10) -> None:
        upcoming = self.schedule.upcoming(self.clock.now())
        for name, day, at in upcoming[:limit]:
            click.echo(f"  next: {name} {day} due {at:%Y-%m-%d %H:%M} UTC")
        if len(upcoming) > limit:
            click.echo(f"  ... and {len(upcoming) - limit} more location(s)")

    # --- what the page and /status.json show ---

    def status(self) -> dict:
        """Read by the web threads while the main thread runs cycles: each shared value is
        read once, and dicts are copied whole (one step under the GIL) before iterating."""
        now = self.clock.now()
        busy_since = self.busy_since
        retries = list(self.schedule.retries.items())
        return {
            "now": now.isoformat(),
            "busy_since": busy_since and busy_since.isoformat(),
            "cycles": self.cycle_count,
            "recent_cycles": [_cycle_view(record) for record in self.cycles[-20:]],
            "next_due": [
                {"location": name, "business_date": day.isoformat(), "due_at": at.isoformat()}
                for name, day, at in self.schedule.upcoming(now)
            ],
            "retries": {
                guid: {"at": retry.at.isoformat(), "attempts": retry.attempts, "why": retry.reason}
                for guid, retry in retries
            },
            "webhooks": self.spool.counters() if self.spool is not None else None,
        }

    def render_page(self) -> str:
        from closeout.finance_page import ServiceView, render_published_page
        from posting.connectors.registry import configured_erp

        now = self.clock.now()
        view = ServiceView(
            webhook_counters=self.spool.counters() if self.spool is not None else None,
            next_due=self.schedule.upcoming(now),
            note=self.webhooks_off and f"webhooks off: {self.webhooks_off}",
        )
        return render_published_page(configured_erp(self.erp), service=view, now=now)

    def close(self) -> None:
        if self.spool is not None:
            self.spool.close()


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _cycle_view(record: CycleRecord) -> dict:
    return {
        "triggers": record.triggers,
        "started_at": record.started_at.isoformat(),
        "ok": record.ok,
        "loaded": sorted(record.loaded_ok),
        "events_applied": record.events_applied,
        "posted": record.posted,
        "summary": record.summary(),
    }


class Listeners:
    """uvicorn servers, each in a thread of its own, on sockets bound here (port 0 allowed)."""

    def __init__(self):
        self.urls: dict[str, str] = {}
        self._servers: list[tuple[object, threading.Thread]] = []

    def start(self, name: str, app, bind: tuple[str, int]) -> None:
        import uvicorn

        host, port = bind
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                log_level="warning",
                lifespan="off",
                timeout_keep_alive=5,
                # Each request may hold up to 16 MiB before its signature is checked: past this
                # many at once, 503 (Toast retries it) rather than memory without bound.
                limit_concurrency=MAX_CONNECTIONS,
            )
        )
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"http-{name}", daemon=True
        )
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise click.ClickException(f"the {name} server did not start (see above)")
            clock_time.sleep(0.02)
        shown = f"[{host}]" if ":" in host else host
        self.urls[name] = f"http://{shown}:{sock.getsockname()[1]}"
        self._servers.append((server, thread))

    def stop(self) -> None:
        for server, _ in self._servers:
            server.should_exit = True
        for _, thread in self._servers:
            thread.join(10)
