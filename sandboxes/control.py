"""The `/_sandbox/<action>` endpoints through which tests steer a sandbox.

A test POSTs a JSON body to `/_sandbox/<action>` (query parameters count as fields of it) and
gets JSON back. Every sandbox answers

    reset          back to how it started: {"ok": true}
    stats          its counters
    faults         add fault rules, one object or a list (`sandboxes.faults`): {"added": n}

and an ERP sandbox whose settings are a dataclass (`ErpControl`) also

    config         the settings in force
    configure      change some of them (an unknown name is refused with 400): the settings
    expire_tokens  expire every access token it issued: {"expired": n}

Each sandbox adds its own actions to the table in `control_actions()`. An unknown action
answers 404, a body that is not JSON 400; an action runs holding the sandbox's lock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, fields
from typing import Any
from urllib.parse import unquote

from sandboxes.faults import Faults
from sandboxes.http import Request, Response

CONTROL_PREFIX = "/_sandbox/"

Action = Callable[[Any], Response]  # takes the request's JSON body


@dataclass
class SandboxStats:
    """Counters a sandbox keeps; `Counter` fields are answered as plain objects."""

    def as_dict(self) -> dict:
        return {
            f.name: dict(value) if isinstance(value, Counter) else value
            for f in fields(self)
            for value in [getattr(self, f.name)]
        }


class Controlled:
    """What every sandbox offers its tests. A subclass sets `faults` and `_lock`, writes
    `reset()`, and extends `control_actions()` with actions of its own."""

    faults: Faults
    _lock: AbstractContextManager
    stats: SandboxStats
    control_body_error = "control bodies are JSON"

    def control_actions(self) -> dict[str, Action]:
        return {
            "reset": self._reset_action,
            "stats": lambda _: Response.json(self.stats_view()),
            "faults": self._add_faults,
        }

    def control(self, request: Request) -> Response:
        """Answer one `/_sandbox/<action>` request."""
        action = unquote(request.path).removeprefix(CONTROL_PREFIX)
        try:
            body = request.json() if request.body else {}
        except ValueError:
            return Response.json({"error": self.control_body_error}, 400)
        if isinstance(body, dict):
            body = {**request.query, **body}
        handler = self.control_actions().get(action)
        if handler is None:
            return Response.json({"error": f"unknown control action {action}"}, 404)
        with self.control_lock():
            return handler(body)

    def control_lock(self) -> AbstractContextManager:
        return self._lock

    def reset(self) -> None:
        raise NotImplementedError

    def stats_view(self) -> dict:
        return self.stats.as_dict()

    def _reset_action(self, _body) -> Response:
        self.reset()
        return Response.json({"ok": True})

    def _add_faults(self, body) -> Response:
        try:
            rules = [
                self.faults.add(**spec) for spec in (body if isinstance(body, list) else [body])
            ]
        except (TypeError, ValueError) as exc:
            return Response.json({"error": str(exc)}, 400)
        return Response.json({"added": len(rules)})


class ErpControl(Controlled):
    """An ERP sandbox with a settings dataclass `config` (its `updated(changes)` refuses unknown
    names) and access tokens to expire."""

    config: Any

    def control_actions(self) -> dict[str, Action]:
        return {
            **super().control_actions(),
            "config": lambda _: Response.json(self.config_view()),
            "configure": self._configure_action,
            "expire_tokens": lambda _: Response.json({"expired": self.expire_tokens()}),
        }

    def config_view(self) -> dict:
        return asdict(self.config)

    def configured(self, changes: dict) -> None:
        """Carry new settings over to what was built from the old ones."""

    def expire_tokens(self) -> int:
        raise NotImplementedError

    def _configure_action(self, body) -> Response:
        try:
            self.config = self.config.updated(body or {})
        except (TypeError, ValueError) as exc:
            return Response.json({"error": str(exc)}, 400)
        self.configured(body or {})
        return Response.json(self.config_view())
