"""Faults a test can inject into the Intacct gateway.

    status            answer this HTTP status instead (429 carries GW-0010 and Retry-After;
                      5xx a gateway error page). With execute=true the request runs first;
                      524 (the CDN gave up while Intacct kept processing) executes by default.
    slow              wait `seconds` before processing (the request holds its concurrency slot)
    drop              close the connection without answering; nothing runs
    commit_then_drop  run the request (a create commits), then close without answering
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

KINDS = ("status", "slow", "drop", "commit_then_drop")


@dataclass
class FaultRule:
    kind: str
    function: str = ""        # only requests holding this function (create, readByQuery, ...)
    controlid: str = ""       # only requests holding a function with this controlid
    times: int = 1            # matching requests it hits (-1: forever)
    skip: int = 0             # let this many matching requests through first
    status: int = 503
    seconds: float = 0.0
    execute: bool | None = None
    retry_after: int = 1      # seconds, for status 429
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")
        # JSON numbers with a fraction arrive as Decimal
        self.seconds, self.status = float(self.seconds), int(self.status)
        self.times, self.skip, self.retry_after = int(self.times), int(self.skip), \
            int(self.retry_after)
        if self.execute is None:
            self.execute = self.kind == "commit_then_drop" or (
                self.kind == "status" and self.status == 524)

    def matches(self, functions: list[str], controlids: list[str]) -> bool:
        return (not self.function or self.function in functions) and (
            not self.controlid or self.controlid in controlids)


class Faults:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, **spec) -> FaultRule:
        rule = FaultRule(**spec)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, functions: list[str], controlids: list[str]) -> list[FaultRule]:
        """The rules that fire for this request, consuming one use of each."""
        fired = []
        with self._lock:
            for rule in self._rules:
                if not rule.matches(functions, controlids) or rule.times == 0:
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.times > 0:
                    rule.times -= 1
                rule.hits += 1
                fired.append(rule)
        return fired
