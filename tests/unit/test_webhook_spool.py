"""The spool forgets applied bodies after a while, and still knows their events."""

from __future__ import annotations

import json
from datetime import timedelta

from closeout.webhook_spool import Spool


def test_applied_bodies_are_emptied_and_duplicates_still_recognised(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite")
    body = json.dumps({"guid": "evt-1", "eventType": "order_updated", "details": {}}).encode()
    assert spool.accept(body)[0]
    assert spool.forget_applied_bodies(timedelta(0)) == 0  # pending: kept whatever its age
    spool.mark_applied({"evt-1": "applied"})
    assert spool.forget_applied_bodies(timedelta(days=7)) == 0  # applied just now: kept
    assert spool.forget_applied_bodies(timedelta(0)) == 1
    assert spool._con.execute("select length(body) from events").fetchone() == (0,)
    assert spool.accept(body)[0] is False  # a late duplicate is still a duplicate
    assert spool.pending() == []
    spool.close()
