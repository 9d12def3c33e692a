"""Faults a test can inject into the Toast sandbox: errors, slowness, dropped connections, bad data."""

from __future__ import annotations

import threading
from dataclasses import dataclass

KINDS = ("status", "slow", "drop", "truncate", "malformed_order", "unparseable_order")


@dataclass
class FaultRule:
    kind: str
    path: str = ""                 # applies to request paths starting with this
    restaurant: str | None = None  # only for this Toast-Restaurant-External-ID
    times: int = 1                 # how many matching requests it hits (-1: forever)
    skip: int = 0                  # let this many matching requests through first
    status: int = 500
    seconds: float = 0.0
    field: str = "guid"            # malformed_order: the field to break ("encoding": not UTF-8)
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

    def take(self, path: str, restaurant: str | None) -> list[FaultRule]:
        """The rules that fire for this request, consuming one use of each."""
        fired = []
        with self._lock:
            for rule in self._rules:
                if not path.startswith(rule.path):
                    continue
                if rule.restaurant and rule.restaurant != restaurant:
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.times == 0:
                    continue
                if rule.times > 0:
                    rule.times -= 1
                rule.hits += 1
                fired.append(rule)
        return fired

    def fired(self) -> int:
        """How many times the rules have fired since they were added."""
        with self._lock:
            return sum(rule.hits for rule in self._rules)

    def give_back(self, rule: FaultRule) -> None:
        """Undo one use of a rule that fired on a request it could not apply to."""
        with self._lock:
            rule.hits -= 1
            if rule.times >= 0:
                rule.times += 1
