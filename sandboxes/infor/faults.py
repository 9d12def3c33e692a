"""Faults a test can inject into the M3 sandbox.

    status       answer HTTP `status` (5xx, or 429) without doing anything
    slow         answer `seconds` late
    drop         close the connection without doing anything or answering
    commit_drop  run the request, keep what it did, then close the connection without
                 answering: the client cannot know M3 accepted it
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

KINDS = ("status", "slow", "drop", "commit_drop")


@dataclass
class FaultRule:
    kind: str
    transaction: str = ""          # only requests that carry this MI transaction ("" = any)
    times: int = 1                 # how many matching requests it hits (-1: forever)
    skip: int = 0                  # let this many matching requests through first
    status: int = 500
    seconds: float = 0.0
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")


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

    def take(self, transactions: set[str]) -> list[FaultRule]:
        """The rules that fire for a request carrying `transactions`, using one of each."""
        fired = []
        with self._lock:
            for rule in self._rules:
                if rule.times == 0 or (rule.transaction and rule.transaction not in transactions):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.times > 0:
                    rule.times -= 1
                rule.hits += 1
                fired.append(rule)
        return fired
