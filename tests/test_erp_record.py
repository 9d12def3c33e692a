"""The ERP, not the warehouse, is the record of what was posted (ACCOUNTING.md, "One document
per journal in the ERP"): a new warehouse finds what an old one posted and sends only the
difference; a journal that moves to another company is reversed where it was; an adjustment
of a closed period is booked on the first open day; a plan that would double a journal is
refused before anything leaves."""

from __future__ import annotations

import csv
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from closeout.errors import PlanCheckError
from loaders.pipeline import run_load
from posting.plan import JournalRow, plan_journal
from posting.post import check_plan
from posting.status import journal_states
from tests.erps import erp_documents, net_by_account
from tests.test_post import (
    a_posted_card_order,
    journal_net,
    load_and_build,
    post,
    query,
    the_adjustment,
)
from transform import build as transform


def load_build_post(erp: str, *, backfill_days: int = 4):
    assert run_load(backfill_days=backfill_days, lag_minutes=0).ok
    result = transform.run_build(quiet=True)
    assert result.ok, [f"{p.name}: {p.message}" for p in result.errors]
    return post(erp)


def documents_by_journal(toast_env, erp: str) -> dict[str, list]:
    """The ERP's documents grouped by journal identity (`CO-<date>-<guid8>-<type>`)."""
    grouped: dict[str, list] = {}
    for document in erp_documents(toast_env, erp):
        identity = document.key.rsplit("-", 1)[0].rstrip("0123456789")
        grouped.setdefault(identity, []).append(document)
    return grouped


def identity_of(journal_id: str) -> str:
    guid, day, kind = journal_id.split(":")
    return f"CO-{day.replace('-', '')}-{guid[:8]}-{kind[:1].upper()}"


def held_as_not_closed(report) -> set[str]:
    """Journals a run held because their day had not closed: the clock may pass a location's
    closeout hour before the next run, which then rightly posts them."""
    return {o.journal_id for o in report.by_state("held") if "day not closed" in (o.message or "")}


def test_a_new_warehouse_posts_only_the_difference_from_what_the_erp_holds(
    toast_env, warehouse, erp, tmp_path, monkeypatch
):
    # Where a deployment keeps an ERP connection that rotates its refresh token on every use
    # (Exact): outside the warehouse, so it outlives the lost disk.
    monkeypatch.setenv("ERP__EXACT__TOKEN_DIR", str(tmp_path / "exact-tokens"))
    as_of = datetime.now(timezone.utc) - timedelta(seconds=5)
    toast_env.freeze(as_of)
    first = load_build_post(erp)
    assert first.by_state("posted") and not first.by_state("failed")
    restaurant, order_guid, day = a_posted_card_order(warehouse)
    journal_id = f"{restaurant}:{day}:sales"
    before = documents_by_journal(toast_env, erp)
    assert len(before[identity_of(journal_id)]) == 1

    toast_env.edit_late(restaurant, order_guid)  # a tip changes on a posted day
    rebuilt = tmp_path / "rebuilt" / "warehouse.duckdb"  # a lost disk: nothing remembered
    (rebuilt.parent / ".closeout").mkdir(parents=True)
    # ... but the ERP connection, which the operator makes again (`closeout connect`): an
    # OAuth refresh token works once, so the first consent cannot be replayed.
    for connection in (warehouse.parent / ".closeout").glob("*oauth*"):
        shutil.copyfile(connection, rebuilt.parent / ".closeout" / connection.name)
    monkeypatch.setenv("CLOSEOUT_DB", str(rebuilt))
    second = load_build_post(erp)

    # Only a day that closed between the two runs (its closeout hour passed meanwhile) is new.
    newly_posted = {o.journal_id for o in second.by_state("posted")}
    assert newly_posted <= held_as_not_closed(first) and not second.by_state("failed")
    the_adjustment(second, journal_id, rebuilt, order_guid, since=as_of)
    adjusted = {identity_of(o.journal_id) for o in second.by_state("adjusted")}
    changed = adjusted | {identity_of(j) for j in newly_posted}
    after = documents_by_journal(toast_env, erp)
    assert {i: len(d) for i, d in after.items() if i not in changed} == {
        i: len(d) for i, d in before.items() if i not in changed
    }
    assert all(len(after[identity_of(j)]) == 1 for j in newly_posted)
    original, adjustment = sorted(after[identity_of(journal_id)], key=lambda d: d.key)
    assert adjustment.balanced and len(adjustment.lines) == 2  # tips payable and the tender
    # Every journal the new warehouse holds ready: the ERP holds exactly its lines.
    ready = [
        j
        for (j,) in query(rebuilt, "select journal_id from finance.journals where status = 'ready'")
    ]
    for ready_id in ready:
        held = [line for doc in after.get(identity_of(ready_id), []) for line in doc.lines]
        assert net_by_account(held) == journal_net(rebuilt, ready_id), ready_id
    found = query(rebuilt, "select count(*) from closeout_posting.postings where found_in_erp")
    assert found[0][0] == sum(len(docs) for docs in before.values())


def seeds_with(tmp_path: Path, monkeypatch, edit) -> Path:
    """The dbt project copied once per test, its seeds edited, for the next build to read."""
    project = tmp_path / "dbt_project"
    if not project.exists():
        shutil.copytree(
            transform.PROJECT_DIR,
            project,
            ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"),
        )
        monkeypatch.setattr(transform, "PROJECT_DIR", project)
    edit(project / "seeds")
    return project


def rewrite_csv(path: Path, change) -> None:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    fields = list(rows[0]) if rows else next(csv.reader(path.open()))
    rows = change(rows)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize("erp", ["d365"], indirect=True)
def test_a_journal_moved_to_another_company_is_reversed_where_it_was(
    toast_env, warehouse, erp, tmp_path, monkeypatch
):
    toast_env.freeze(datetime.now(timezone.utc) - timedelta(seconds=5))
    seeds_with(tmp_path, monkeypatch, lambda copy: None)
    first = load_build_post(erp, backfill_days=2)
    moved = first.by_state("posted")[0]
    restaurant = moved.journal_id.split(":")[0]
    old_company = query(
        warehouse, "select company from finance.journals where journal_id = ?", (moved.journal_id,)
    )[0][0]
    # Sold to the group's entity of another location: a company the ERP has.
    new_company = query(
        warehouse,
        "select min(erp_company) from mappings.locations where erp_company <> ?",
        (old_company,),
    )[0][0]

    def move(copy: Path) -> None:
        rewrite_csv(
            copy / "locations.csv",
            lambda rows: [
                {**row, "erp_company": new_company} if row["restaurant_guid"] == restaurant else row
                for row in rows
            ],
        )

    seeds_with(tmp_path, monkeypatch, move)
    assert transform.run_build(quiet=True).ok
    second = post(erp)

    moved_ids = {
        o.journal_id
        for o in first.outcomes
        if o.journal_id.startswith(restaurant) and o.state == "posted"
    }
    assert {o.journal_id for o in second.by_state("posted")} == moved_ids
    assert {o.journal_id for o in second.by_state("adjusted")} == moved_ids  # the reversals
    assert not second.by_state("unchanged") and not second.by_state("failed")
    postings = query(
        warehouse,
        """select company, kind, total_debit from closeout_posting.postings
           where journal_id = ? order by sequence""",
        (moved.journal_id,),
    )
    (c0, k0, d0), (c1, k1, d1), (c2, k2, d2) = postings
    assert (c0, k0) == (old_company, "original")
    assert [(c1, k1), (c2, k2)] == [(old_company, "adjustment"), (new_company, "original")]
    assert d0 == d1 == d2 and d0 > 0
    documents = documents_by_journal(toast_env, erp)[identity_of(moved.journal_id)]
    assert len(documents) == 3
    assert net_by_account(line for doc in documents for line in doc.lines) == journal_net(
        warehouse, moved.journal_id
    )
    again = post(erp)  # nothing more to do
    assert not again.by_state("posted") and not again.by_state("adjusted")


@pytest.mark.parametrize("erp", ["intacct"], indirect=True)
def test_an_adjustment_of_a_closed_period_is_booked_on_the_first_open_day(
    toast_env, warehouse, erp, tmp_path, monkeypatch
):
    as_of = datetime.now(timezone.utc) - timedelta(seconds=5)
    toast_env.freeze(as_of)
    seeds_with(tmp_path, monkeypatch, lambda copy: None)
    load_build_post(erp)
    restaurant, order_guid, day = a_posted_card_order(warehouse)
    journal_id = f"{restaurant}:{day}:sales"
    company = query(
        warehouse, "select company from finance.journals where journal_id = ?", (journal_id,)
    )[0][0]
    closed_through = day + timedelta(days=1)
    seeds_with(
        tmp_path,
        monkeypatch,
        lambda copy: (copy / "closed_periods.csv").write_text(
            f"erp_company,closed_through\n{company},{closed_through}\n"
        ),
    )

    toast_env.edit_late(restaurant, order_guid)
    report = load_build_post(erp, backfill_days=0)

    adjusted = the_adjustment(report, journal_id, warehouse, order_guid, since=as_of)
    assert adjusted.journal_id == journal_id
    assert adjusted.posting_date == closed_through + timedelta(days=1)
    [(posting_date, kind)] = query(
        warehouse,
        "select posting_date, kind from closeout_posting.postings "
        "where journal_id = ? and sequence = 1",
        (journal_id,),
    )
    assert (posting_date, kind) == (closed_through + timedelta(days=1), "adjustment")
    # `closeout status` shows it against the business date it corrects
    assert any(
        state.business_date == day and "adjustment booked" in state.detail
        for state in journal_states(erp, (day, day))
    )


def test_a_plan_that_doubles_a_journal_is_refused_before_anything_is_sent(toast_env, warehouse):
    load_and_build(toast_env)
    with duckdb.connect(str(warehouse)) as con:
        row = con.execute(
            """select journal_id, restaurant_guid, business_date, journal_type, company,
                      currency, version from finance.journals where status = 'ready' limit 1"""
        ).fetchone()
        journal = JournalRow(
            row[0], row[1], "Somewhere", row[2], row[3], row[4], row[5], row[6], "ready", None
        )
        from posting.plan import journal_lines

        lines = journal_lines(con, [journal.journal_id])[journal.journal_id]
        planned, _ = plan_journal(journal, [], lines)
        check_plan(con, planned)  # the journal once: fine
        with pytest.raises(PlanCheckError, match=f"{planned[0].document.key} planned 2 times"):
            check_plan(con, planned + planned)
        doubled = [*lines, *lines]
        with pytest.raises(PlanCheckError, match="its journal"):
            check_plan(con, plan_journal(journal, [], doubled)[0])


@pytest.mark.parametrize("erp", ["intacct"], indirect=True)
def test_an_adjustment_the_erp_refuses_as_closed_is_booked_on_the_day_of_the_run(
    toast_env, warehouse, erp
):
    as_of = datetime.now(timezone.utc) - timedelta(seconds=5)
    toast_env.freeze(as_of)
    load_build_post(erp)
    restaurant, order_guid, day = a_posted_card_order(warehouse)
    journal_id = f"{restaurant}:{day}:sales"
    today = date.today()
    company_id = toast_env.erp_env["ERP__INTACCT__COMPANY_ID"]
    toast_env.erp_control(  # the accountant closed everything before today, in Intacct only
        "intacct", "configure", {"companies": {company_id: {"closed_before": str(today)}}}
    )

    toast_env.edit_late(restaurant, order_guid)
    report = load_build_post(erp, backfill_days=0)

    adjusted = the_adjustment(report, journal_id, warehouse, order_guid, since=as_of)
    assert (adjusted.journal_id, adjusted.posting_date) == (journal_id, today)
    assert not report.by_state("failed")
    [(posting_date, status)] = query(
        warehouse,
        "select posting_date, status from closeout_posting.postings "
        "where journal_id = ? and sequence = 1",
        (journal_id,),
    )
    assert (posting_date, status) == (today, "posted")
