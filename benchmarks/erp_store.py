"""What each ERP sandbox holds, read from its own store through its `/_sandbox/<action>`
inspection endpoints: never from closeout's ledger or connectors, so the reliability benchmark
judges what reached the ERP, and keeps working while the product code changes.

Every document is reduced to its closeout key (found anywhere in the document: a title, a
reference, a line description) and its lines' net per (account, location, revenue center).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal

import httpx

ZERO = Decimal(0)
# CO-<yyyymmdd>-<guid[:8]>-<S|L><sequence>-<version>, as posting/plan.py writes it
KEY = re.compile(r"(CO-\d{8}-[0-9a-fA-F]{8}-[A-Z])(\d+)-(\w+)")
FRESHBOOKS_TAG = re.compile(r"\[loc (\S+?)(?: rc (\S+?))?\]\s*$|\[rc (\S+?)\]\s*$")

NetKey = tuple[str, str | None, str | None]  # account, location, revenue center


@dataclass
class HeldDocument:
    keys: frozenset[str]  # the closeout keys it carries (one, unless something is wrong)
    document_id: str
    net: dict[NetKey, Decimal]
    line_count: int

    @property
    def key(self) -> str | None:
        return next(iter(self.keys)) if len(self.keys) == 1 else None

    @property
    def identity(self) -> str | None:
        return KEY.fullmatch(self.key)[1] if self.key else None

    @property
    def sequence(self) -> int | None:
        return int(KEY.fullmatch(self.key)[2]) if self.key else None


def control(url: str, action: str, body=None):
    response = httpx.post(f"{url}/_sandbox/{action}", json=body or {}, timeout=60)
    response.raise_for_status()
    return response.json()


def held_documents(erp: str, url: str) -> list[HeldDocument]:
    """Every document the ERP sandbox at `url` holds."""
    return READERS[erp](url)


def _document(raw: dict, document_id, lines: list[tuple[str, Decimal, str | None, str | None]]):
    """lines: (account, signed amount (debit +), location, revenue center)."""
    net: dict[NetKey, Decimal] = {}
    for account, amount, location, center in lines:
        key = (str(account), location or None, center or None)
        net[key] = net.get(key, ZERO) + amount
    keys = frozenset(match.group(0) for match in KEY.finditer(json.dumps(raw)))
    return HeldDocument(
        keys, str(document_id), {k: v for k, v in net.items() if v}, line_count=len(lines)
    )


def _money(value) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else ZERO


def _d365(url: str) -> list[HeldDocument]:
    documents = []
    for header in control(url, "journals"):
        lines = []
        for line in header.get("lines") or []:
            account, location, center = (line["AccountDisplayValue"].split("-") + ["", ""])[:3]
            amount = _money(line.get("DebitAmount")) - _money(line.get("CreditAmount"))
            lines.append((account, amount, location, center))
        document_id = f"{header.get('dataAreaId')}/{header.get('JournalBatchNumber')}"
        documents.append(_document(header, document_id, lines))
    return documents


def _intacct(url: str) -> list[HeldDocument]:
    documents = []
    for batch in control(url, "batches"):
        lines = [
            (
                entry["ACCOUNTNO"],
                _money(entry["TRX_AMOUNT"]) * int(entry["TR_TYPE"]),
                entry.get("LOCATION"),
                entry.get("DEPARTMENT"),
            )
            for entry in batch.get("entries") or []
        ]
        documents.append(_document(batch, batch.get("RECORDNO"), lines))
    return documents


def _exact(url: str) -> list[HeldDocument]:
    documents = []
    for entry in control(url, "entries"):
        lines = [
            (
                line["GLAccountCode"],
                _money(line["AmountFC"]),
                line.get("CostCenter"),
                line.get("CostUnit"),
            )
            for line in entry.get("lines") or []
        ]
        documents.append(_document(entry, entry.get("EntryID"), lines))
    return documents


def _freshbooks(url: str) -> list[HeldDocument]:
    """No dimensions in FreshBooks: a "<code>-<revenue center>" sub-account, else the
    `[loc X rc Y]` tag the connector writes in a detail's description, carries them."""
    numbers = {
        sub["sub_accountid"]: str(sub["account_sub_number"]) for sub in control(url, "sub_accounts")
    }
    documents = []
    for entry in control(url, "entries"):
        lines = []
        for detail in entry.get("details") or []:
            account, _, center = numbers.get(detail["sub_accountid"], "?").partition("-")
            tag = FRESHBOOKS_TAG.search(detail.get("description") or "")
            location = tag.group(1) if tag else None
            center = center or (tag and (tag.group(2) or tag.group(3))) or None
            amount = _money(detail.get("debit")) - _money(detail.get("credit"))
            lines.append((account, amount, location, center))
        documents.append(_document(entry, entry.get("entryid"), lines))
    return documents


def _infor(url: str) -> list[HeldDocument]:
    """Every GLS840MI batch, updated to the ledger or not: a batch left behind is held too."""
    documents = []
    for batch in control(url, "batches"):
        lines = [
            (line["AIT1"], _money(line["amount"]), line.get("AIT2"), line.get("AIT3"))
            for line in batch.get("lines") or []
        ]
        document_id = f"{batch.get('CONO')}/{batch.get('DIVI')}/{batch.get('KEY1')}"
        documents.append(_document(batch, document_id, lines))
    return documents


READERS = {
    "d365": _d365,
    "intacct": _intacct,
    "exact": _exact,
    "freshbooks": _freshbooks,
    "infor": _infor,
}
