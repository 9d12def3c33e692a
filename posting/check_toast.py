"""`closeout check`, the Toast side: which locations the credentials reach, against locations.csv.

Logs in through the loader's client and token store, so a token a previous run kept is reused
and at most one login is made. Lists the restaurants the credentials reach as the loader does
(the partners API, /partners/v1/restaurants) and reads each listed location's restaurant record
(name, closeout hour, time zone), which also proves the other APIs let these credentials in.
Credentials that cannot use the partners API (a restaurant management group account) are
checked per locations.csv guid instead. With sources.toast.restaurant_guids set, the loader
never asks the partners API, and neither does the check: it asks for each guid of
locations.csv and of restaurant_guids.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import dlt
import httpx

from closeout.errors import ToastAuthError, ToastRefusal
from closeout.token_store import TokenStore, fernet_from_env
from closeout.warehouse import state_dir
from loaders.toast import settings
from loaders.toast.client import ToastClient
from loaders.toast.jsontext import decode
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
    listed: bool  # the partners API answered; False: guids were asked one by one
    configured: bool = False  # restaurant_guids is set: the partners API was not asked
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
    configured = dlt.config.get("sources.toast.restaurant_guids", list) or None
    try:
        report = _reach(client, locations, configured)
    finally:
        client.close()
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


def _reach(
    client: ToastClient, locations: list[Location], configured: list[str] | None
) -> ToastReach:
    by_guid = {location.guid: location for location in locations}
    listed: list[str] | None = None
    names: dict[str, str] = {}
    records: dict[str, Restaurant | str] = {}  # guid -> its record, or Toast's refusal
    partners = None if configured else _partners_or_none(client, list(by_guid), records)
    if partners is not None:
        listed = [entry["restaurantGuid"] for entry in partners if not entry.get("deleted")]
        names = {entry["restaurantGuid"]: entry.get("restaurantName") or "" for entry in partners}
    report = ToastReach(client.base_url, listed is not None, configured=bool(configured))
    # Restaurants not in locations.csv the check knows of: listed, or named to be loaded.
    known = listed if listed is not None else (configured or [])
    others = list(dict.fromkeys(guid for guid in known if guid not in by_guid))
    if listed is not None:
        ask = [guid for guid in listed if guid in by_guid]
    else:
        ask = [*by_guid, *others]
    ask = [guid for guid in ask if guid not in records]
    # a guid not asked is not reached
    with ThreadPoolExecutor(max_workers=PARALLEL_LOOKUPS) as pool:
        records.update(zip(ask, pool.map(lambda guid: _restaurant(client, guid), ask), strict=True))
    if listed is not None:  # a record read for the token's sake, of a guid Toast did not list
        records = {guid: record for guid, record in records.items() if guid in listed}
    for guid in others:
        record = records.get(guid)
        if listed is None and not isinstance(record, Restaurant):
            report.problems.append(
                ToastProblem(
                    "sources.toast.restaurant_guids",
                    f"restaurant {guid}",
                    f"these Toast credentials do not reach it ({record}), so every "
                    "`closeout load` reports an error for it",
                    "take it out of restaurant_guids (SOURCES__TOAST__RESTAURANT_GUIDS) or "
                    "ask Toast / the location to grant these credentials access",
                )
            )
            continue
        name = record.name if isinstance(record, Restaurant) else names.get(guid, "")
        reached = record if isinstance(record, Restaurant) else Restaurant(guid, name, None, None)
        report.reached.append((reached, None))
        report.problems.append(
            ToastProblem(
                "Toast",
                f"restaurant {name or '(no name)'} ({guid})",
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


def _partners_or_none(
    client: ToastClient, guids: list[str], records: dict[str, Restaurant | str]
) -> list[dict] | None:
    """The partners API's restaurants, or None for credentials it is not for (401, 403).

    A 401 is not taken for a token Toast invalidated, as ToastClient.get takes it (it drops the
    token, from the store too, and logs in again): Toast answers 401 to credentials that are no
    partner's, and that would spend a second of the two logins Toast allows an hour on every
    check and lose the kept token. Instead the first locations.csv guid's restaurant record is
    read through ToastClient.get (into `records`): only if that replaced a refused token is
    the partners API asked again, with the new one."""
    status, partners, token = _partners(client)
    if status != 401 or not guids:
        return partners
    records[guids[0]] = _restaurant(client, guids[0])
    if client.tokens.token() == token:
        return None  # the token is good: these credentials are no partner's
    return _partners(client)[1]


def _partners(client: ToastClient) -> tuple[int, list[dict] | None, str]:
    """(status, the partners API's restaurants or None, the token sent), asked once without
    ToastClient.get's answer to a 401 (see _partners_or_none). Any other answer than 200 or
    401/403 (429, 5xx, no answer) is asked again through ToastClient.get, with its waits and
    retries."""
    path = settings.PARTNER_RESTAURANTS_PATH
    key = "-"  # ToastClient.get's pacing key for a request for no restaurant
    client.pacer.wait(key)
    token = client.tokens.token()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    slots = client.spacer.acquire(key, path)
    response = None
    try:
        response = client.http.get(client.base_url + path, headers=headers)
        response.read()
    except httpx.TransportError:
        response = None
    finally:
        client.spacer.release(slots, response)
    if response is not None:
        client.requests += 1
        client.pacer.observe(key, response)
        if response.status_code in NOT_A_PARTNER:
            return response.status_code, None, token
        if response.status_code == 200:
            return 200, decode(response.content), token
    try:
        return 200, client.get_json(path), token
    except ToastRefusal as exc:
        if exc.status not in NOT_A_PARTNER:
            raise
        return exc.status or 0, None, token


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
