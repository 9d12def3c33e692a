"""What each ERP sandbox holds, read back as (key, document id, lines) for the posting tests."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ERPS = ("d365", "intacct")
# Points inside a connector where a test kills the poster, besides the poster's own.
CONNECTOR_FAILPOINTS = {"d365": ("d365.after_header",), "intacct": ()}


@dataclass(frozen=True)
class ErpLine:
    account: str
    debit: Decimal
    credit: Decimal
    location: str | None
    revenue_center: str | None


@dataclass
class ErpDocument:
    key: str
    document_id: str
    lines: list[ErpLine]

    @property
    def balanced(self) -> bool:
        return sum(line.debit for line in self.lines) == sum(line.credit for line in self.lines)


def erp_documents(toast, erp: str) -> list[ErpDocument]:
    if erp == "d365":
        return [_d365(header) for header in toast.erp_control("d365", "journals")]
    return [_intacct(batch) for batch in toast.erp_control("intacct", "batches")]


def _d365(header: dict) -> ErpDocument:
    lines = []
    for line in header["lines"]:
        account, location, center = (line["AccountDisplayValue"].split("-") + ["", ""])[:3]
        lines.append(ErpLine(account, Decimal(str(line["DebitAmount"])),
                             Decimal(str(line["CreditAmount"])), location or None,
                             center or None))
    key = header["Description"].split()[-1]
    return ErpDocument(key, f"{header['dataAreaId']}/{header['JournalBatchNumber']}", lines)


def _intacct(batch: dict) -> ErpDocument:
    lines = [ErpLine(entry["ACCOUNTNO"],
                     Decimal(str(entry["TRX_AMOUNT"])) if int(entry["TR_TYPE"]) == 1 else Decimal(0),
                     Decimal(str(entry["TRX_AMOUNT"])) if int(entry["TR_TYPE"]) == -1 else Decimal(0),
                     entry.get("LOCATION") or None, entry.get("DEPARTMENT") or None)
             for entry in batch["entries"]]
    return ErpDocument(batch["REFERENCENO"], batch["RECORDNO"], lines)


def net_by_account(lines) -> dict[tuple, Decimal]:
    """Net debit per (account, location, revenue center), zero entries dropped."""
    net: dict[tuple, Decimal] = {}
    for line in lines:
        key = (line.account, line.location, line.revenue_center)
        net[key] = net.get(key, Decimal(0)) + line.debit - line.credit
    return {key: amount for key, amount in net.items() if amount}
