"""What the sandbox business holds, and FreshBooks' rules for adding to it.

Journal entries are created with all their details in one request (none is kept unless all
are valid: known sub-accounts, one positive two-decimal amount per detail, debits equal to
credits). Invoices belong to a client, carry lines whose amounts are qty x unit cost, and are
paid by payments in the invoice's currency; an invoice's `paid` and `outstanding` follow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from sandboxes.freshbooks.config import FreshBooksConfig
from sandboxes.freshbooks.errors import INVALID, NOT_FOUND, REQUIRED, UNBALANCED, AccountingError

CENT = Decimal("0.01")
LOCATION_TAG = re.compile(r"\bloc ([^\s\]]+)")


@dataclass
class Books:
    config: FreshBooksConfig
    accounts: list[dict] = field(default_factory=list)  # parents with sub_accounts
    sub_accounts: dict[int, dict] = field(default_factory=dict)
    clients: list[dict] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)
    invoices: list[dict] = field(default_factory=list)
    payments: list[dict] = field(default_factory=list)
    _next_id: int = 900000

    def __post_init__(self) -> None:
        self.configure(self.config)

    def configure(self, config: FreshBooksConfig) -> None:
        """The chart and clients of `config`, with ids that stay the same for the same chart."""
        self.config = config
        self.accounts, self.sub_accounts = [], {}
        sub_id = 635000
        for index, parent in enumerate(config.chart):
            parent_id = 1234000 + index
            subs = []
            for sub in parent.get("sub_accounts", []):
                sub_id += 1
                row = {
                    "account_sub_name": sub["account_sub_name"],
                    "account_sub_number": sub["account_sub_number"],
                    "account_type": parent["account_type"],
                    "balance": "0",
                    "created_at": "2025-01-02 09:00:00",
                    "currency_code": config.currency,
                    "custom": True,
                    "id": sub_id,
                    "parentid": parent_id,
                    "sub_accountid": sub_id,
                    "transaction_posted": False,
                }
                subs.append(row)
                self.sub_accounts[sub_id] = row
            self.accounts.append(
                {
                    "account_name": parent["account_name"],
                    "account_number": parent["account_number"],
                    "account_type": parent["account_type"],
                    "accountid": parent_id,
                    "balance": "0",
                    "created_at": "2025-01-02 09:00:00",
                    "currency_code": config.currency,
                    "id": parent_id,
                    "sub_accounts": subs,
                }
            )
        self.clients = [
            {
                "id": 2138000 + index,
                "userid": 2138000 + index,
                "organization": name,
                "fname": "",
                "lname": "",
                "email": "",
                "currency_code": config.currency,
                "vis_state": 0,
            }
            for index, name in enumerate(config.clients)
        ]

    def remove_sub_account(self, number: str) -> int:
        """Take the sub-accounts numbered `number` out of the chart; how many were."""
        gone = [i for i, sub in self.sub_accounts.items() if sub["account_sub_number"] == number]
        for sub_id in gone:
            del self.sub_accounts[sub_id]
        for parent in self.accounts:
            parent["sub_accounts"] = [
                s for s in parent["sub_accounts"] if s["account_sub_number"] != number
            ]
        return len(gone)

    def remove_client(self, organization: str) -> int:
        """Take the clients of this organization out of the business; how many were."""
        kept = [c for c in self.clients if c["organization"] != organization]
        removed, self.clients = len(self.clients) - len(kept), kept
        return removed

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    # -- journal entries --------------------------------------------------------------------------
    def add_entry(self, body) -> dict:
        entry = _object(body, "journal_entry")
        name = _text(entry, "name", "journal_entry", required=True)
        description = _text(entry, "description", "journal_entry")
        self._currency(entry.get("currency_code"), "journal_entry")
        day = _date(entry.get("user_entered_date"), "user_entered_date", "journal_entry")
        details = entry.get("details")
        if not isinstance(details, list) or len(details) < 2:
            raise AccountingError(
                REQUIRED,
                "details",
                "A journal entry needs at least two details (lines).",
                value=str(len(details or [])),
            )
        rows, debits, credits = [], Decimal(0), Decimal(0)
        for number, detail in enumerate(details, start=1):
            if not isinstance(detail, dict):
                raise AccountingError(INVALID, "details", f"Detail {number} is not an object.")
            sub = self._sub_account(detail.get("sub_accountid"))
            debit = _amount(detail.get("debit"), "debit", "journal_entry_detail")
            credit = _amount(detail.get("credit"), "credit", "journal_entry_detail")
            if (debit is None) == (credit is None):
                raise AccountingError(
                    INVALID,
                    "debit",
                    f"Detail {number} must have exactly one of debit or credit.",
                    "journal_entry_detail",
                )
            text = _text(detail, "description", "journal_entry_detail") or description
            self._accepted_location(text)
            debits += debit or 0
            credits += credit or 0
            rows.append(
                {
                    "sub_accountid": sub["sub_accountid"],
                    "debit": str(debit) if debit is not None else None,
                    "credit": str(credit) if credit is not None else None,
                    "description": text,
                }
            )
        if debits != credits:
            raise AccountingError(
                UNBALANCED,
                "details",
                f"Debits ({debits}) must equal credits ({credits}).",
                value=str(debits - credits),
            )
        entry_id = self._id()
        stored = {
            "entryid": entry_id,
            "id": entry_id,
            "name": name,
            "description": description,
            "currency_code": self.config.currency,
            "user_entered_date": day.isoformat(),
            "details": [],
        }
        for row in rows:
            detail_id = self._id()
            stored["details"].append(
                {
                    **row,
                    "detailid": detail_id,
                    "id": detail_id,
                    "entryid": entry_id,
                    "name": name,
                    "currency_code": self.config.currency,
                    "user_entered_date": day.isoformat(),
                }
            )
        self.entries.append(stored)
        return stored

    def details(self, search: dict[str, str]) -> list[dict]:
        start = (
            _date(search.get("start_date"), "start_date", "search")
            if search.get("start_date")
            else None
        )
        end = (
            _date(search.get("end_date"), "end_date", "search") if search.get("end_date") else None
        )
        found = []
        for entry in self.entries:
            day = date.fromisoformat(entry["user_entered_date"])
            if (start and day < start) or (end and day > end):
                continue
            for detail in entry["details"]:
                if (
                    search.get("sub_accountid")
                    and str(detail["sub_accountid"]) != search["sub_accountid"]
                ):
                    continue
                found.append(detail)
        return found

    def _sub_account(self, value) -> dict:
        try:
            sub = self.sub_accounts.get(int(str(value)))
        except ValueError:
            sub = None
        if sub is None:
            raise AccountingError(
                NOT_FOUND,
                "sub_accountid",
                "Sub account not found.",
                "journal_entry_detail",
                str(value),
                status=404,
            )
        return sub

    def _accepted_location(self, text: str) -> None:
        accepted = self.config.accepted_locations
        if accepted is None:
            return
        for location in LOCATION_TAG.findall(text or ""):
            if location not in accepted:
                raise AccountingError(
                    INVALID,
                    "description",
                    f"Location {location} is not set up in this business.",
                    "journal_entry_detail",
                    location,
                )

    def _currency(self, value, obj: str) -> None:
        if value != self.config.currency:
            raise AccountingError(
                INVALID,
                "currency_code",
                f"Currency code must be the business currency {self.config.currency}.",
                obj,
                str(value),
            )

    # -- invoices and payments --------------------------------------------------------------------
    def add_invoice(self, body) -> dict:
        invoice = _object(body, "invoice")
        client = self.client(invoice.get("customerid"))
        day = _date(invoice.get("create_date"), "create_date", "invoice")
        self._currency(invoice.get("currency_code"), "invoice")
        lines = invoice.get("lines")
        if not isinstance(lines, list) or not lines:
            raise AccountingError(
                REQUIRED, "lines", "An invoice needs at least one line.", "invoice"
            )
        stored_lines, total = [], Decimal(0)
        for number, line in enumerate(lines, start=1):
            if not isinstance(line, dict) or not str(line.get("name") or "").strip():
                raise AccountingError(REQUIRED, "name", f"Line {number} needs a name.", "line")
            qty = _decimal(line.get("qty", 1), "qty", "line")
            cost = line.get("unit_cost")
            if not isinstance(cost, dict):
                raise AccountingError(
                    REQUIRED,
                    "unit_cost",
                    f"Line {number} needs a unit_cost {{amount, code}}.",
                    "line",
                )
            self._currency(cost.get("code"), "line")
            unit = _decimal(cost.get("amount"), "unit_cost", "line")
            amount = (qty * unit).quantize(CENT)
            total += amount
            stored_lines.append(
                {
                    "lineid": number,
                    "name": line["name"],
                    "description": line.get("description", ""),
                    "qty": str(qty),
                    "unit_cost": {"amount": str(unit), "code": cost["code"]},
                    "amount": {"amount": str(amount), "code": cost["code"]},
                }
            )
        if total < 0:
            raise AccountingError(
                INVALID,
                "amount",
                f"Invoice total {total} cannot be negative.",
                "invoice",
                str(total),
            )
        invoice_id = self._id()
        stored = {
            "invoiceid": invoice_id,
            "id": invoice_id,
            "invoice_number": f"{invoice_id:07d}",
            "customerid": client["id"],
            "organization": client["organization"],
            "create_date": day.isoformat(),
            "currency_code": self.config.currency,
            "po_number": str(invoice.get("po_number") or ""),
            "notes": str(invoice.get("notes") or ""),
            "v3_status": "draft",
            "lines": stored_lines,
            "_total": total.quantize(CENT),
            "_paid": Decimal("0.00"),
        }
        self.invoices.append(stored)
        return stored

    def invoice(self, value) -> dict:
        found = next((i for i in self.invoices if str(i["invoiceid"]) == str(value)), None)
        if found is None:
            raise AccountingError(
                NOT_FOUND, "invoiceid", "Invoice not found.", "invoice", str(value), status=404
            )
        return found

    def client(self, value) -> dict:
        found = next((c for c in self.clients if str(c["id"]) == str(value)), None)
        if found is None:
            raise AccountingError(
                NOT_FOUND, "customerid", "Client not found.", "client", str(value), status=404
            )
        return found

    def add_payment(self, body) -> dict:
        payment = _object(body, "payment")
        invoice = self.invoice(payment.get("invoiceid"))
        money = payment.get("amount")
        if not isinstance(money, dict):
            raise AccountingError(
                REQUIRED, "amount", "A payment needs an amount {amount, code}.", "payment"
            )
        self._currency(money.get("code"), "payment")
        amount = _amount(money.get("amount"), "amount", "payment")
        if amount is None:
            raise AccountingError(REQUIRED, "amount", "A payment needs an amount.", "payment")
        day = _date(payment.get("date"), "date", "payment")
        kind = str(payment.get("type") or "")
        if kind not in self.config.payment_types:
            raise AccountingError(
                INVALID,
                "type",
                f"Payment type {kind!r} is not one of {', '.join(self.config.payment_types)}.",
                "payment",
                kind,
            )
        payment_id = self._id()
        stored = {
            "paymentid": payment_id,
            "id": payment_id,
            "invoiceid": invoice["invoiceid"],
            "amount": {"amount": str(amount), "code": self.config.currency},
            "date": day.isoformat(),
            "type": kind,
            "note": str(payment.get("note") or ""),
        }
        self.payments.append(stored)
        invoice["_paid"] += amount
        invoice["v3_status"] = "paid" if invoice["_paid"] >= invoice["_total"] else "partial"
        return stored

    def invoice_view(self, invoice: dict, with_lines: bool) -> dict:
        code = invoice["currency_code"]
        view = {k: v for k, v in invoice.items() if not k.startswith("_") and k != "lines"}
        outstanding = max(Decimal("0.00"), invoice["_total"] - invoice["_paid"])
        view.update(
            amount={"amount": str(invoice["_total"]), "code": code},
            paid={"amount": str(invoice["_paid"].quantize(CENT)), "code": code},
            outstanding={"amount": str(outstanding.quantize(CENT)), "code": code},
            payment_status="paid"
            if not outstanding
            else ("partial" if invoice["_paid"] else "unpaid"),
        )
        if with_lines:
            view["lines"] = invoice["lines"]
        return view


def _object(body, name: str) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get(name), dict):
        raise AccountingError(
            REQUIRED, name, f"The request body needs a {name} object.", name, status=400
        )
    return body[name]


def _text(obj: dict, name: str, kind: str, required: bool = False) -> str:
    value = obj.get(name)
    if value is None or str(value).strip() == "":
        if required:
            raise AccountingError(REQUIRED, name, f"{name} is required.", kind)
        return ""
    if len(str(value)) > 255:
        raise AccountingError(
            INVALID, name, f"{name} is longer than 255 characters.", kind, str(value)[:40]
        )
    return str(value)


def _date(value, name: str, kind: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise AccountingError(
            INVALID if value else REQUIRED,
            name,
            f"{name} must be a date YYYY-MM-DD.",
            kind,
            str(value),
        ) from None


def _decimal(value, name: str, kind: str) -> Decimal:
    if isinstance(value, float) or isinstance(value, bool):
        raise AccountingError(INVALID, name, f"{name} must be a decimal string.", kind, str(value))
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise AccountingError(
            INVALID, name, f"{name} must be a number.", kind, str(value)
        ) from None


def _amount(value, name: str, kind: str) -> Decimal | None:
    """A positive amount with at most two decimals, or None when absent."""
    if value is None or value == "":
        return None
    amount = _decimal(value, name, kind)
    if amount <= 0 or amount != amount.quantize(CENT):
        raise AccountingError(
            INVALID,
            name,
            f"{name} must be a positive amount with at most two decimals.",
            kind,
            str(value),
        )
    return amount.quantize(CENT)
