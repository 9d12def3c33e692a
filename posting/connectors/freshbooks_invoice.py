"""A FreshBooks invoice for one sales day (the connector's invoice mode), as pure data.

The day becomes one invoice to the location's client and one payment per Toast payment type:

- tender lines (line_kind `tender`) netted per payment type: a positive net is a payment;
  a negative one (cash paid out for refunds) stays on the invoice as a line, so nothing is lost;
- sales and discount lines with a sales category: one line per category, net of its discounts;
- every other line (tax, tips, gratuity, service charges, gift card sales, over/short,
  refunds...): one line per kind and account, credits positive and debits negative.

So the invoice total is exactly what the day's guests were charged and the payments add up to
it; `Invoice.ties` checks that to the cent against the journal before anything is sent.

An invoice line nets several journal lines (a category's sales and discounts) and a payment
knows no account, so each carries the journal lines it stands for, net per account, location
and revenue center, at the end of its description (a payment: its note) in braces:
`{4000/BKN/DINING cr 100.00; 4100/BKN/DINING dr 5.00}`. Reading those back (`parts_of`) gives
what the day holds in FreshBooks in journal terms, which is what an adjustment is computed from.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import quote, unquote

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


# (account, location, revenue center) -> net debit (debit - credit) of the journal lines
Parts = dict[tuple[str, str | None, str | None], Decimal]
PARTS_AT_END = re.compile(r"\s*\{([^{}]*)\}\s*$")
PART = re.compile(r"([^\s/]+)/([^\s/]*)/([^\s/]*) (dr|cr) (\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class InvoiceLine:
    name: str
    description: str
    amount: Decimal  # what it charges: the credit side of its journal lines, net
    parts: tuple = ()  # Parts items: the journal lines it stands for

    @property
    def text(self) -> str:
        """The description FreshBooks keeps: what it is, then the journal lines behind it."""
        return f"{self.description} {parts_text(dict(self.parts))}"


@dataclass(frozen=True)
class Payment:
    toast_type: str  # Line.payment_type, as Toast named it
    freshbooks_type: str
    amount: Decimal
    parts: tuple = ()  # Parts items: the tender lines it stands for

    def note(self, key: str) -> str:
        """Its Toast type and the journal key (how it is found again after a crash), then
        the tender lines behind it."""
        return f"{self.found_by(key)} {parts_text(dict(self.parts))}"

    def found_by(self, key: str) -> str:
        """The start of the note, the same whichever closeout version recorded it."""
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
    grouped: dict[tuple, list[Line]] = defaultdict(list)
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
        grouped[group].append(line)
    lines = []
    for group, members in grouped.items():
        parts = net_parts(members)
        if parts:  # a group netting to nothing still carries its lines (a zero line)
            amount = -sum(parts.values(), ZERO)
            lines.append(
                InvoiceLine(_line_name(group), described[group], amount, tuple(parts.items()))
            )
    payments = []
    tenders: dict[str, list[Line]] = defaultdict(list)
    for line in journal.lines:
        if _is_tender(line):
            tenders[_toast_type(line)].append(line)
    for toast_type, members in sorted(tenders.items()):
        parts = net_parts(members)
        net = sum(parts.values(), ZERO)
        if net > 0:
            payments.append(
                Payment(toast_type, freshbooks_payment_type(toast_type), net, tuple(parts.items()))
            )
        elif parts:
            lines.append(
                InvoiceLine(
                    f"Paid out as {toast_type}",
                    "Tender refunded to guests",
                    -net,
                    tuple(parts.items()),
                )
            )
    return Invoice(tuple(lines), tuple(payments))


def net_parts(lines) -> Parts:
    """Net debit per (account, location, revenue center), zeros left out."""
    net: Parts = defaultdict(lambda: ZERO)
    for line in lines:
        net[(line.account, line.location, line.revenue_center)] += line.debit - line.credit
    return {key: amount for key, amount in net.items() if amount}


def parts_text(parts: Parts) -> str:
    """`{4000/BKN/DINING cr 100.00; ...}`; values are %-quoted so any code survives, and an
    empty dimension is None."""
    entries = [
        f"{_quoted(account)}/{_quoted(location)}/{_quoted(center)} "
        f"{'dr' if amount > 0 else 'cr'} {abs(amount)}"
        for (account, location, center), amount in parts.items()
    ]
    return "{" + "; ".join(entries) + "}"


def parts_of(text: str) -> tuple[str, Parts] | None:
    """(the text before the braces, its parts), or None when the text carries none (an
    invoice posted before closeout kept them) or they do not read."""
    match = PARTS_AT_END.search(text or "")
    if not match:
        return None
    parts: Parts = defaultdict(lambda: ZERO)
    for entry in filter(None, (e.strip() for e in match.group(1).split(";"))):
        part = PART.fullmatch(entry)
        if not part:
            return None
        account, location, center, side, amount = part.groups()
        try:
            value = Decimal(amount)
        except InvalidOperation:
            return None
        key = (unquote(account), unquote(location) or None, unquote(center) or None)
        parts[key] += value if side == "dr" else -value
    return text[: match.start()], dict(parts)


def _quoted(value: str | None) -> str:
    return quote(value or "", safe="")


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
