"""Named points where a test can kill the posting process (SIGKILL, no cleanup at all).

`CLOSEOUT_FAILPOINT=name` (optionally `name:N`, the Nth time the point is reached) makes the
process kill itself there, which is how the tests prove that a crash at each step of a post
leaves the ERP and the posted-keys ledger consistent. Unset, a failpoint costs one dict lookup.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_reached: Counter[str] = Counter()


def failpoint(name: str) -> None:
    wanted = os.environ.get("CLOSEOUT_FAILPOINT")
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
