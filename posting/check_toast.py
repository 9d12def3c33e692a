"""`closeout check`, the Toast side: which locations the credentials reach, against locations.csv.

Logs in through the loader's client and token store, so a token a previous run kept is reused
and at most one login is made. Lists the restaurants the credentials reach as the loader does
(the partners API, /partners/v1/restaurants) and reads each listed location's restaurant record
(name, closeout hour, time zone), which also proves the other APIs let these credentials in.
Credentials that cannot use the partners API (a restaurant management group account) are
checked per locations.csv guid instead.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import dlt

from closeout.errors import ToastAuthError, ToastRefusal
from closeout.token_store import TokenStore, fernet_from_env
from closeout.warehouse import state_dir
from loaders.toast import settings
from loaders.toast.client import ToastClient
from posting.check_references import Location

# Restaurant records read at once: Toast limits each location separately.
PARALLEL_LOOKUPS = 8
# Partners API answers for credentials that are not a partner account.
NOT_A_PARTNER = (401, 403)


@dataclass(frozen=True)
class Restaurant:
    guid: str
    name: str
    closeout_hour: int | None
    time_zone: str | None
    currency: str | None = None


@dataclass(frozen=True)
class ToastProblem:
    where: str  # "locations.csv row 5", or "Toast" for a location only Toast knows
    subject: str  # "location Harbor & Vine LoHi (9090c145-...)"
    problem: str
    fix: str


@dataclass
class ToastReach:
    base_url: str
    listed: bool  # the partners API answered; False: only locations.csv guids were tried
    reached: list[tuple[Restaurant, Location | None]] = field(default_factory=list)
    problems: list[ToastProblem] = field(default_factory=list)
    inactive_unreached: list[Location] = field(default_factory=list)


def toast_reach(locations: list[Location]) -> ToastReach:
    """Raises a CloseoutError (ToastAuthError, ToastTransportError, ConfigurationError...) when
    Toast cannot be asked at all: its message says what to fix."""
    base_url = dlt.config.get("sources.toast.base_url", str) or ""
    client = ToastClient(
        base_url,
        dlt.secrets.get("sources.toast.client_id", str) or "",
        dlt.secrets.get("sources.toast.client_secret", str) or "",
        token_store=TokenStore(state_dir() / "tokens.enc", fernet_from_env()),
    )
    try:
        report = _reach(client, locations)
    finally:
        client.close()
    configured = dlt.config.get("sources.toast.restaurant_guids", list)
    report.problems += _not_loaded(report, configured)
    return report


def _not_loaded(report: ToastReach, configured: list[str] | None) -> list[ToastProblem]:
    """With sources.toast.restaurant_guids set, `closeout load` reads those locations only: a
    reached location of locations.csv missing there is never loaded."""
    if not configured:
        return []
    return [
        ToastProblem(
            location.row.where,
            f"location {location.name or '(no name)'} ({location.guid})",
            "is not in sources.toast.restaurant_guids, so `closeout load` never reads it",
            "add its guid to restaurant_guids (SOURCES__TOAST__RESTAURANT_GUIDS), or leave "
            "that setting out to load every location the credentials reach",
        )
        for _, location in report.reached
        if location is not None and location.active and location.guid not in configured
    ]


def _reach(client: ToastClient, locations: list[Location]) -> ToastReach:
    by_guid = {location.guid: location for location in locations}
    try:
        partners = client.get_json(settings.PARTNER_RESTAURANTS_PATH)
        listed = [entry["restaurantGuid"] for entry in partners if not entry.get("deleted")]
        names = {entry["restaurantGuid"]: entry.get("restaurantName") or "" for entry in partners}
    except ToastRefusal as exc:
        if exc.status not in NOT_A_PARTNER:
            raise
        listed, names = None, {}
    report = ToastReach(client.base_url, listed is not None)
    ask = [guid for guid in (listed if listed is not None else by_guid) if guid in by_guid]
    # guid -> its record, or Toast's refusal; a guid not asked is not reached
    with ThreadPoolExecutor(max_workers=PARALLEL_LOOKUPS) as pool:
        records = dict(zip(ask, pool.map(lambda guid: _restaurant(client, guid), ask), strict=True))
    for guid in listed if listed is not None else []:
        if guid not in by_guid:
            report.reached.append((Restaurant(guid, names.get(guid, ""), None, None), None))
            report.problems.append(
                ToastProblem(
                    "Toast",
                    f"restaurant {names.get(guid) or '(no name)'} ({guid})",
                    "is reached by these credentials but not in locations.csv, so its journals "
                    "are held",
                    "add a row to locations.csv, or ignore this if closeout should not post it",
                )
            )
    for location in locations:
        record = records.get(location.guid)
        if isinstance(record, Restaurant):
            report.reached.append((record, location))
            if location.active and record.currency and location.currency != record.currency:
                report.problems.append(
                    ToastProblem(
                        location.row.where,
                        f"location {location.name or '(no name)'} ({location.guid})",
                        f"its journals' currency {location.currency or '(none)'} differs from "
                        f"Toast's {record.currency}, so its journals are held",
                        f"set currency to {record.currency} in locations.csv (or settings.csv)",
                    )
                )
        elif record is not None and report.listed and location.active:  # listed, refused
            report.problems.append(
                ToastProblem(
                    location.row.where,
                    f"location {location.name or '(no name)'} ({location.guid})",
                    f"Toast lists it for these credentials but refused its restaurant record "
                    f"({record})",
                    "Toast opens its other APIs up to 15 minutes after access is granted: run "
                    "`closeout check` again later, and ask Toast support if it stays so",
                )
            )
        elif location.active:
            report.problems.append(
                ToastProblem(
                    location.row.where,
                    f"location {location.name or '(no name)'} ({location.guid})",
                    "these Toast credentials do not reach it",
                    "its Toast access is missing for these credentials: ask Toast / the "
                    "location to grant it, or set is_active false",
                )
            )
        else:
            report.inactive_unreached.append(location)
    return report


def _restaurant(client: ToastClient, guid: str) -> Restaurant | str:
    """The restaurant record, or Toast's refusal (`HTTP 403: ...`) when it does not let these
    credentials read it."""
    try:
        record = client.get_json(settings.RESTAURANT_PATH.format(guid=guid), restaurant=guid)
    except ToastAuthError:
        raise
    except ToastRefusal as exc:
        if 400 <= (exc.status or 0) < 500:
            return f"HTTP {exc.status}"
        raise
    general = record.get("general") or {}
    hour = general.get("closeoutHour")
    return Restaurant(
        guid,
        general.get("name") or "",
        int(hour) if hour is not None else None,
        general.get("timeZone"),
        general.get("currencyCode"),
    )
