"""The Exact Online connector against the Exact sandbox over real HTTP: what it writes, how it
finds what is there, rotating tokens, Exact's limits, its error formats, and a daily budget
running out mid-run and resuming the next day through the real pipeline."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from closeout.errors import ErpAuthError, ErpBudgetSpent, ErpPeriodClosed, ErpRefusal
from posting.connectors.contract import ErpDocument, Journal, Line
from posting.connectors.exact import ExactConnector, ExactSettings, line_description
from posting.http import ErpHttp
from posting.oauth import RotatingTokenStore
from sandboxes.exact.server import ExactSandbox
from tests.kit import SandboxClient, serving
from tests.kit.connectors import Recorded, sales_lines

D = Decimal
ROOT = Path(__file__).resolve().parents[1]
POST_PATH = "POST /api/v1/{division}/generaljournalentry/GeneralJournalEntries"
LINES_PATH = "GET /api/v1/{division}/generaljournalentry/GeneralJournalEntryLines"
ACCOUNTS_PATH = "GET /api/v1/{division}/financial/GLAccounts"


server = serving(ExactSandbox)


class Sandbox(SandboxClient):
    app: ExactSandbox

    def requests(self) -> Counter:
        return Counter(self.stats()["requests"])


@pytest.fixture
def exact(server, tmp_path, monkeypatch) -> Sandbox:
    monkeypatch.setenv("CLOSEOUT_SECRET_KEY", Fernet.generate_key().decode())
    return Sandbox(server.url, server.app).reset()


@pytest.fixture
def settings(exact: Sandbox, tmp_path) -> ExactSettings:
    config = exact.app.config
    return ExactSettings(
        client_id=config.client_id,
        client_secret=config.client_secret,
        redirect_uri=config.redirect_uri,
        base_url=exact.url,
        token_dir=str(tmp_path / "tokens"),
        initial_refresh_token=exact.app.initial_refresh_token,
    )


class Run(Recorded):
    def __init__(self, settings: ExactSettings, **options):
        super().__init__("exact")
        self.connector = ExactConnector(settings, self.http, sleep=self._sleep, **options)

    def _sleep(self, seconds: float) -> None:
        import time

        self.sleeps.append(seconds)
        time.sleep(seconds)


@pytest.fixture
def run(settings):
    opened = Run(settings)
    yield opened
    opened.connector.close()


def journal(
    number: int = 1,
    kind: str = "original",
    location: str = "BKN",
    lines: tuple[Line, ...] | None = None,
) -> Journal:
    key = f"CO-2026010{number % 10}-b601e100-S1-{number:010d}"
    lines = lines or sales_lines(location)
    return Journal(
        key=key,
        journal_id=f"guid:2026-01-0{number % 10}:sales:{number}",
        restaurant_guid="guid",
        location_name="Harbor & Vine Brooklyn Heights",
        company="HV-NY",
        business_date=date(2026, 1, 5),
        journal_type="sales",
        kind=kind,
        adjusts=None,
        currency="USD",
        title=f"Toast sales [{key}]",
        lines=lines,
    )


def stored(exact: Sandbox) -> list[dict]:
    return exact.control("entries")


# -- happy path -----------------------------------------------------------------------------------
def test_journal_becomes_one_signed_balanced_entry_with_dimensions_and_the_key(exact, run):
    document_id = run.connector.create(journal(1))

    [entry] = stored(exact)
    assert entry["EntryID"] == document_id and entry["JournalCode"] == "90"
    got = [
        (
            line["GLAccountCode"],
            D(str(line["AmountFC"])),
            line["CostCenter"],
            line["CostUnit"],
            line["Description"],
        )
        for line in entry["lines"]
    ]
    key = journal(1).key
    assert got == [
        ("1010", D("1234.50"), "BKN", None, f"Cash takings {key}"),
        ("1110", D("800.05"), "BKN", None, f"Card settlements {key}"),
        ("4000", D("-1700.00"), "BKN", "DINING", f"Food sales {key}"),
        ("4020", D("-200.30"), "BKN", "BAR", f"Liquor sales {key}"),
        ("2200", D("-134.25"), "BKN", None, f"State sales tax {key}"),
    ]
    body = next(e.request_body for e in run.audit if e.method == "POST" and "General" in e.url)
    assert '"AmountFC":-1700.00' in body and '"Description"' in body
    assert '"JournalCode":"90"' in body and "GLAccount" in body


def test_cost_center_and_unit_fields_are_settings(exact, settings):
    swapped = Run(replace(settings, cost_center_field="revenue_center", cost_unit_field=""))
    exact.control("configure", {"cost_centers": ["DINING", "BAR"]})
    swapped.connector.create(journal(2))
    lines = stored(exact)[0]["lines"]
    assert [(ln["CostCenter"], ln["CostUnit"]) for ln in lines][2:4] == [
        ("DINING", None),
        ("BAR", None),
    ]


def test_line_description_keeps_the_key_whole():
    long = journal(3, lines=(Line(1, "1010", D("1"), D("0"), "x" * 80, "BKN", None),))
    text = line_description(long, long.lines[0])
    assert len(text) == 60 and text.endswith(" " + long.key)


# -- what Exact holds: held() -------------------------------------------------------------------
def day(
    business: date,
    sequence: int = 0,
    version: str = "0000000000",
    lines: tuple[Line, ...] | None = None,
    restaurant: str = "b601e100",
    posting_date: date | None = None,
) -> Journal:
    """A sales journal of `restaurant` on `business`: its original (sequence 0) or an
    adjustment, in the key format closeout makes."""
    key = f"CO-{business:%Y%m%d}-{restaurant}-S{sequence}-{version}"
    return Journal(
        key=key,
        journal_id=f"{restaurant}:{business}:sales",
        restaurant_guid=restaurant,
        location_name="Harbor & Vine Brooklyn Heights",
        company="HV-NY",
        business_date=business,
        journal_type="sales",
        kind="adjustment" if sequence else "original",
        adjusts=None,
        currency="USD",
        title=f"Toast sales {key}",
        lines=lines or sales_lines(),
        division="BKN",
        posting_date=posting_date,
    )


def net(*line_sets) -> dict:
    """Debit minus credit per (account, location, revenue center), zeros left out."""
    total: Counter = Counter()
    for lines in line_sets:
        for line in lines:
            total[(line.account, line.location, line.revenue_center)] += line.debit - line.credit
    return {key: amount for key, amount in total.items() if amount}


def fresh(settings: ExactSettings) -> ExactConnector:
    """A connector of another run (a rebuilt warehouse): it knows nothing but the ERP."""
    return ExactConnector(settings, ErpHttp("exact"))


# The adjustment moves 50.00 of liquor to non-alcoholic drinks, an account the day's current
# version no longer names (so its GUID is read back and mapped back to the code).
MOVE_TO_4010 = (
    Line(1, "4020", D("50.00"), D("0"), "Liquor sales", "BKN", "BAR"),
    Line(2, "4010", D("0"), D("50.00"), "Drinks sales", "BKN", "BAR"),
)


def test_held_reads_back_the_original_and_its_adjustments_whatever_their_versions(exact, run):
    monday = date(2026, 1, 5)
    original = day(monday, 0, "aaaaaaaaaa")
    adjustment = day(monday, 1, "bbbbbbbbbb", MOVE_TO_4010, posting_date=date(2026, 1, 9))
    ids = [run.connector.create(original), run.connector.create(adjustment)]
    run.connector.create(day(date(2026, 1, 6)))  # another day: not asked for
    before = exact.requests()

    probe = day(monday, 2, "cccccccccc")  # today's version, a new sequence: none of the keys
    nothing_posted = day(date(2026, 1, 7))
    found = fresh(run.connector.settings).held([probe, nothing_posted])

    assert list(found) == [probe.journal_id]
    documents = found[probe.journal_id]
    assert [(d.key, d.document_id) for d in documents] == [
        (original.key, ids[0]),
        (adjustment.key, ids[1]),
    ]
    assert all(isinstance(d, ErpDocument) for d in documents)
    assert {(d.company, d.division) for d in documents} == {("HV-NY", "BKN")}
    assert [d.sequence for d in documents] == [0, 1]
    assert net(*(d.lines for d in documents)) == net(original.lines, adjustment.lines)
    assert net(documents[0].lines) == net(original.lines)
    assert net(documents[1].lines) == {
        ("4020", "BKN", "BAR"): D("50.00"),
        ("4010", "BKN", "BAR"): D("-50.00"),
    }
    counts = exact.requests() - before
    assert counts[LINES_PATH] == 1 and counts[POST_PATH] == 0
    assert counts[ACCOUNTS_PATH] == 2  # the probes' codes, then 4010 by its GUID


def test_held_of_nothing_posted_is_empty_and_an_identity_is_not_a_prefix_match(exact, run):
    run.connector.create(day(date(2026, 1, 5), restaurant="b601e100"))
    other_type = replace(day(date(2026, 1, 5)), key="CO-20260105-b601e100-L0-0000000000")
    assert fresh(run.connector.settings).held([day(date(2026, 1, 5), restaurant="49e1ee43")]) == {}
    assert fresh(run.connector.settings).held([other_type]) == {}


def test_a_partial_entry_is_left_out(exact, run):
    monday = date(2026, 1, 5)
    whole = run.connector.create(day(monday, 0))
    broken = run.connector.create(day(monday, 1, "bbbbbbbbbb", MOVE_TO_4010))
    assert exact.control("remove_line", {"entry": broken, "line": 2}) == {"removed": 1}

    found = fresh(run.connector.settings).held([day(monday, 2)])

    assert [d.document_id for d in found[day(monday).journal_id]] == [whole]


def test_held_for_thirty_journals_takes_a_bounded_number_of_requests(exact, run):
    journals = [day(date(2026, 1, 1 + n % 28), restaurant=f"{n:08x}") for n in range(30)]
    adjustments = [
        day(j.business_date, 1, "bbbbbbbbbb", MOVE_TO_4010, j.restaurant_guid)
        for j in journals[:10]
    ]
    for posted in journals + adjustments:
        run.connector.create(posted)
    never_posted = [day(date(2026, 1, 2), restaurant=f"{n:08x}") for n in range(100, 110)]
    probes = [replace(j, key=j.key.replace("-S0-", "-S2-")) for j in journals] + never_posted
    before = exact.requests()

    found = fresh(run.connector.settings).held(probes)

    assert set(found) == {j.journal_id for j in journals}
    for j, adjusted in zip(journals, [True] * 10 + [False] * 20, strict=True):
        expected = net(j.lines, MOVE_TO_4010) if adjusted else net(j.lines)
        assert net(*(d.lines for d in found[j.journal_id])) == expected
    counts = exact.requests() - before
    # 40 identities: 2 queries of 20, their 170 lines in pages of 60: 3 pages, and 1 more
    # where the first query's last page is part full. Me and the two GLAccounts make 7.
    assert counts[LINES_PATH] == 4 and sum(counts.values()) == 7, counts


def test_read_back_dimensions_follow_the_cost_center_and_unit_settings(exact, settings):
    swapped = replace(settings, cost_center_field="revenue_center", cost_unit_field="location")
    exact.control("configure", {"cost_centers": ["DINING", "BAR"], "cost_units": ["BKN"]})
    lines = (
        Line(1, "1010", D("12.00"), D("0"), "Cash", "BKN", None),
        Line(2, "4000", D("0"), D("12.00"), "Food", "BKN", "DINING"),
    )
    Run(swapped).connector.create(day(date(2026, 1, 5), lines=lines))
    stored_lines = stored(exact)[0]["lines"]
    assert [(ln["CostCenter"], ln["CostUnit"]) for ln in stored_lines] == [
        (None, "BKN"),
        ("DINING", "BKN"),
    ]

    [document] = fresh(swapped).held([day(date(2026, 1, 5), 1)])[day(date(2026, 1, 5)).journal_id]

    assert net(document.lines) == net(lines)


def test_the_document_date_is_the_entry_date_and_held_still_finds_it(exact, run):
    late = day(date(2026, 1, 5), 1, "bbbbbbbbbb", MOVE_TO_4010, posting_date=date(2026, 2, 3))
    run.connector.create(late)

    [entry] = stored(exact)
    assert {ln["Date"] for ln in entry["lines"]} == {"/Date(1770076800000)/"}  # 2026-02-03
    assert (entry["FinancialYear"], entry["FinancialPeriod"]) == (2026, 2)
    assert late.key in entry["lines"][0]["Description"]  # the key keeps the business date
    found = fresh(run.connector.settings).held([day(date(2026, 1, 5), 2)])
    assert [d.key for d in found[late.journal_id]] == [late.key]


@pytest.mark.parametrize(
    "language, words", [("en", "Period is closed: 2026 – 1"), ("nl", "Periode is afgesloten")]
)
def test_a_closed_period_is_period_closed_in_exacts_words(exact, run, language, words):
    exact.control("configure", {"language": language, "periods_closed_through": "2026-01-31"})
    with pytest.raises(ErpPeriodClosed, match=f"{words}.*Reopen that financial period") as refused:
        run.connector.create(day(date(2026, 1, 5)))
    assert "2026-01-05" in str(refused.value) and "CO-20260105-b601e100-S0" in str(refused.value)
    assert exact.requests()[POST_PATH] == 1 and stored(exact) == []

    # The same correction dated the first open day is taken.
    run.connector.create(day(date(2026, 1, 5), 1, posting_date=date(2026, 2, 1)))
    assert len(stored(exact)) == 1


def test_other_refusals_are_not_period_closed(exact, run):
    with pytest.raises(ErpRefusal) as refused:
        run.connector.create(day(date(2026, 1, 5), lines=sales_lines("NOPE")))
    assert not isinstance(refused.value, ErpPeriodClosed)


# -- refusals -------------------------------------------------------------------------------------
@pytest.mark.parametrize("language, words", [("en", "is not balanced"), ("nl", "niet in balans")])
def test_validation_500_is_a_refusal_with_exacts_words_not_retried(exact, run, language, words):
    exact.control("configure", {"language": language})
    unbalanced = journal(
        4,
        lines=(
            Line(1, "1010", D("10.00"), D("0"), "a", "BKN", None),
            Line(2, "4000", D("0"), D("9.00"), "b", "BKN", None),
        ),
    )
    with pytest.raises(ErpRefusal, match=words):
        run.connector.create(unbalanced)
    assert exact.requests()[POST_PATH] == 1 and stored(exact) == []


def test_unknown_cost_center_is_refused_by_exact(exact, run):
    with pytest.raises(ErpRefusal, match="Cost center NOPE"):
        run.connector.create(journal(5, location="NOPE"))


def test_unknown_account_is_refused_before_any_post(exact, run):
    bad = journal(
        6,
        lines=(
            Line(1, "9999", D("5"), D("0"), "a", "BKN", None),
            Line(2, "4000", D("0"), D("5"), "b", "BKN", None),
        ),
    )
    with pytest.raises(ErpRefusal, match="no G/L account 9999.*chart_of_accounts.csv"):
        run.connector.create(bad)
    assert exact.requests()[POST_PATH] == 0


# -- tokens ---------------------------------------------------------------------------------------
def test_the_rotated_refresh_token_is_saved_before_it_is_used(exact, run, settings):
    run.connector.create(journal(7))
    store = RotatingTokenStore("exact", Path(settings.token_dir))
    saved = store.load()
    assert saved.refresh_token != settings.initial_refresh_token
    assert exact.stats()["refreshes"] == 1
    # What is saved is the live token: the sandbox accepts it (and rotates it again)...
    exact.control("expire_tokens")
    fresh = httpx.post(
        f"{exact.url}/api/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "refresh_token": saved.refresh_token,
        },
    )
    assert fresh.status_code == 200
    # ...so the connector, holding the now-old one, is refused and says what to do.
    later = Run(settings)
    with pytest.raises(ErpAuthError, match="closeout connect exact"):
        later.connector.create(journal(8))
    assert exact.stats()["reuse_detected"] == 1


def test_an_expired_access_token_is_refreshed_once_and_reused_across_runs(exact, settings):
    Run(settings).connector.create(journal(9))
    Run(settings).connector.create(journal(10))  # a second run: the cached token
    assert exact.stats()["refreshes"] == 1
    exact.control("expire_tokens")
    Run(settings).connector.create(journal(11))
    stats = exact.stats()
    assert stats["refreshes"] == 2 and stats["unauthorized"] == 1
    assert stats["refused_early"] == 0 and len(stored(exact)) == 3


def test_two_processes_refreshing_at_once_end_with_one_valid_token(exact, settings):
    script = textwrap.dedent(f"""
        from pathlib import Path
        from posting.connectors.exact import ExactConnector, ExactSettings
        from posting.http import ErpHttp
        settings = ExactSettings(client_id={settings.client_id!r},
            client_secret={settings.client_secret!r}, redirect_uri={settings.redirect_uri!r},
            base_url={settings.base_url!r}, token_dir={settings.token_dir!r},
            initial_refresh_token={settings.initial_refresh_token!r})
        print(ExactConnector(settings, ErpHttp("exact")).division)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], results
    stats = exact.stats()
    assert stats["refreshes"] == 1 and stats["token_refusals"] == 0
    assert stats["reuse_detected"] == 0


def test_audit_never_holds_a_token_or_the_secret(exact, run, settings):
    run.connector.create(journal(12))
    saved = RotatingTokenStore("exact", Path(settings.token_dir)).load()
    secrets = [
        settings.client_secret,
        settings.initial_refresh_token,
        saved.refresh_token,
        saved.access_token,
    ]
    text = "".join(e.url + e.request_headers + e.request_body + e.response_body for e in run.audit)
    assert run.audit and not [s for s in secrets if s in text]


# -- limits and faults ----------------------------------------------------------------------------
def test_pacing_by_the_minutely_headers_avoids_429s(exact, run):
    exact.control("configure", {"minutely_limit": 4, "minute_seconds": 2})
    for n in range(20, 26):
        run.connector.create(journal(n))
    stats = exact.stats()
    assert stats["throttled"] == 0 and len(stored(exact)) == 6
    assert run.sleeps and all(0 < s <= 2.1 for s in run.sleeps)


def test_a_429_is_waited_out_by_the_minutely_reset(exact, run):
    exact.control("configure", {"minute_seconds": 1})
    exact.control("faults", {"kind": "status", "status": 429, "method": "POST", "times": 2})
    run.connector.create(journal(30))
    assert exact.requests()[POST_PATH] == 3 and len(stored(exact)) == 1
    assert len(run.sleeps) >= 2 and all(s <= 1.1 for s in run.sleeps)


def test_a_lost_answer_is_not_posted_twice(exact, run):
    exact.control(
        "faults", {"kind": "commit_drop", "method": "POST", "path": "GeneralJournalEntries"}
    )
    document_id = run.connector.create(journal(31))
    [entry] = stored(exact)
    assert entry["EntryID"] == document_id and exact.stats()["duplicates"] == 0
    assert exact.requests()[POST_PATH] == 1


def test_a_503_on_post_is_retried_after_looking(exact, run):
    exact.control("faults", {"kind": "status", "status": 503, "method": "POST"})
    run.connector.create(journal(32))
    assert exact.requests()[POST_PATH] == 2 and len(stored(exact)) == 1


def test_the_daily_budget_stops_before_it_is_spent_and_the_next_day_resumes(exact, settings):
    exact.control("configure", {"daily_limit": 6})
    tight = replace(settings, daily_reserve=2)
    connector = Run(tight).connector
    journals = [journal(n) for n in range(40, 45)]
    existing = connector.existing(journals)  # Me, GLAccounts, lines: 3 calls
    posted = [connector.create(j) for j in journals[:1]]
    with pytest.raises(ErpBudgetSpent, match="resets at .* run closeout post again"):
        connector.create(journals[1])
    stats = exact.stats()
    assert stats["throttled"] == 0 and stats["daily_used"]["100001"] == 4
    assert existing == {} and len(posted) == len(stored(exact)) == 1

    exact.control("advance_day")
    later = Run(tight).connector
    assert set(later.existing(journals)) == {journals[0].key}
    later.create(journals[1])
    assert len(stored(exact)) == 2


# -- the real pipeline: a day's budget runs out mid-run --------------------------------------------
def test_post_stops_when_the_daily_budget_runs_out_and_the_next_day_posts_the_rest(
    toast_env, warehouse, monkeypatch
):
    from click.testing import CliRunner

    from cli.main import main
    from tests.test_post import DAY, ledger, load_and_build, ready_journals

    toast_env.erp_control("exact", "reset")
    for variable, value in toast_env.erp_env.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("ERP__EXACT__DAILY_RESERVE", "2")
    load_and_build(toast_env, DAY - timedelta(days=1), DAY)
    ready = ready_journals(warehouse)
    assert len(ready) >= 6
    # After the run's look-ups (Me, GLAccounts, existing) room for a few posts only.
    toast_env.erp_control("exact", "configure", {"daily_limit": 8})

    first = CliRunner().invoke(main, ["post", "--erp", "exact"])

    assert first.exit_code == 1
    assert "daily API budget" in first.output and "resets at" in first.output
    entries = toast_env.erp_control("exact", "entries")
    assert 0 < len(entries) < len(ready)
    statuses = Counter(p[-1][0] for p in ledger(warehouse).values())
    assert statuses["posted"] == len(entries)
    stats = toast_env.erp_control("exact", "stats")
    assert stats["throttled"] == 0 and stats["daily_used"]["100001"] == 8 - 2

    toast_env.erp_control("exact", "configure", {"daily_limit": 100})
    toast_env.erp_control("exact", "advance_day")
    second = CliRunner().invoke(main, ["post", "--erp", "exact"])

    assert "daily API budget" not in second.output and "Failed:" not in second.output, (
        second.output
    )  # exit 1 only for the days held for open checks
    keys = Counter(
        e["lines"][0]["Description"].rsplit(" ", 1)[-1]
        for e in toast_env.erp_control("exact", "entries")
    )
    assert len(keys) == len(ready) and set(keys.values()) == {1}
    assert all(p[-1][0] == "posted" for p in ledger(warehouse).values())
    assert toast_env.erp_control("exact", "stats")["throttled"] == 0


# -- consent --------------------------------------------------------------------------------------
def test_closeout_connect_exact_follows_the_consent_and_stores_the_token(
    toast_env, warehouse, monkeypatch
):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redirect = f"http://127.0.0.1:{port}/exact/callback"
    toast_env.erp_control("exact", "reset")
    toast_env.erp_control("exact", "configure", {"redirect_uri": redirect})
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERP__")}
    env.update(
        {
            k: v
            for k, v in toast_env.erp_env.items()
            if k.startswith("ERP__EXACT__") and k != "ERP__EXACT__INITIAL_REFRESH_TOKEN"
        }
    )
    env.update(
        ERP__EXACT__REDIRECT_URI=redirect,
        PYTHONPATH=str(ROOT),
        CLOSEOUT_SECRET_KEY=Fernet.generate_key().decode(),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "connect", "exact"],
        cwd=os.getcwd(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        address = ""
        for line in process.stdout:
            if line.startswith("http"):
                address = line.strip()
                break
        assert "/api/oauth2/auth?" in address and "state=" in address
        consent = httpx.get(address)  # the browser: Exact redirects back
        assert consent.status_code == 302
        import time

        deadline = time.monotonic() + 30
        while True:  # the loopback listener may be starting
            try:
                landed = httpx.get(consent.headers["Location"], timeout=5)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert landed.status_code == 200
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Connected to exact: division 100001" in out
    stats = toast_env.erp_control("exact", "stats")
    assert stats["code_exchanges"] == 1
    store_file = Path(os.getcwd()) / ".closeout" / "exact-oauth.enc"
    assert store_file.exists() and b"refresh" not in store_file.read_bytes()
