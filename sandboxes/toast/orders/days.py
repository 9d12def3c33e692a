"""Day headers: a per-(location, business date) table of opening, settle and late-edit
times and a scenario code per order, so counting and paging never build an order."""

from __future__ import annotations

import bisect
import random
from array import array
from dataclasses import dataclass

from sandboxes.toast.ids import DAY, HOUR, MINUTE, BusinessClock, derived_int

# Scenario codes fixed by the day header (they decide timing); details come from the order's RNG.
NORMAL, VOID_ORDER, DELETED, OPEN, EXCESS = 0, 1, 2, 3, 4
LATE_TIP, LATE_VOID_SEL, LATE_REFUND, LATE_PAY, LATE_VOID_ORDER = 5, 6, 7, 8, 9
LATE_KINDS = {
    LATE_TIP: "add_tip",
    LATE_VOID_SEL: "void_selection",
    LATE_REFUND: "refund",
    LATE_PAY: "pay_open_check",
    LATE_VOID_ORDER: "void_order",
}
# Cumulative shares of orders. A check left open past its day is rare in a real restaurant
# (about one order in 200 never paid, one in 170 paid on a later day), as are voids and refunds
# after the day; tips adjusted the next day are common.
_CODE_TABLE = (
    (0.020, VOID_ORDER),
    (0.030, DELETED),
    (0.035, OPEN),
    (0.090, LATE_TIP),
    (0.100, LATE_VOID_SEL),
    (0.115, LATE_REFUND),
    (0.121, LATE_PAY),
    (0.126, LATE_VOID_ORDER),
)


@dataclass
class DayHeader:
    business_date: int
    start_ms: int
    end_ms: int
    opened: array  # sorted ascending; the order index is the rank by opening time
    settled: array
    late: array  # 0 when the order has no generated late edit
    codes: bytes

    def __len__(self) -> int:
        return len(self.opened)

    def count_opened(self, as_of_ms: int) -> int:
        return bisect.bisect_right(self.opened, as_of_ms)

    def modified(self, i: int, as_of_ms: int) -> int:
        """The order's modifiedDate at as_of from generated events only (opened <= as_of)."""
        modified = self.opened[i]
        if self.settled[i] <= as_of_ms:
            modified = self.settled[i]
            late = self.late[i]
            if late and late <= as_of_ms:
                modified = late
        return modified


def day_count(
    seed: int, location_index: int, business_date: int, orders_per_day: int, exact: bool
) -> int:
    if exact:
        return orders_per_day
    spread = random.Random(derived_int("count", seed, location_index, business_date)).random()
    return max(0, round(orders_per_day * (0.8 + 0.4 * spread)))


def make_header(
    seed: int,
    location_index: int,
    clock: BusinessClock,
    business_date: int,
    count: int,
    max_late_days: int,
) -> DayHeader:
    rng = random.Random(derived_int("day", seed, location_index, business_date))
    start, end = clock.bounds(business_date)
    closeout = clock.closeout_hour
    latest_open = end - start - 25 * MINUTE  # 23-hour DST days included
    rows = []
    for _ in range(count):
        opened = start + min(int(_opening_offset(rng, closeout) * HOUR), latest_open)
        settled = min(opened + int((3 + 87 * rng.random() ** 1.6) * MINUTE), end - MINUTE)
        code, late = _scenario(rng, end, max_late_days)
        rows.append((opened, settled, late, code))
    rows.sort()
    codes = bytearray(row[3] for row in rows)
    late = array("q", (row[2] for row in rows))
    if count >= 5 and rng.random() < 0.6:  # at most one excess-food order a day, as Toast
        k = rng.randrange(count)
        codes[k], late[k] = EXCESS, 0
    return DayHeader(
        business_date,
        start,
        end,
        array("q", (r[0] for r in rows)),
        array("q", (r[1] for r in rows)),
        late,
        bytes(codes),
    )


def _opening_offset(rng: random.Random, closeout: int) -> float:
    """Hours after the business day starts: lunch and dinner peaks, some after midnight."""
    r = rng.random()
    if r < 0.45:
        hour = rng.gauss(12.5, 1.0)
    elif r < 0.85:
        hour = rng.gauss(19.0, 1.4)
    elif r < 0.93:
        hour = rng.gauss(23.4, 1.3)
    else:
        hour = rng.uniform(7.0, 23.0)
    offset = hour - closeout
    if not 0.05 <= offset <= 23.5:
        offset = rng.uniform(max(0.05, 7.0 - closeout), 23.0)
    return offset


def _scenario(rng: random.Random, day_end: int, max_late_days: int) -> tuple[int, int]:
    r = rng.random()
    code = next((c for limit, c in _CODE_TABLE if r < limit), NORMAL)
    if code not in LATE_KINDS:
        return code, 0
    if max_late_days < 1:
        return NORMAL, 0
    # Skewed toward the next days (tip adjustments), some weeks later (refunds, corrections).
    delay = int(rng.random() ** 3 * (max_late_days - 1) * DAY) + rng.randrange(2 * HOUR, 14 * HOUR)
    return code, day_end + delay
