"""Time entries for the Toast sandbox: a handful of shifts per location and business date."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sandboxes.toast.catalog import Catalog, Employee
from sandboxes.toast.ids import (
    HOUR,
    MINUTE,
    BusinessClock,
    derived_guid,
    derived_int,
    format_uuid4,
    toast_time,
)

HOURS = Decimal("0.01")
ZERO = Decimal("0.00")
# job: (chance to work a given day, local clock-in hours to choose from, shift minutes min/max)
SHIFTS = {
    "server": (0.7, (10.5, 16.0, 17.0), 240, 560),
    "bartender": (0.75, (15.5, 17.0), 300, 600),
    "line_cook": (0.8, (9.0, 14.5), 360, 660),
    "dishwasher": (0.7, (10.0, 16.0), 300, 540),
    "manager": (0.85, (9.5, 15.0), 420, 690),
    "gm": (0.5, (9.0,), 480, 600),
}


@dataclass
class Entry:
    guid: str
    employee: Employee
    business_date: int
    in_ms: int
    out_ms: int  # when the shift ends (the business day cut-off if auto)
    auto: bool
    break_ms: int | None  # start of an unpaid 30-minute break
    break_kind: str  # "taken", or "missed" (a meal break the employee did not take: no deduction)
    rest_ms: int | None  # start of a paid 10-minute rest break (not deducted)
    deleted_ms: int | None
    edit_ms: int | None  # a manager's later correction of the clock-out (-15 minutes)
    tips: tuple[Decimal, Decimal, Decimal, Decimal]

    def modified(self, as_of_ms: int) -> int:
        modified = self.in_ms + 400 if as_of_ms < self.out_ms else self.out_ms + 2_000
        if self.edit_ms and self.edit_ms <= as_of_ms:
            modified = self.edit_ms
        if self.deleted_ms and self.deleted_ms <= as_of_ms:
            modified = max(modified, self.deleted_ms)
        return modified


def day_entries(
    seed: int, index: int, catalog: Catalog, clock: BusinessClock, business_date: int
) -> list[Entry]:
    rng = random.Random(derived_int("labor", seed, index, business_date))
    start, end = clock.bounds(business_date)
    entries = []
    for employee in catalog.employees:
        chance, starts, shortest, longest = SHIFTS[employee.job]
        if rng.random() >= chance:
            continue
        local_in = rng.choice(starts) + rng.uniform(-0.4, 0.4)
        in_ms = start + int((local_in - clock.closeout_hour) * HOUR) + rng.randrange(60_000)
        auto = rng.random() < 0.03  # forgot to clock out: Toast closes it at the cut-off
        out_ms = (
            end if auto else min(in_ms + rng.randint(shortest, longest) * MINUTE, end - 5 * MINUTE)
        )
        break_ms = in_ms + (out_ms - in_ms) // 2 if out_ms - in_ms > 6 * HOUR else None
        r = rng.random()
        break_kind = "missed" if r < 0.15 else "taken"
        rest_ms = in_ms + (out_ms - in_ms) // 4 if out_ms - in_ms > 4 * HOUR and r > 0.6 else None
        deleted = rng.random() < 0.03
        edited = not deleted and not auto and rng.random() < 0.05
        tipped = employee.job in ("server", "bartender")
        tips = tuple(
            (Decimal(rng.randrange(0, 30_000 if tipped else 1)) / 100).quantize(HOURS)
            for _ in range(4)
        )
        entries.append(
            Entry(
                guid=format_uuid4(rng.getrandbits(122)),
                employee=employee,
                business_date=business_date,
                in_ms=in_ms,
                out_ms=out_ms,
                auto=auto,
                break_ms=break_ms,
                break_kind=break_kind,
                rest_ms=rest_ms,
                deleted_ms=out_ms + HOUR if deleted else None,
                edit_ms=end + rng.randrange(2 * HOUR, 30 * HOUR) if edited else None,
                tips=tips,
            )
        )
    return entries


def entry_document(e: Entry, catalog: Catalog, as_of_ms: int) -> dict:
    open_ = as_of_ms < e.out_ms
    out_ms = e.out_ms
    if e.edit_ms and e.edit_ms <= as_of_ms:
        out_ms -= 15 * MINUTE
    worked = Decimal(0)
    if not open_:
        unpaid = 30 if e.break_ms and e.break_kind == "taken" else 0
        minutes = (out_ms - e.in_ms) // MINUTE - unpaid
        worked = (Decimal(minutes) / 60).quantize(HOURS, ROUND_HALF_UP)
    regular = min(worked, Decimal(8)).quantize(HOURS)
    overtime = max(worked - Decimal(8), ZERO).quantize(HOURS)
    deleted = bool(e.deleted_ms and e.deleted_ms <= as_of_ms)
    # Toast finalises sales and tips at clock-out; an open shift reports zeros.
    cash_sales, non_cash_sales, cash_tips, non_cash_tips = (ZERO,) * 4 if open_ else e.tips
    created = toast_time(e.in_ms + 400)
    doc = {
        "guid": e.guid,
        # Toast's own example sends entityType null; one location here does too.
        "entityType": None if catalog.template.null_deleted_date else "TimeEntry",
        "externalId": None,
        "createdDate": created,
        "modifiedDate": toast_time(e.modified(as_of_ms)),
        "deleted": deleted,
        "deletedDate": toast_time(e.deleted_ms) if deleted else None,
        "businessDate": str(e.business_date),
        "employeeReference": e.employee.ref.doc(),
        "jobReference": catalog.jobs[e.employee.job].doc(),
        "shiftReference": derived_guid(e.guid, "shift")
        if catalog.template.approves_online
        else None,
        "inDate": toast_time(e.in_ms),
        "outDate": None if open_ else toast_time(out_ms),
        "autoClockedOut": e.auto and not open_,
        "regularHours": regular,
        "overtimeHours": overtime,
        "hourlyWage": e.employee.wage,
        "breaks": _breaks(e, catalog, as_of_ms),
        "declaredCashTips": cash_tips,
        "nonCashTips": non_cash_tips,
        "nonCashTipsRoundingLoss": None,
        "cashGratuityServiceCharges": ZERO,
        "nonCashGratuityServiceCharges": ZERO,
        "tipsWithheld": ZERO,
        "cashSales": cash_sales,
        "nonCashSales": non_cash_sales,
    }
    if catalog.template.whole_as_integer:  # whole numbers written as JSON integers (0, 8)
        for key, value in doc.items():
            if isinstance(value, Decimal) and value == value.to_integral_value():
                doc[key] = Decimal(int(value))
    return doc


def _breaks(e: Entry, catalog: Catalog, as_of_ms: int) -> list[dict]:
    """A paid rest break, and the meal break taken (unpaid) or missed (Toast: paid, missed,
    no outDate), each once it has started."""

    def kind(name: str) -> dict:
        return {
            "guid": derived_guid(catalog.jobs["server"].guid, name),
            "entityType": "BreakType",
        }

    breaks = []
    if e.rest_ms and as_of_ms >= e.rest_ms:
        breaks.append(
            {
                "guid": derived_guid(e.guid, "rest"),
                "breakType": kind("rest break"),
                "paid": True,
                "missed": False,
                "auditResponse": True,
                "inDate": toast_time(e.rest_ms),
                "outDate": toast_time(e.rest_ms + 10 * MINUTE)
                if as_of_ms >= e.rest_ms + 10 * MINUTE
                else None,
            }
        )
    if e.break_ms and as_of_ms >= e.break_ms:
        missed = e.break_kind == "missed"
        breaks.append(
            {
                "guid": derived_guid(e.guid, "break"),
                "breakType": kind("meal break"),
                "paid": missed,
                "missed": missed,
                "auditResponse": True,
                "inDate": toast_time(e.break_ms),
                "outDate": toast_time(e.break_ms + 30 * MINUTE)
                if not missed and as_of_ms >= e.break_ms + 30 * MINUTE
                else None,
            }
        )
    return breaks
