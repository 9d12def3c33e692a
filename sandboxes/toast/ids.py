"""GUIDs and timestamps for the Toast sandbox data: deterministic, UUID-shaped, Toast-formatted."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

_EPOCH_DAY = date(2000, 1, 1).toordinal()  # order GUIDs store days since this date
_MASK_60 = (1 << 60) - 1
_MASK_62 = (1 << 62) - 1
_MASK_30 = (1 << 30) - 1


def format_uuid4(bits: int) -> str:
    """122 bits as a version-4 UUID string, so every sandbox GUID looks like Toast's."""
    value = (
        ((bits >> 74) << 80)
        | (0x4 << 76)
        | (((bits >> 62) & 0xFFF) << 64)
        | (0b10 << 62)
        | (bits & _MASK_62)
    )
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_MASK_122 = (1 << 122) - 1
_ODD_1 = 0x2545F4914F6CDD1D_9E3779B97F4A7C15 | 1
_ODD_2 = 0xBF58476D1CE4E5B9_94D049BB133111EB | 1


def mix_bits(bits: int, salt: int) -> int:
    """Another 122 random-looking bits derived from `bits` (child GUIDs of an entity)."""
    x = ((bits ^ salt) * _ODD_1) & _MASK_122
    x ^= x >> 59
    x = (x * _ODD_2) & _MASK_122
    return x ^ (x >> 61)


def parse_uuid4(text: str) -> int | None:
    """The 122 payload bits of a version-4 UUID string, or None if it is not one."""
    if not isinstance(text, str) or len(text) != 36 or text.count("-") != 4:
        return None
    try:
        value = int(text.replace("-", ""), 16)
    except ValueError:
        return None
    if (value >> 76) & 0xF != 4 or (value >> 62) & 0b11 != 0b10:
        return None
    return ((value >> 80) << 74) | (((value >> 64) & 0xFFF) << 62) | (value & _MASK_62)


def derived_guid(*parts: object) -> str:
    """A stable GUID for a named thing (config entities, locations, edit-created entities)."""
    return format_uuid4(derived_bits(*parts))


def derived_bits(*parts: object) -> int:
    """122 stable bits for format_uuid4 (entities created by edits)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16).digest()
    return int.from_bytes(digest, "big") >> 6


def derived_int(*parts: object) -> int:
    """A stable 64-bit integer, used to seed a random.Random for one named thing."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class OrderIds:
    """Order GUIDs that decode back to (location index, business date, order index).

    The 60-bit payload is masked with a keyed hash of a 32-bit check value, so GUIDs look random,
    differ per seed, and a GUID that was not minted here fails the check instead of decoding to
    some other order.
    """

    def __init__(self, seed: int):
        self._key = hashlib.blake2b(f"closeout-order-ids:{seed}".encode(), digest_size=16).digest()

    def _hash(self, value: int, size: int) -> int:
        digest = hashlib.blake2b(value.to_bytes(8, "big"), key=self._key, digest_size=size)
        return int.from_bytes(digest.digest(), "big")

    def encode(self, location_index: int, business_date: int, order_index: int) -> str:
        day = yyyymmdd_to_date(business_date).toordinal() - _EPOCH_DAY
        if not (
            0 <= location_index < 1 << 16 and 0 <= day < 1 << 20 and 0 <= order_index < 1 << 24
        ):
            raise ValueError("order coordinates out of range for a sandbox GUID")
        payload = (location_index << 44) | (day << 24) | order_index
        tag = self._hash(payload, 8)
        check = tag >> 32
        masked = payload ^ (self._hash(check, 8) & _MASK_60)
        return format_uuid4((check << 90) | (masked << 30) | (tag & _MASK_30))

    def decode(self, guid: str) -> tuple[int, int, int] | None:
        bits = parse_uuid4(guid.lower()) if isinstance(guid, str) else None
        if bits is None:
            return None
        check, masked, filler = bits >> 90, (bits >> 30) & _MASK_60, bits & _MASK_30
        payload = masked ^ (self._hash(check, 8) & _MASK_60)
        tag = self._hash(payload, 8)
        if tag >> 32 != check or tag & _MASK_30 != filler:
            return None
        day = (payload >> 24) & ((1 << 20) - 1)
        business_date = date_to_yyyymmdd(date.fromordinal(_EPOCH_DAY + day))
        return payload >> 44, business_date, payload & ((1 << 24) - 1)


# -- dates and times -----------------------------------------------------------------------------

MINUTE = 60_000  # epoch milliseconds
HOUR = 3_600_000
DAY = 86_400_000


def date_to_yyyymmdd(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def yyyymmdd_to_date(value: int) -> date:
    return date(value // 10000, value // 100 % 100, value % 100)


def add_days(business_date: int, days: int) -> int:
    return date_to_yyyymmdd(yyyymmdd_to_date(business_date) + timedelta(days=days))


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("sandbox datetimes must be timezone-aware (UTC)")
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


_DAY_TEXT: dict[int, str] = {}


def toast_time(ms: int) -> str:
    """Toast's timestamp form, e.g. 2026-03-15T18:22:05.123+0000 (hand-rolled: it is hot)."""
    days, rest = divmod(ms, 86_400_000)
    day = _DAY_TEXT.get(days)
    if day is None:
        day = _DAY_TEXT[days] = (date(1970, 1, 1) + timedelta(days=days)).isoformat()
    seconds, millis = divmod(rest, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{day}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}+0000"


def iso_z(ms: int) -> str:
    """The partners API's form, e.g. 2018-12-05T15:09:43.582Z."""
    return toast_time(ms)[:-5] + "Z"


def parse_toast_time(text: str) -> int:
    """Toast's timestamp text back to epoch milliseconds (for hand-built orders)."""
    fixed = text.replace("Z", "+00:00")
    if len(fixed) > 5 and fixed[-5] in "+-" and fixed[-3] != ":":
        fixed = fixed[:-2] + ":" + fixed[-2:]
    return to_ms(datetime.fromisoformat(fixed))


class BusinessClock:
    """A location's business days: closeoutHour in its IANA time zone, DST aware.

    A moment belongs to the local date of (local time - closeoutHour), the same rule the loader
    uses; day bounds come from resolving local closeoutHour:00 (fold=0) to UTC.
    """

    def __init__(self, time_zone: str, closeout_hour: int):
        self.zone = ZoneInfo(time_zone)
        self.closeout_hour = closeout_hour
        self._bounds: dict[int, tuple[int, int]] = {}

    def day_start_ms(self, business_date: int) -> int:
        day = yyyymmdd_to_date(business_date)
        local = datetime(day.year, day.month, day.day, self.closeout_hour, tzinfo=self.zone)
        return to_ms(local.astimezone(timezone.utc))

    def bounds(self, business_date: int) -> tuple[int, int]:
        """[start, end) of the business date in epoch milliseconds."""
        found = self._bounds.get(business_date)
        if found is None:
            found = (
                self.day_start_ms(business_date),
                self.day_start_ms(add_days(business_date, 1)),
            )
            if len(self._bounds) > 4096:
                self._bounds.clear()
            self._bounds[business_date] = found
        return found

    def business_date(self, ms: int) -> int:
        local = datetime.fromtimestamp(ms / 1000, self.zone)
        return date_to_yyyymmdd((local - timedelta(hours=self.closeout_hour)).date())
