"""A FreshBooks invoice for one sales day (the connector's invoice mode), as pure data.

The day becomes one invoice to the location's client and one payment per Toast payment type:

- tender lines (line_kind `tender`) netted per payment type: a positive net is a payment;
  a negative one (cash paid out for refunds) stays on the invoice as a line, so nothing is lost;
- sales and discount lines with a sales category: one line per category, net of its discounts;
- every other line (tax, tips, gratuity, service charges, gift card sales, over/short,
  refunds...): one line per kind and account, credits positive and debits negative.

So the invoice total is exactly what the day's guests were charged and the payments add up to
it; `Invoice.ties` checks that to the cent against the journal before anything is sent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from closeout.money import ZERO
from posting.connectors.contract import Journal, Line

TENDER_KINDS = ("tender", "tenders")
CATEGORY_KINDS = ("sales", "discount", "discounts")
KIND_NAMES = {
    "tax": "Sales tax",
    "facilitator_tax": "Marketplace facilitator tax",
    "tip": "Tips",
    "tips": "Tips",
    "gratuity": "Gratuity",
    "service_charge": "Service charges",
    "credit_card_surcharge": "Card surcharges",
    "gift_card_sales": "Gift cards sold",
    "donations": "Donations",
}
# Toast payment (and card) types -> the FreshBooks payment type closest to them.
CARD_TYPES = {
    "VISA": "VISA",
    "MASTERCARD": "MasterCard",
    "AMEX": "AMEX",
    "AMERICAN_EXPRESS": "AMEX",
    "DISCOVER": "Discover",
}


@dataclass(frozen=True)
class InvoiceLine:
    name: str
    description: str
    amount: Decimal


@dataclass(frozen=True)
class Payment:
    toast_type: str  # Line.payment_type, as Toast named it
    freshbooks_type: str
    amount: Decimal

    def note(self, key: str) -> str:
        """How the payment is found again after a crash: its Toast type and the journal key."""
        return f"{self.toast_type} [{key}]"


@dataclass(frozen=True)
class Invoice:
    lines: tuple[InvoiceLine, ...]
    payments: tuple[Payment, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((payment.amount for payment in self.payments), ZERO)

    def ties(self, journal: Journal) -> bool:
        """Payments = what each payment type took in; total = what was charged (credits less
        non-tender debits) plus tender paid out; and the two are equal: to the cent."""
        nets = _tender_nets(journal.lines)
        received = sum((net for net in nets.values() if net > 0), ZERO)
        paid_out = -sum((net for net in nets.values() if net < 0), ZERO)
        charged = sum(
            (line.credit - line.debit for line in journal.lines if not _is_tender(line)), ZERO
        )
        return self.paid == received and self.total == charged + paid_out == self.paid


def invoice_for(journal: Journal) -> Invoice:
    grouped: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
    described: dict[tuple, str] = {}
    for line in journal.lines:
        if _is_tender(line):
            continue
        if line.line_kind in CATEGORY_KINDS and line.sales_category:
            group = ("category", line.sales_category)
            described.setdefault(group, f"{line.sales_category} sales, net of discounts")
        else:
            group = (line.line_kind or "other", line.account)
            described.setdefault(group, line.description)
        grouped[group] += line.credit - line.debit
    lines = [
        InvoiceLine(_line_name(group), described[group], amount)
        for group, amount in grouped.items()
        if amount
    ]
    payments = []
    for toast_type, net in sorted(_tender_nets(journal.lines).items()):
        if net > 0:
            payments.append(Payment(toast_type, freshbooks_payment_type(toast_type), net))
        elif net < 0:
            lines.append(
                InvoiceLine(f"Paid out as {toast_type}", "Tender refunded to guests", -net)
            )
    return Invoice(tuple(lines), tuple(payments))


def freshbooks_payment_type(toast_type: str) -> str:
    words = toast_type.upper().split()
    if not words:
        return "Other"
    if words[0] == "CASH":
        return "Cash"
    if words[0] == "CREDIT":
        return next((CARD_TYPES[w] for w in words[1:] if w in CARD_TYPES), "Credit Card")
    return "Other"


def _is_tender(line: Line) -> bool:
    return line.line_kind in TENDER_KINDS


def _toast_type(line: Line) -> str:
    return line.payment_type or line.description or "Other"


def _tender_nets(lines) -> dict[str, Decimal]:
    nets: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        if _is_tender(line):
            nets[_toast_type(line)] += line.debit - line.credit
    return nets


def _line_name(group: tuple) -> str:
    kind, detail = group
    if kind == "category":
        return f"{detail} sales"
    return f"{KIND_NAMES.get(kind, kind.replace('_', ' ').capitalize())} ({detail})"
