"""The FreshBooks connector against the FreshBooks sandbox over real HTTP: journal entries and
invoices posted once, tokens rotated safely, every error format read, throttling and lost
answers survived, and `closeout connect freshbooks` by loopback, pasted address and --code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from cli.main import main
from closeout.errors import ErpRefusal, ErpUnavailable
from posting.connectors.contract import Journal, Line
from posting.connectors.freshbooks import FreshBooksConnector, FreshBooksSettings
from posting.connectors.registry import connect_erp
from posting.http import ErpHttp
from posting.oauth import RotatingTokenStore
from sandboxes import freshbooks
from sandboxes.freshbooks.server import FreshBooksSandbox
from tests.erps import freshbooks as adapter
from tests.erps import net_by_account
from tests.kit import SandboxClient, serving

ROOT = Path(__file__).resolve().parents[1]
D = Decimal


server = serving(FreshBooksSandbox)


@pytest.fixture
def fb(server, tmp_path, monkeypatch) -> SandboxClient:
    """The sandbox, reset, with the shape tests/erps/freshbooks.py expects; the connector's
    settings point at it."""
    box = SandboxClient(server.url).reset()
    for name in list(os.environ):
        if name.startswith(("ERP__", "CLOSEOUT_")):
            monkeypatch.delenv(name)
    for name, value in freshbooks.connector_env(server.app, server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CLOSEOUT_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("CLOSEOUT_DB", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.chdir(tmp_path)
    return box


def connector() -> FreshBooksConnector:
    return FreshBooksConnector(
        FreshBooksSettings.from_config(),
        ErpHttp("freshbooks", sleep=lambda s: None),
        sleep=lambda s: None,
    )


def line(number, account, debit, credit, kind, *, rc=None, category=None, tender=None):
    return Line(
        number, account, D(debit), D(credit), f"{kind} {account}", "BKN", rc, kind, category, tender
    )


def sample_journal(
    day: int = 2, *, kind: str = "original", extra: tuple = (), journal_type: str = "sales"
) -> Journal:
    key = f"CO-202603{day:02d}-b601e100-{journal_type[0].upper()}0-{kind[:3]}{day:04d}"
    lines = (
        line(1, "1110", "107.00", "0", "tender", tender="CREDIT VISA"),
        line(2, "1010", "20.00", "0", "tender", tender="CASH"),
        line(3, "4100", "5.00", "0", "discount", rc="DINING", category="Food"),
        line(4, "4000", "0", "100.00", "sales", rc="DINING", category="Food"),
        line(5, "4010", "0", "20.00", "sales", rc="BAR", category="Beverage"),
        line(6, "2200", "0", "9.00", "tax"),
        line(7, "2300", "0", "3.00", "tip"),
        *extra,
    )
    return Journal(
        key=key,
        journal_id=f"b601e100:2026-03-{day:02d}:{journal_type}",
        restaurant_guid="b601e100",
        location_name="Brooklyn Heights",
        company="HV-NY",
        business_date=date(2026, 3, day),
        journal_type=journal_type,
        kind=kind,
        adjusts="900001" if kind == "adjustment" else None,
        currency="USD",
        title=f"Toast sales journal 2026-03-{day:02d} Brooklyn Heights [{key}]",
        lines=lines,
    )


def journal_net(journal: Journal) -> dict:
    return net_by_account(journal.lines)


# -- journal mode ---------------------------------------------------------------------------------
def test_journal_entries_post_once_with_revenue_centers_and_locations(fb):
    first, second = sample_journal(2), sample_journal(3)
    posting = connector()
    ids = [posting.create(first), posting.create(second)]

    documents = {doc.key: doc for doc in adapter.documents(fb)}
    assert [documents[j.key].document_id for j in (first, second)] == ids
    assert net_by_account(documents[first.key].lines) == journal_net(first)
    entry = fb.erp_control("freshbooks", "entries")[0]
    subs = {
        s["sub_accountid"]: s["account_sub_number"]
        for s in fb.erp_control("freshbooks", "sub_accounts")
    }
    assert [subs[d["sub_accountid"]] for d in entry["details"]][2:5] == [
        "4100-DINING",
        "4000-DINING",
        "4010-BAR",
    ]  # revenue centers as sub-accounts
    counts = fb.stats()
    assert counts["token_requests"] == {"refresh_token": 1}
    assert counts["requests"] == {
        "GET users/me": 1,
        "GET journal_entry_accounts": 1,
        "POST journal_entries": 2,
    }

    again = connector()
    assert again.existing([first, second, sample_journal(4)]) == dict(
        zip([first.key, second.key], ids, strict=True)
    )
    assert fb.stats()["requests"]["GET journal_entry_details"] == 1


def test_revenue_center_without_its_own_sub_account_goes_in_the_description(fb):
    journal = sample_journal(
        2,
        extra=(
            line(8, "6900", "1.00", "0", "over_short", rc="BAR"),
            line(9, "4230", "0", "1.00", "rounding", rc="PATIO"),
        ),
    )
    posting = connector()
    posting.create(journal)
    [document] = adapter.documents(fb)
    assert net_by_account(document.lines) == journal_net(journal)
    texts = [d["description"] for d in fb.erp_control("freshbooks", "entries")[0]["details"]]
    assert texts[7] == "over_short 6900 [loc BKN rc BAR]"
    assert texts[8] == "rounding 4230 [loc BKN]"  # 4230-PATIO exists


def test_existing_reads_details_by_date_in_pages_not_per_journal(fb):
    journals = [sample_journal(day) for day in range(1, 21)]  # 140 details
    posting = connector()
    for journal in journals:
        posting.create(journal)
    before = fb.stats()["requests"].get("GET journal_entry_details", 0)
    found = connector().existing(journals)
    assert set(found) == {j.key for j in journals}
    assert fb.stats()["requests"]["GET journal_entry_details"] - before == 2  # 100 a page


def test_an_account_without_sub_account_is_refused_naming_it_and_the_fix(fb):
    journal = sample_journal(
        2, extra=(line(8, "9999", "1.00", "0", "odd"), line(9, "4000", "0", "1.00", "sales"))
    )
    with pytest.raises(ErpRefusal) as refused:
        connector().create(journal)
    assert "account 9999" in str(refused.value) and "Chart of Accounts" in str(refused.value)
    assert "POST journal_entries" not in fb.stats()["requests"]


@pytest.mark.parametrize("style", ["old", "new", "old_in_200"])
def test_refusals_in_either_error_format_name_the_field(fb, style):
    fb.erp_control("freshbooks", "configure", {"accepted_locations": ["WLP"], "error_style": style})
    with pytest.raises(ErpRefusal) as refused:
        connector().create(sample_journal(2))
    message, journal = str(refused.value), sample_journal(2)
    assert "Location BKN is not set up" in message and "field description" in message
    assert journal.key in message and f"closeout replay {journal.journal_id}" in message
    assert ("(HTTP 400)" in message) == (style != "old_in_200")
    assert fb.erp_control("freshbooks", "entries") == []


def test_a_sub_account_removed_after_the_lookup_is_refused_with_404_and_the_fix(fb):
    posting = connector()
    posting.create(sample_journal(2))  # the chart is looked up once per run
    assert fb.erp_control("freshbooks", "remove", {"sub_account": "1010"}) == {"removed": 1}
    with pytest.raises(ErpRefusal) as refused:
        posting.create(sample_journal(3))
    message = str(refused.value)
    assert "(HTTP 404)" in message and "Sub account not found" in message
    assert "restore it in FreshBooks' Chart of Accounts" in message
    assert sample_journal(3).key in message and len(fb.erp_control("freshbooks", "entries")) == 1


# -- tokens ---------------------------------------------------------------------------------------
def test_an_expired_access_token_is_refreshed_once_and_the_old_refresh_token_dies(fb):
    posting = connector()
    posting.create(sample_journal(2))
    fb.erp_control("freshbooks", "expire_tokens")
    posting.create(sample_journal(3))
    counts = fb.stats()
    assert counts["token_requests"] == {"refresh_token": 2} and counts["unauthorized"] == 1
    env = dict(os.environ)
    reused = httpx.post(
        f"{fb.url}/auth/oauth/token",
        json={
            "grant_type": "refresh_token",
            "client_id": env["ERP__FRESHBOOKS__CLIENT_ID"],
            "client_secret": env["ERP__FRESHBOOKS__CLIENT_SECRET"],
            "refresh_token": env["ERP__FRESHBOOKS__INITIAL_REFRESH_TOKEN"],
            "redirect_uri": env["ERP__FRESHBOOKS__REDIRECT_URI"],
        },
    )
    assert reused.status_code == 400 and fb.stats()["reuse_detected"] == 1


def test_the_new_refresh_token_is_saved_before_it_is_used(fb):
    fb.erp_control(
        "freshbooks", "faults", {"kind": "drop", "path": "/auth/api/v1/users/me", "times": -1}
    )
    with pytest.raises(ErpUnavailable):
        connector().existing([sample_journal(2)])
    stored = RotatingTokenStore("freshbooks").load()
    assert stored.refresh_token != os.environ["ERP__FRESHBOOKS__INITIAL_REFRESH_TOKEN"]
    fb.erp_control("freshbooks", "reset")  # faults gone; issued tokens kept
    assert connector().existing([sample_journal(2)]) == {}
    assert RotatingTokenStore("freshbooks").load().account == "xZNQ1X"
    assert fb.stats()["reuse_detected"] == 0


def test_two_processes_refreshing_at_once_end_with_one_valid_token(fb):
    script = (
        "from posting.connectors.freshbooks import open_connector\n"
        "from posting.http import ErpHttp\n"
        "print(open_connector(ErpHttp('freshbooks')).tokens.current().access_token)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    assert outputs[0][0] == outputs[1][0]  # the second found the first's token
    counts = fb.stats()
    assert counts["token_requests"] == {"refresh_token": 1} and counts["reuse_detected"] == 0


# -- throttling and lost answers ------------------------------------------------------------------
def test_throttling_and_a_lost_create_answer_still_post_each_journal_once(fb):
    fb.erp_control("freshbooks", "configure", {"throttle_every": 3, "retry_after": 0})
    fb.erp_control(
        "freshbooks",
        "faults",
        [
            {"kind": "commit_drop", "path": "journal_entries/journal_entries", "method": "POST"},
            {"kind": "status", "status": 503, "path": "journal_entry_accounts"},
        ],
    )
    journals = [sample_journal(day) for day in (2, 3, 4)]
    posting = connector()
    ids = [posting.create(journal) for journal in journals]
    keys = Counter(doc.key for doc in adapter.documents(fb))
    assert keys == Counter({j.key: 1 for j in journals}) and len(set(ids)) == 3
    counts = fb.stats()
    assert counts["throttled"] >= 2 and counts["faults_fired"] == 2


# -- invoice mode ---------------------------------------------------------------------------------
def invoice_of(box, key) -> dict:
    [invoice] = [i for i in box.erp_control("freshbooks", "invoices") if i["po_number"] == key]
    return invoice


def assert_ties(invoice: dict, journal: Journal) -> None:
    tenders = {}
    for item in journal.lines:
        if item.line_kind == "tender":
            tenders[item.payment_type] = (
                tenders.get(item.payment_type, D(0)) + item.debit - item.credit
            )
    tenders = {kind: amount for kind, amount in tenders.items() if amount}
    charged = sum((ln.credit - ln.debit for ln in journal.lines if ln.line_kind != "tender"), D(0))
    assert D(invoice["amount"]["amount"]) == charged == sum(tenders.values())
    assert {
        p["note"].split(" [")[0]: D(p["amount"]["amount"]) for p in invoice["payments"]
    } == tenders
    assert invoice["outstanding"]["amount"] == "0.00"


def test_invoice_mode_posts_a_daily_invoice_with_its_payments(fb, monkeypatch):
    monkeypatch.setenv("ERP__FRESHBOOKS__MODE", "invoice")
    journal = sample_journal(2)
    posting = connector()
    invoice_id = posting.create(journal)
    invoice = invoice_of(fb, journal.key)
    assert str(invoice["invoiceid"]) == invoice_id and invoice["organization"] == "HV-NY"
    assert_ties(invoice, journal)
    assert {ln["name"]: ln["amount"]["amount"] for ln in invoice["lines"]} == {
        "Food sales": "95.00",
        "Beverage sales": "20.00",
        "Sales tax (2200)": "9.00",
        "Tips (2300)": "3.00",
    }
    assert {p["type"] for p in invoice["payments"]} == {"VISA", "Cash"}
    assert connector().existing([journal]) == {journal.key: invoice_id}

    adjustment = sample_journal(2, kind="adjustment")  # adjustments: journal entries
    labor = sample_journal(2, journal_type="labor")
    entry_ids = [posting.create(adjustment), posting.create(labor)]
    assert len(fb.erp_control("freshbooks", "invoices")) == 1
    assert connector().existing([journal, adjustment, labor]) == {
        journal.key: invoice_id,
        adjustment.key: entry_ids[0],
        labor.key: entry_ids[1],
    }


def test_invoice_mode_refuses_a_location_without_a_client(fb, monkeypatch):
    monkeypatch.setenv("ERP__FRESHBOOKS__MODE", "invoice")
    fb.erp_control("freshbooks", "configure", {"clients": ["HV-IL"]})
    with pytest.raises(ErpRefusal, match="no client whose organization is 'HV-NY'"):
        connector().create(sample_journal(2))


@pytest.mark.parametrize("point", ["freshbooks.after_invoice", "freshbooks.after_payment"])
def test_a_crash_between_invoice_and_payments_adds_only_the_missing_ones(fb, monkeypatch, point):
    monkeypatch.setenv("ERP__FRESHBOOKS__MODE", "invoice")
    script = (
        "from tests.test_freshbooks_connector import connector, sample_journal\n"
        "connector().create(sample_journal(2))\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CLOSEOUT_FAILPOINT": point, "PYTHONPATH": str(ROOT)},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    journal = sample_journal(2)
    partial = invoice_of(fb, journal.key)
    assert len(partial["payments"]) == (0 if point.endswith("invoice") else 1)

    posting = connector()
    assert posting.existing([journal]) == {}  # not complete: not reported
    invoice_id = posting.create(journal)
    invoice = invoice_of(fb, journal.key)
    assert str(invoice["invoiceid"]) == invoice_id == str(partial["invoiceid"])
    assert len(invoice["payments"]) == 2
    assert_ties(invoice, journal)
    assert connector().existing([journal]) == {journal.key: invoice_id}


# -- closeout connect -----------------------------------------------------------------------------
def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connect_receives_the_code_on_the_loopback_redirect(fb, monkeypatch):
    monkeypatch.setenv("ERP__FRESHBOOKS__REDIRECT_URI", f"http://127.0.0.1:{_free_port()}/callback")
    monkeypatch.delenv("ERP__FRESHBOOKS__INITIAL_REFRESH_TOKEN")
    printed: list[str] = []
    result: list[str] = []
    thread = threading.Thread(
        target=lambda: result.append(connect_erp("freshbooks", echo=printed.append))
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not printed and time.monotonic() < deadline:
        time.sleep(0.05)
    url = printed[0].splitlines()[-1]
    for _ in range(50):  # the loopback listener may not be up yet
        try:
            answer = httpx.get(url, follow_redirects=True, timeout=5)
            break
        except httpx.ConnectError:
            time.sleep(0.1)
    thread.join(timeout=30)
    assert answer.status_code == 200 and "connected" in answer.text
    assert result == ["account xZNQ1X"]
    assert RotatingTokenStore("freshbooks").load().account == "xZNQ1X"
    assert connector().existing([sample_journal(2)]) == {}


def test_connect_takes_the_pasted_address_for_an_https_redirect(fb, monkeypatch):
    monkeypatch.delenv("ERP__FRESHBOOKS__INITIAL_REFRESH_TOKEN")
    run = subprocess.Popen(
        [sys.executable, "-m", "cli", "connect", "freshbooks"],
        cwd=os.getcwd(),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run.stdout.readline()
    url = run.stdout.readline().strip()
    consent = httpx.get(url)  # the browser lands on the https redirect URI
    assert consent.status_code == 302
    output, errors = run.communicate(consent.headers["Location"] + "\n", timeout=60)
    assert run.returncode == 0, errors
    assert "Connected to freshbooks: account xZNQ1X" in output
    assert RotatingTokenStore("freshbooks").load().access_token


def test_connect_with_a_code_and_refused_consent(fb):
    env = dict(os.environ)
    query = {
        "client_id": env["ERP__FRESHBOOKS__CLIENT_ID"],
        "response_type": "code",
        "redirect_uri": env["ERP__FRESHBOOKS__REDIRECT_URI"],
        "state": "earlier",
    }
    location = httpx.get(f"{fb.url}/oauth/authorize", params=query).headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    result = CliRunner().invoke(main, ["connect", "freshbooks", "--code", code])
    assert result.exit_code == 0 and "account xZNQ1X" in result.output, result.output
    again = CliRunner().invoke(main, ["connect", "freshbooks", "--code", code])  # used up
    assert again.exit_code != 0 and "invalid_grant" in again.output

    fb.erp_control("freshbooks", "configure", {"consent": "deny"})
    denied = httpx.get(f"{fb.url}/oauth/authorize", params=query).headers["Location"]
    refused = CliRunner().invoke(main, ["connect", "freshbooks", "--code", denied])
    assert refused.exit_code != 0 and "access_denied" in refused.output


# -- end to end, invoice mode ---------------------------------------------------------------------
def test_invoice_mode_end_to_end_ties_to_journal_lines_even_after_sigkills(
    toast_env, warehouse, monkeypatch
):
    import duckdb

    from tests.test_post import _post_process, ledger, load_and_build, post, query

    toast_env.erp_control("freshbooks", "reset")
    for name, value in toast_env.erp_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ERP__FRESHBOOKS__MODE", "invoice")
    load_and_build(toast_env)
    ready = dict(
        query(
            warehouse,
            "select journal_id, journal_type from finance.journals where status = 'ready'",
        )
    )
    sales = {j for j, kind in ready.items() if kind == "sales"}
    assert sales

    def check() -> None:
        keys = {j: postings[-1][1] for j, postings in ledger(warehouse).items()}
        assert all(postings[-1][0] == "posted" for postings in ledger(warehouse).values())
        invoices = toast_env.erp_control("freshbooks", "invoices")
        assert Counter(i["po_number"] for i in invoices) == Counter(keys[j] for j in sales)
        for journal_id in sales:
            rows = query(
                warehouse,
                "select debit, credit, line_kind, nullif(concat_ws(' ', "
                "payment_type, card_type, alternate_payment_type_name), '') "
                "from finance.journal_lines where journal_id = ?",
                (journal_id,),
            )
            lines = tuple(
                Line(n, "", d, c, "", None, None, kind, None, tender)
                for n, (d, c, kind, tender) in enumerate(rows, start=1)
            )
            journal = sample_journal(2)
            assert_ties(
                invoice_of(toast_env, keys[journal_id]),
                Journal(**{**journal.__dict__, "lines": lines}),
            )
        entries = Counter(doc.key for doc in adapter.documents(toast_env))
        assert entries == Counter(keys[j] for j in ready if j not in sales)

    assert post("freshbooks").stopped is None
    check()
    for point in ("freshbooks.after_invoice", "freshbooks.after_payment"):
        toast_env.erp_control("freshbooks", "reset")
        with duckdb.connect(str(warehouse)) as con:
            con.execute("drop schema if exists closeout_posting cascade")
        killed = _post_process("freshbooks", failpoint=f"{point}:2")
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
        finished = _post_process("freshbooks")
        assert finished.returncode in (0, 1), (point, finished.stderr)
        check()
