"""Orders for the Toast sandbox.

Two layers keep a day of 100,000 orders cheap:

* a `DayHeader` per (location, business date): opened/settled/late-edit epoch milliseconds and a
  scenario code per order, drawn from one per-day `random.Random` and sorted by opening time, so
  counting, windowing and paging never need an order document;
* a full order, built only when a page asks for it, from its own `random.Random` seeded by
  (seed, location, business date, order index) plus the header's times and scenario code.

An order is a plan plus a timeline of events. Before its settle time it is shown as opened and
unpaid; at the settle time every same-day event (payments, voids, refunds...) has happened; a
late edit (generated, or applied through `ToastDataset.apply_edit`) is visible once its time is
at or before `as_of`. Amounts are recomputed from the state with Toast's formulas each time.

The package, in the order an order lives:

    days       the day header: times and scenario codes of one location's business date
    model      the order's parts (selections, charges, tenders, payments, checks) and cents()
    build      an order from its RNG: place, dining option, checks, selections, tenders
    events     same-day events and late edits applied up to `as_of`
    pricing    Toast's formulas, recomputed from the state
    documents  the ordersBulk JSON of an order
"""

from sandboxes.toast.orders.build import build_order
from sandboxes.toast.orders.days import EXCESS, LATE_KINDS, DayHeader, day_count, make_header
from sandboxes.toast.orders.documents import document
from sandboxes.toast.orders.events import EDIT_KINDS, NotApplicable, apply_edit, materialize
from sandboxes.toast.orders.model import LocationContext

__all__ = [
    "EDIT_KINDS",
    "EXCESS",
    "LATE_KINDS",
    "DayHeader",
    "LocationContext",
    "NotApplicable",
    "apply_edit",
    "build_order",
    "day_count",
    "document",
    "make_header",
    "materialize",
]
