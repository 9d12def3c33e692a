"""General journals as F&O keeps them: headers numbered from a per-company number sequence, lines
validated against the chart of accounts and the ledger dimension format, vouchers that balance.

Writes record how to undo themselves in a `Transaction`, so a failed `$batch` changeset leaves
nothing behind. The caller holds the server's lock around a transaction.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sandboxes.d365.config import D365Config
from sandboxes.d365.odata import ODataError, write_failed

ZERO = Decimal("0")
HEADER_TYPE = "Microsoft.Dynamics.DataEntities.LedgerJournalHeader"
LINE_TYPE = "Microsoft.Dynamics.DataEntities.LedgerJournalLine"
HEADER_ENTITY, HEADER_TABLE = "LedgerJournalHeaderEntity", "LedgerJournalTable"
LINE_ENTITY, LINE_TABLE = "LedgerJournalLineEntity", "LedgerJournalTrans"
DESCRIPTION_LENGTH, TEXT_LENGTH, VOUCHER_LENGTH = 60, 60, 20

HEADER_FIELDS = {
    "dataAreaId": "string",
    "JournalBatchNumber": "string",
    "JournalName": "string",
    "Description": "string",
    "PostingLayer": "enum",
    "IsPosted": "enum",
    "AccountingCurrency": "string",
    "IntegrationKey": "string",
    "JournalTotalDebit": "decimal",
    "JournalTotalCredit": "decimal",
}
HEADER_WRITABLE = {
    "dataAreaId",
    "JournalBatchNumber",
    "JournalName",
    "Description",
    "PostingLayer",
    "IntegrationKey",
}
LINE_FIELDS = {
    "dataAreaId": "string",
    "JournalBatchNumber": "string",
    "LineNumber": "decimal",
    "Voucher": "string",
    "Text": "string",
    "TransDate": "datetime",
    "AccountType": "enum",
    "AccountDisplayValue": "string",
    "DefaultDimensionDisplayValue": "string",
    "DebitAmount": "decimal",
    "CreditAmount": "decimal",
    "CurrencyCode": "string",
    "ExchRate": "decimal",
    "OffsetAccountType": "enum",
    "OffsetAccountDisplayValue": "string",
    "OffsetDefaultDimensionDisplayValue": "string",
    "PostingProfile": "string",
    "Company": "string",
    "OffsetCompany": "string",
    "Document": "string",
    "Invoice": "string",
}
LINE_WRITABLE = set(LINE_FIELDS) - {"Company"}
TRANS_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


class Transaction:
    """Undo steps of the writes made so far; `rollback` reverts them newest first."""

    def __init__(self) -> None:
        self._undo: list = []
        self.touched_vouchers: set[tuple] = set()

    def on_rollback(self, step) -> None:
        self._undo.append(step)

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()


class JournalStore:
    def __init__(self) -> None:
        self.headers: dict[tuple[str, str], dict] = {}  # (company, batch number)
        self.lines: dict[tuple[str, str], dict[Decimal, dict]] = defaultdict(dict)
        self.sequences: Counter = Counter()
        # (company, batch number) -> (total debit, total credit): every header query shows the
        # totals, and summing every journal's lines per query grew with the whole store.
        self._totals: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}

    # -- reading ----------------------------------------------------------------------------------
    def header_rows(self) -> list[dict]:
        return [self._header_view(key, header) for key, header in self.headers.items()]

    def line_rows(self) -> list[dict]:
        return [
            dict(line)
            for key in self.headers
            for line in sorted(self.lines[key].values(), key=lambda row: row["LineNumber"])
        ]

    def header(self, company: str, number: str) -> dict | None:
        key = (company.lower(), number.lower())
        header = self._find_header(key)
        return self._header_view(key, header) if header else None

    def line(self, company: str, number: str, line_number: Decimal) -> dict | None:
        found = self._find_header((company.lower(), number.lower()))
        if not found:
            return None
        return self.lines[self._key_of(found)].get(line_number)

    def _find_header(self, key: tuple[str, str]) -> dict | None:
        """The header (company, number), the number in any case. Numbers are digits, so the
        lower-cased key is the stored one; the scan is for the case where it is not."""
        found = self.headers.get(key)
        if found is not None:
            return found
        return next((h for k, h in self.headers.items() if (k[0], k[1].lower()) == key), None)

    def _lines_changed(self, key: tuple[str, str]) -> None:
        self._totals.pop(key, None)

    @staticmethod
    def _key_of(header: dict) -> tuple[str, str]:
        return header["dataAreaId"], header["JournalBatchNumber"]

    def _header_view(self, key: tuple[str, str], header: dict) -> dict:
        totals = self._totals.get(key)
        if totals is None:
            lines = self.lines[key].values()
            totals = self._totals[key] = (
                sum((line["DebitAmount"] for line in lines), ZERO),
                sum((line["CreditAmount"] for line in lines), ZERO),
            )
        return {**header, "JournalTotalDebit": totals[0], "JournalTotalCredit": totals[1]}

    # -- writing ----------------------------------------------------------------------------------
    def create_header(self, body: Any, config: D365Config, txn: Transaction) -> dict:
        body = _object(body, HEADER_FIELDS, HEADER_TYPE)
        _writable(body, HEADER_WRITABLE, HEADER_ENTITY)
        problems = []
        company = (
            config.company(body.get("dataAreaId"))
            if body.get("dataAreaId")
            else config.home_company
        )
        if company is None:
            problems.append(f"Company '{body.get('dataAreaId')}' does not exist.")
        name = body.get("JournalName")
        journal_names = config.journal_names_of(company) if company else config.journal_names
        if not name:
            problems.append("Field 'Name' must be filled in.")
        elif not any(name.lower() == n.lower() for n in journal_names):
            problems.append(
                f"The value '{name}' in field 'Name' is not found in the relating "
                "table 'Journal names'."
            )
        description = body.get("Description")
        if description is not None and len(str(description)) > DESCRIPTION_LENGTH:
            problems.append(
                f"The value of field 'Description' is longer than {DESCRIPTION_LENGTH} characters."
            )
        if problems:
            raise write_failed(HEADER_ENTITY, HEADER_TABLE, problems)
        journal_name = next(n for n in journal_names if n.lower() == name.lower())
        self.sequences[company] += 1
        number = f"{self.sequences[company]:08d}"
        header = {
            "dataAreaId": company,
            "JournalBatchNumber": number,
            "JournalName": journal_name,
            "Description": description if description is not None else journal_names[journal_name],
            "PostingLayer": body.get("PostingLayer") or "Current",
            "IsPosted": "No",
            "AccountingCurrency": "",
            "IntegrationKey": body.get("IntegrationKey") or "",
        }
        key = (company, number)
        self.headers[key] = header
        txn.on_rollback(
            lambda: (
                self.headers.pop(key, None),
                self.lines.pop(key, None),
                self._lines_changed(key),
            )
        )
        return self._header_view(key, header)

    def delete_header(self, company: str, number: str, txn: Transaction) -> None:
        header = self._find_header((company.lower(), number.lower()))
        if header is None:
            raise ODataError(404, "Resource not found for the segment 'LedgerJournalHeaders'.")
        if header["IsPosted"] == "Yes":
            raise write_failed(
                HEADER_ENTITY,
                HEADER_TABLE,
                [f"Journal {header['JournalBatchNumber']} is posted and cannot be deleted."],
            )
        key = self._key_of(header)
        lines = self.lines.pop(key, {})
        del self.headers[key]
        self._lines_changed(key)

        def restore() -> None:
            self.headers[key] = header
            self.lines[key] = lines
            self._lines_changed(key)

        txn.on_rollback(restore)

    def add_line(self, body: Any, config: D365Config, txn: Transaction) -> dict:
        body = _object(body, LINE_FIELDS, LINE_TYPE)
        _writable(body, LINE_WRITABLE, LINE_ENTITY)
        company = (
            config.company(body.get("dataAreaId"))
            if body.get("dataAreaId")
            else config.home_company
        )
        number = str(body.get("JournalBatchNumber") or "")
        header = self._find_header(((company or "").lower(), number.lower())) if company else None
        if header is None:
            raise write_failed(
                LINE_ENTITY,
                LINE_TABLE,
                [
                    f"Journal batch number '{number}' does not exist in company "
                    f"'{body.get('dataAreaId')}'."
                ],
            )
        if header["IsPosted"] == "Yes":
            raise write_failed(
                LINE_ENTITY,
                LINE_TABLE,
                [f"Journal {header['JournalBatchNumber']} is posted; lines cannot be added."],
            )
        key = self._key_of(header)
        problems = []
        debit = _amount(body, "DebitAmount", problems)
        credit = _amount(body, "CreditAmount", problems)
        if debit is not None and credit is not None and (debit > 0) == (credit > 0):
            problems.append("Enter an amount in either Debit or Credit, not both and not neither.")
        account_type = body.get("AccountType") or "Ledger"
        display = str(body.get("AccountDisplayValue") or "")
        if account_type != "Ledger":
            problems.append(
                f"Account type '{account_type}' is not supported by the sandbox; use Ledger."
            )
        else:
            display = _ledger_account(display, company, config, problems)
        if body.get("OffsetAccountDisplayValue"):
            problems.append(
                "The sandbox takes balanced multi-line vouchers only; leave "
                "OffsetAccountDisplayValue empty."
            )
        trans_date = _trans_date(body.get("TransDate"), problems)
        if trans_date is not None:
            _open_period(trans_date, company, config, problems)
        voucher = str(body.get("Voucher") or "")
        if not voucher:
            problems.append("Field 'Voucher' must be filled in.")
        elif len(voucher) > VOUCHER_LENGTH:
            problems.append(
                f"The value of field 'Voucher' is longer than {VOUCHER_LENGTH} characters."
            )
        currency = str(body.get("CurrencyCode") or "")
        if not currency:
            problems.append("Field 'Currency' must be filled in.")
        elif currency.upper() not in {c.upper() for c in config.currencies}:
            problems.append(
                f"The value '{currency}' in field 'Currency' is not found in the "
                "relating table 'Currency'."
            )
        text = str(body.get("Text") or "")
        if len(text) > TEXT_LENGTH:
            problems.append(f"The value of field 'Text' is longer than {TEXT_LENGTH} characters.")
        line_number = _line_number(body.get("LineNumber"), self.lines[key], problems)
        if line_number in self.lines[key]:
            problems.append(
                f"Cannot create a record in Journal lines ({LINE_TABLE}). Journal "
                f"batch number: {header['JournalBatchNumber']}, Line number: "
                f"{line_number}. The record already exists."
            )
        if problems:
            raise write_failed(LINE_ENTITY, LINE_TABLE, problems)
        line = {
            "dataAreaId": company,
            "JournalBatchNumber": header["JournalBatchNumber"],
            "LineNumber": line_number,
            "Voucher": voucher,
            "Text": text,
            "TransDate": f"{trans_date.isoformat()}T12:00:00Z",
            "AccountType": account_type,
            "AccountDisplayValue": display,
            "DefaultDimensionDisplayValue": body.get("DefaultDimensionDisplayValue") or "",
            "DebitAmount": debit,
            "CreditAmount": credit,
            "CurrencyCode": currency.upper(),
            "ExchRate": _decimal(body.get("ExchRate")) or Decimal(100),
            "OffsetAccountType": body.get("OffsetAccountType") or "Ledger",
            "OffsetAccountDisplayValue": "",
            "OffsetDefaultDimensionDisplayValue": "",
            "PostingProfile": body.get("PostingProfile") or "",
            "Company": company,
            "OffsetCompany": company,
            "Document": body.get("Document") or "",
            "Invoice": body.get("Invoice") or "",
        }
        self.lines[key][line_number] = line
        self._lines_changed(key)
        txn.on_rollback(lambda: (self.lines[key].pop(line_number, None), self._lines_changed(key)))
        txn.touched_vouchers.add((key, voucher.lower(), trans_date))
        return dict(line)

    def delete_line(
        self, company: str, number: str, line_number: Decimal, txn: Transaction
    ) -> None:
        header = self._find_header((company.lower(), number.lower()))
        line = self.lines[self._key_of(header)].get(line_number) if header else None
        if line is None:
            raise ODataError(404, "Resource not found for the segment 'LedgerJournalLines'.")
        if header["IsPosted"] == "Yes":
            raise write_failed(
                LINE_ENTITY,
                LINE_TABLE,
                [f"Journal {header['JournalBatchNumber']} is posted; lines cannot be deleted."],
            )
        key = self._key_of(header)
        del self.lines[key][line_number]
        self._lines_changed(key)
        txn.on_rollback(
            lambda: (self.lines[key].__setitem__(line_number, line), self._lines_changed(key))
        )

    def unbalanced(self, txn: Transaction) -> str | None:
        """The first voucher written in `txn` whose lines do not net to zero, described as F&O
        describes it."""
        for key, voucher, trans_date in sorted(txn.touched_vouchers):
            net = sum(
                (
                    line["DebitAmount"] - line["CreditAmount"]
                    for line in self.lines.get(key, {}).values()
                    if line["Voucher"].lower() == voucher
                    and line["TransDate"].startswith(trans_date.isoformat())
                ),
                ZERO,
            )
            if net != 0:
                shown = next(
                    line["Voucher"]
                    for line in self.lines[key].values()
                    if line["Voucher"].lower() == voucher
                )
                return (
                    f"The transactions on voucher {shown} do not balance as per "
                    f"{trans_date:%m/%d/%Y}. (accounting currency: {net:.2f} - reporting "
                    f"currency: {net:.2f})"
                )
        return None

    def mark_posted(self, company: str, number: str) -> bool:
        header = self._find_header((company.lower(), number.lower()))
        if header:
            header["IsPosted"] = "Yes"
        return header is not None


# -- validation helpers ---------------------------------------------------------------------------
def split_segments(text: str, delimiter: str) -> list[str]:
    """Segments of a display value; a backslash makes the next character (a delimiter) literal."""
    segments, current, position = [], [], 0
    while position < len(text):
        if text[position] == "\\" and position + 1 < len(text):
            current.append(text[position + 1])
            position += 2
        elif delimiter and text.startswith(delimiter, position):
            segments.append("".join(current))
            current = []
            position += len(delimiter)
        else:
            current.append(text[position])
            position += 1
    segments.append("".join(current))
    return segments


def join_segments(values: list[str], delimiter: str) -> str:
    return delimiter.join(
        v.replace("\\", "\\\\").replace(delimiter, "\\" + delimiter) for v in values
    )


def _ledger_account(display: str, company: str, config: D365Config, problems: list[str]) -> str:
    dimension_format = config.dimension_format
    shown_format = config.dimension_delimiter.join(dimension_format)
    segments = split_segments(display, config.dimension_delimiter)
    if not display or not segments[0]:
        problems.append("Field 'Account' must be filled in.")
        return display
    if len(segments) > len(dimension_format):
        problems.append(
            f"The account '{display}' has {len(segments)} segments; the ledger "
            f"dimension format for integrating applications is {shown_format} "
            f"({len(dimension_format)} segments)."
        )
        return display
    segments += [""] * (len(dimension_format) - len(segments))
    for dimension, value in zip(dimension_format, segments, strict=False):
        if not value:
            continue
        if dimension == "MainAccount":
            if value not in config.main_accounts(company):
                problems.append(
                    f"Main account '{value}' does not exist in the chart of "
                    f"accounts of company '{company}' (account '{display}', "
                    f"format {shown_format})."
                )
            elif config.account_suspended(company, value):
                problems.append(f"Main account '{value}' is suspended (account '{display}').")
        else:
            allowed = config.dimension_values.get(dimension)
            if allowed is not None and value.lower() not in {v.lower() for v in allowed}:
                problems.append(
                    f"Value '{value}' for dimension '{dimension}' does not exist "
                    f"(account '{display}', format {shown_format})."
                )
            elif config.value_suspended(dimension, value):
                problems.append(
                    f"Value '{value}' for dimension '{dimension}' is suspended "
                    f"(account '{display}')."
                )
    return join_segments(segments, config.dimension_delimiter)


def _open_period(day: date, company: str, config: D365Config, problems: list[str]) -> None:
    """Ledger periods that are On hold or Closed take no transactions (F&O checks the date
    against the ledger calendar of the company)."""
    status = config.period_status(day)
    if status == "Open":
        return
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    problems.append(
        f"The transaction date {_us(day)} is in ledger period {_us(start)} - {_us(end)}, "
        f"which is {status} for company '{company}'. Transactions can only be posted in "
        "periods with the status Open."
    )


def _us(day: date) -> str:
    """F&O's en-us date display: 1/5/2026."""
    return f"{day.month}/{day.day}/{day.year}"


def _object(body: Any, fields: dict[str, str], entity_type: str) -> dict:
    if not isinstance(body, dict):
        raise ODataError(400, "The request body must be a JSON object describing the entity.")
    for name in body:
        if name.startswith("@odata."):
            continue
        if name not in fields:
            raise ODataError(
                400,
                f"The property '{name}' does not exist on type "
                f"'{entity_type}'. Make sure to only use property names "
                "that are defined by the type.",
            )
    return body


def _writable(body: dict, writable: set[str], entity: str) -> None:
    for name, value in body.items():
        if not name.startswith("@odata.") and name not in writable and value not in (None, ""):
            raise ODataError(
                400, f"An error has occurred. The field '{name}' of entity '{entity}' is read-only."
            )


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        return None


def _amount(body: dict, name: str, problems: list[str]) -> Decimal | None:
    raw = body.get(name)
    if raw is None:
        return ZERO
    value = _decimal(raw)
    if value is None:
        problems.append(f"The value '{raw}' of field '{name}' is not a number.")
    elif value < 0:
        problems.append(f"Field '{name}' cannot be negative.")
    return value


def _trans_date(value: Any, problems: list[str]) -> date | None:
    if not value:
        problems.append("Field 'Date' must be filled in.")
        return None
    match = TRANS_DATE.match(str(value))
    try:
        return date.fromisoformat(match.group(1)) if match else _no_date()
    except ValueError:
        problems.append(
            f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTimeOffset'."
        )
        return None


def _no_date() -> date:
    raise ValueError


def _line_number(value: Any, existing: dict, problems: list[str]) -> Decimal:
    if value is None:
        return max(existing, default=ZERO) + 1
    number = _decimal(value)
    if number is None or number <= 0:
        problems.append(f"Line number '{value}' is not valid.")
        return max(existing, default=ZERO) + 1
    return number
