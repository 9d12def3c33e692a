"""Faults a test injects into a sandbox (its `/_sandbox/faults` endpoint), shared by the ERP
sandboxes that need no kinds of their own.

    status       answer HTTP `status` (5xx or 429) without doing anything
    slow         answer `seconds` late
    drop         close the connection without doing anything or answering
    commit_drop  do the request, keep what it did, then close the connection without
                 answering: the client cannot know the vendor accepted it
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

KINDS = ("status", "slow", "drop", "commit_drop")


@dataclass
class FaultRule:
    kind: str
    path: str = ""                 # applies to request paths containing this
    method: str | None = None      # only this HTTP method
    transaction: str = ""          # only requests carrying this operation (an M3 transaction)
    times: int = 1                 # how many matching requests it hits (-1: forever)
    skip: int = 0                  # let this many matching requests through first
    status: int = 500
    seconds: float = 0.0
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")

    def matches(self, method: str, path: str, operations: frozenset[str] | set[str]) -> bool:
        return (self.times != 0 and self.path in path
                and (not self.method or self.method.upper() == method)
                and (not self.transaction or self.transaction in operations))


class Faults:
    def __init__(self, default_status: int = 500) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._default_status = default_status

    def add(self, **spec) -> FaultRule:
        rule = FaultRule(**{"status": self._default_status, **spec})
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, method: str = "", path: str = "",
             operations: frozenset[str] | set[str] = frozenset()) -> list[FaultRule]:
        """The rules that fire for this request, consuming one use of each."""
        fired = []
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path, operations):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.times > 0:
                    rule.times -= 1
                rule.hits += 1
                fired.append(rule)
        return fired
