"""Faults a test can inject into the Intacct gateway, matched on the XML functions a request
holds. The kinds differ from the shared ones (`sandboxes.faults`) the way the gateway does:

    status            answer this HTTP status instead (429 carries GW-0010 and Retry-After;
                      5xx a gateway error page). With execute=true the request runs first;
                      524 (the CDN gave up while Intacct kept processing) executes by default.
    slow              wait `seconds` before processing (the request holds its concurrency slot)
    drop              close the connection without answering; nothing runs
    commit_then_drop  run the request (a create commits), then close without answering
"""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.faults import FaultRule


@dataclass
class IntacctFault(FaultRule):
    KINDS = ("status", "slow", "drop", "commit_then_drop")

    status: int = 503
    function: str = ""  # only requests holding this function (create, readByQuery, ...)
    controlid: str = ""  # only requests holding a function with this controlid
    execute: bool | None = None
    retry_after: int = 1  # seconds, for status 429

    def __post_init__(self) -> None:
        super().__post_init__()
        self.retry_after = int(self.retry_after)
        if self.execute is None:
            self.execute = self.kind == "commit_then_drop" or (
                self.kind == "status" and self.status == 524
            )

    def matches(self, functions: list[str], controlids: list[str]) -> bool:
        return (not self.function or self.function in functions) and (
            not self.controlid or self.controlid in controlids
        )
