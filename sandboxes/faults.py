"""Faults a test injects into a sandbox through its `/_sandbox/faults` endpoint.

A rule has a kind, says which requests it fires on, and how often:

    times  how many matching requests it hits (-1: forever)
    skip   let this many matching requests through first

The kinds every sandbox knows:

    status       answer HTTP `status` (5xx or 429) without doing anything
    slow         answer `seconds` late
    drop         close the connection without doing anything or answering
    commit_drop  do the request, keep what it did, then close the connection without
                 answering: the client cannot know the vendor accepted it

`RequestFault` fires on a request's path, method and M3 transaction; Exact, FreshBooks and Infor
use it as it is. D365, Intacct and Toast subclass `FaultRule` in their own `faults.py` for the
kinds and the request parts only they have (a `$batch` changeset, an XML function, a restaurant).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from sandboxes.http import Response


@dataclass
class FaultRule:
    """One injected fault; a subclass adds what a request must hold for it to fire."""

    KINDS: ClassVar[tuple[str, ...]] = ("status", "slow", "drop", "commit_drop")

    kind: str
    times: int = 1  # how many matching requests it hits (-1: forever)
    skip: int = 0  # let this many matching requests through first
    status: int = 500
    seconds: float = 0.0
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(self.KINDS)}")
        # JSON numbers with a fraction arrive as Decimal; a duration and a count are not money
        self.seconds, self.status = float(self.seconds), int(self.status)
        self.times, self.skip = int(self.times), int(self.skip)

    def matches(self, **request) -> bool:
        return True


@dataclass
class RequestFault(FaultRule):
    path: str = ""  # applies to request paths containing this
    method: str | None = None  # only this HTTP method
    transaction: str = ""  # only requests carrying this operation (an M3 transaction)

    def matches(
        self, method: str = "", path: str = "", operations: frozenset[str] | set[str] = frozenset()
    ) -> bool:
        return (
            self.path in path
            and (not self.method or self.method.upper() == method)
            and (not self.transaction or self.transaction in operations)
        )


class Faults:
    """The rules a sandbox holds; `take` says which fire for a request."""

    def __init__(self, rule: type[FaultRule] = RequestFault, **defaults) -> None:
        self._rule = rule
        self._defaults = defaults  # e.g. status=503 where the vendor's outage answer is 503
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, **spec) -> FaultRule:
        rule = self._rule(**{**self._defaults, **spec})
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, **request) -> list[FaultRule]:
        """The rules that fire for this request (its parts as the rule class names them),
        consuming one use of each."""
        fired = []
        with self._lock:
            for rule in self._rules:
                if rule.times == 0 or not rule.matches(**request):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
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


def dropped() -> Response:
    """No answer: the connection is closed."""
    response = Response()
    response.drop = True
    return response


def refusal(fired: list[FaultRule], answer: Callable[[FaultRule], Response]) -> Response | None:
    """What the first `status` or `drop` rule answers instead of doing the request (`answer`
    writes a status in the vendor's error format), or None when the request goes ahead."""
    for rule in fired:
        if rule.kind == "status":
            return answer(rule)
        if rule.kind == "drop":
            return dropped()
    return None


def after(response: Response, fired: list[FaultRule]) -> Response:
    """The answer of a request that was done, made `slow` or dropped (`commit_drop`)."""
    for rule in fired:
        if rule.kind == "slow":
            response.delay += rule.seconds
        elif rule.kind == "commit_drop":
            response.drop = True
    return response
