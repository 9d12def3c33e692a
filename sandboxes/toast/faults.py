"""Faults a test can inject into the Toast sandbox: the shared kinds (`sandboxes.faults`; `drop`
here answers nothing after doing the request), matched on the start of the request path and the
restaurant, and Toast's own:

    truncate           send half the answer and close the connection
    malformed_order    one order of the page lacks `field` ("businessDate": an impossible date,
                       "encoding": bytes that are not UTF-8 inside a string)
    unparseable_order  one order of the page is cut in half
    publish_config     the restaurant publishes its configuration while a client pages through
                       it: the next configuration request that carries a pageToken answers 409
                       (its token predates the publish), as Toast documents

`status` faults answer 429s with `Retry-After: retry_after` (seconds); they fire on the login
endpoint too.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.faults import FaultRule


@dataclass
class ToastFault(FaultRule):
    KINDS = (
        "status",
        "slow",
        "drop",
        "truncate",
        "malformed_order",
        "unparseable_order",
        "publish_config",
    )

    path: str = ""  # applies to request paths starting with this
    restaurant: str | None = None  # only for this Toast-Restaurant-External-ID
    field: str = "guid"  # malformed_order: the field to break ("encoding": not UTF-8)
    retry_after: int = 1  # status 429: the Retry-After header, in seconds

    def matches(self, path: str, restaurant: str | None) -> bool:
        return path.startswith(self.path) and (not self.restaurant or self.restaurant == restaurant)
