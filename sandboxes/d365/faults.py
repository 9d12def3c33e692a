"""Faults a test can inject into the D365 sandbox: the shared kinds (`sandboxes.faults`), matched
on the start of the request path and the method, and one of F&O's own:

    changeset_failure  the next changeset of a `$batch` fails (outer 200, one inner error) with
                       `message`, and nothing in it is committed
"""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.faults import FaultRule


@dataclass
class D365Fault(FaultRule):
    KINDS = (*FaultRule.KINDS, "changeset_failure")

    path: str = ""  # applies to request paths starting with this
    method: str | None = None  # only this HTTP method (GET, POST, DELETE...)
    message: str = "Injected fault: the changeset was rolled back."

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path) and (not self.method or self.method.upper() == method)
