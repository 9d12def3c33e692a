"""Faults a test can inject into the FreshBooks sandbox.

    status       answer HTTP `status` (5xx, 429) without doing anything
    slow         answer `seconds` late
    drop         close the connection without doing anything or answering
    commit_drop  do the request, keep what it created, then close the connection without
                 answering: the client cannot know FreshBooks accepted it
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

    def take(self, method: str, path: str) -> list[FaultRule]:
        """The rules that fire for this request, consuming one use of each."""
        fired = []
        with self._lock:
            for rule in self._rules:
                if rule.path not in path or rule.times == 0:
                    continue
                if rule.method and rule.method.upper() != method:
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.times > 0:
                    rule.times -= 1
                rule.hits += 1
                fired.append(rule)
        return fired
