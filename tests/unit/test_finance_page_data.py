"""The finance page on warehouses that do not hold everything yet: never built, built but
never posted or served. It says what is missing rather than failing."""

from __future__ import annotations

from datetime import date, datetime, timezone

import duckdb

from closeout.finance_html import render_page
from closeout.finance_page import ServiceView, read_page_data

NOW = datetime(2026, 12, 8, 12, tzinfo=timezone.utc)


def page(con, service=None) -> str:
    return render_page(read_page_data(con, "d365", service=service, now=NOW))


def test_a_warehouse_never_built_renders_what_to_do():
    with duckdb.connect() as con:
        html = page(con)
    assert "nothing built yet: run `closeout run`" in html
    assert "No runs recorded yet." in html and "no webhook spool" in html


def test_journals_never_posted_show_held_and_ready_with_escaped_names():
    with duckdb.connect() as con:
        con.execute("create schema finance; create schema mappings")
        con.execute(
            "create table finance.journals (journal_id varchar, restaurant_guid varchar, "
            "business_date date, journal_type varchar, status varchar, hold_reasons varchar, "
            "version varchar)"
        )
        con.execute(
            "insert into finance.journals values "
            "('r1:2026-12-06:sales', 'r1', '2026-12-06', 'sales', 'ready', null, 'v1'), "
            "('r1:2026-12-07:sales', 'r1', '2026-12-07', 'sales', 'held', "
            "'day not closed: it closes at 2026-12-08 06:00', 'v2')"
        )
        con.execute("create table mappings.locations (restaurant_guid varchar, location_name text)")
        con.execute("insert into mappings.locations values ('r1', '<script>alert(1)</script>')")
        service = ServiceView(
            {"received": 3, "verified": 2, "refused": 1, "applied": 2, "duplicates": 0},
            [("<script>alert(1)</script>", date(2026, 12, 8), NOW)],
        )
        data = read_page_data(con, "d365", service=service, now=NOW)
        html = render_page(data)
    assert [(row.state, row.detail) for row in data.journals] == [
        ("ready", "not posted yet"),
        ("held", "day not closed: it closes at 2026-12-08 06:00"),
    ]
    assert "postings (nothing posted yet)" in html
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "data-counter='refused'>1<" in html
    assert "2026-12-08 12:00 UTC" in html
