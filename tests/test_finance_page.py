"""The finance page in a real browser: `closeout report --html` on a loaded, built and posted
warehouse, opened in headless Chromium (Debian's, /usr/bin/chromium), whose rendered DOM must
show what the warehouse and the ERP sandbox hold."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import duckdb

from closeout.publish import publish
from loaders.pipeline import run_load
from posting.ready import post_ready
from tests.erps import adapter, erp_documents
from transform import build as transform

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ERP = "d365"
ODD_NAME = 'Harbor <b>& Vine</b> "Heights"'


class RenderedPage(HTMLParser):
    """Of the DOM Chromium rendered: each section's table rows (cell texts), every tag with its
    attributes, and the chart's series."""

    def __init__(self, dom: str):
        super().__init__()
        self.rows: dict[str, list[list[str]]] = {}
        self.tags: list[tuple[str, dict]] = []
        self.series: list[str] = []
        self._section = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self.feed(dom)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "section":
            self._section = attributes.get("id")
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "g" and "series" in (attributes.get("class") or ""):
            self.series.append(attributes["data-location"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.setdefault(self._section, []).append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def rendered_in_chromium(page: Path, profile: Path) -> RenderedPage:
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: `python3 tasks.py test` installs Debian's chromium package "
        "(apt-get install chromium) on a machine where it may"
    )
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--dump-dom", page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run([CHROMIUM, *flags], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "<html" in done.stdout, done.stderr[-2000:]
    return RenderedPage(done.stdout)


def rename_location(seeds: Path, guid: str, name: str) -> None:
    path = seeds / "seeds" / "locations.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["restaurant_guid"] == guid:
            row["location_name"] = name
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def query(db: Path, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def test_the_page_shows_in_a_browser_what_posted_what_is_held_and_the_tie(
    toast_env, warehouse, seeds_copy, monkeypatch, tmp_path
):
    for variable, value in toast_env.erp_env.items():
        monkeypatch.setenv(variable, value)
    toast_env.erp_control(ERP, "reset")
    first, refused = toast_env.restaurants[0], toast_env.restaurants[1]
    rename_location(seeds_copy, first, ODD_NAME)
    toast_env.freeze(datetime.now(timezone.utc))
    assert run_load(backfill_days=3, lag_minutes=0).ok
    assert transform.run_build(quiet=True).ok
    # The ERP refuses one location's dimension: its journals fail with the ERP's message.
    dimensions = dict(
        query(warehouse, "select restaurant_guid, location_dimension from mappings.locations")
    )
    adapter(ERP).accept_locations(toast_env, [d for g, d in dimensions.items() if g != refused])
    post_ready(ERP)
    publish()

    page = tmp_path / "page.html"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "report", "--erp", ERP, "--html", str(page)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = rendered_in_chromium(page, tmp_path / "chromium-profile")

    journals = {(row[0], row[1], row[2]): row for row in shown.rows["journals"][1:]}
    names = dict(query(warehouse, "select restaurant_guid, location_name from mappings.locations"))
    posted = query(
        warehouse,
        "select journal_id, restaurant_guid, business_date, idempotency_key, message, status "
        "from closeout_posting.postings order by journal_id",
    )
    in_erp = {doc.key: doc.document_id for doc in erp_documents(toast_env, ERP)}
    documents = [p for p in posted if p[5] == "posted"]
    refusals = [p for p in posted if p[5] == "failed"]
    assert documents and refusals and not {p[3] for p in refusals} & in_erp.keys()
    for journal_id, guid, day, key, message, status in documents[:3] + refusals[:3]:
        row = journals[(names[guid], f"{day:%Y-%m-%d}", journal_id.split(":")[2])]
        assert row[3] == ("posted" if status == "posted" else "failed"), row
        # posted: the document id as the ERP sandbox recorded it; failed: the ERP's message
        shown_detail = row[4].lower()
        assert (in_erp[key] if status == "posted" else message).lower() in shown_detail, row
    [(held_id, reasons)] = query(
        warehouse,
        "select journal_id, hold_reasons from finance.journals where status = 'held' "
        "order by business_date desc, journal_id limit 1",
    )
    guid, day, kind = held_id.split(":")
    assert journals[(names[guid], day, kind)][3:5] == ["held", reasons]

    ties = {(row[0], row[1]): row for row in shown.rows["tie"][1:]}
    summary = query(
        warehouse,
        "select restaurant_guid, business_date, toast_net_sales, journal_net_sales, tax_difference "
        "from finance.sales_summary where toast_net_sales is not null",
    )
    for guid, day, toast_net, journal_net, tax_difference in summary:
        row = ties[(names[guid], f"{day:%Y-%m-%d}")]
        assert row[2] == f"{toast_net:,.2f}"
        assert row[3] == ("–" if journal_net is None else f"{journal_net:,.2f}")
        marked = "≠ " if tax_difference else ""
        assert row[7] == ("–" if tax_difference is None else f"{marked}{tax_difference:,.2f}")
    assert isinstance(summary[0][2], Decimal)

    assert sorted(shown.series) == sorted({names[guid] for guid, *_ in summary})
    assert ODD_NAME in shown.series  # as text: escaped, not markup
    assert not [tag for tag, _ in shown.tags if tag in ("script", "b", "iframe", "link")]
    assert not [
        (tag, value)
        for tag, attributes in shown.tags
        for value in attributes.values()
        if value and "http" in value and tag != "svg"
    ]
    assert {row[0] for row in shown.rows["schedule"][1:]} == {
        names[guid] for guid in toast_env.restaurants
    }


def test_report_says_what_to_do_before_anything_was_published(warehouse, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "cli", "report", "--erp", ERP, "--html", str(tmp_path / "p.html")],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "nothing published yet" in done.stderr and "closeout run" in done.stderr
    assert "Traceback" not in done.stderr
