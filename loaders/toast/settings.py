"""Toast API constants."""

LOGIN_PATH = "/authentication/v1/authentication/login"
PARTNER_RESTAURANTS_PATH = "/partners/v1/restaurants"
RESTAURANT_PATH = "/restaurants/v1/restaurants/{guid}"
CONFIG_PATH = "/config/v2/{entity}"
ORDERS_BULK_PATH = "/orders/v2/ordersBulk"
TIME_ENTRIES_PATH = "/labor/v1/timeEntries"
JOBS_PATH = "/labor/v1/jobs"

RESTAURANT_HEADER = "Toast-Restaurant-External-ID"
NEXT_PAGE_TOKEN_HEADER = "Toast-Next-Page-Token"

CONFIG_ENTITIES = (
    "revenueCenters",
    "salesCategories",
    "diningOptions",
    "serviceCharges",
    "discounts",
    "alternatePaymentTypes",
    "taxRates",
)

MAX_PAGE_SIZE = 100
MAX_WINDOW_DAYS = 30  # Toast: startDate/endDate intervals of at most one month
DEFAULT_BACKFILL_DAYS = 84  # 12 weeks, as Toast recommends for a first load
DEFAULT_LAG_MINUTES = 30  # re-read this much before the last window's end
TOKEN_RENEW_MARGIN_SECONDS = 300
LOGINS_PER_HOUR_LIMIT = 2

# Toast's documented per-location limits, kept on our side too so 429s stay rare:
# (path the limit applies to, or None for every request; requests; seconds).
ORDERS_BULK_PER_SECOND = 5
REQUESTS_PER_SECOND = 20
REQUEST_LIMITS = (
    (ORDERS_BULK_PATH, ORDERS_BULK_PER_SECOND, 1.0),
    (None, REQUESTS_PER_SECOND, 1.0),
)
# Orders are read by a process of their own (order_fetch.py) with REQUEST_LIMITS; the main
# process reads everything else within what the order reads leave of the overall limit.
MAIN_PROCESS_REQUEST_LIMITS = ((None, REQUESTS_PER_SECOND - ORDERS_BULK_PER_SECOND, 1.0),)
# Added to the spacing after an answer (clock granularity on Toast's side).
LIMIT_SLACK_SECONDS = 0.01
