"""General journal entries as Exact keeps them, and the checks it makes before taking one.

A POST with its lines inline is one transaction: it is stored whole or refused whole. Refusals
come back as HTTP 500 with the message in the user's language (Exact's validation errors), a
malformed GUID as 400. Exact has no idempotency key: a second POST of the same entry is stored
again; the sandbox counts such duplicates so the tests can prove there are none.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from sandboxes.exact.config import ExactConfig
from sandboxes.exact.odata import ExactError

ZERO = Decimal("0")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ENTRY_FIELDS = {
    "EntryID",
    "EntryNumber",
    "Division",
    "JournalCode",
    "JournalDescription",
    "Currency",
    "FinancialYear",
    "FinancialPeriod",
    "Type",
    "TypeDescription",
    "Status",
    "StatusDescription",
    "Created",
}
LINE_FIELDS = {
    "ID",
    "EntryID",
    "EntryNumber",
    "Division",
    "LineNumber",
    "Date",
    "GLAccount",
    "GLAccountCode",
    "AmountFC",
    "AmountDC",
    "Description",
    "CostCenter",
    "CostUnit",
    "JournalCode",
    "FinancialYear",
    "FinancialPeriod",
}
WRITABLE_HEADER = {
    "JournalCode",
    "Currency",
    "FinancialYear",
    "FinancialPeriod",
    "GeneralJournalEntryLines",
    "Description",
    "Reversal",
}
WRITABLE_LINE = {
    "Date",
    "GLAccount",
    "AmountFC",
    "Description",
    "CostCenter",
    "CostUnit",
    "VATCode",
    "Notes",
    "Quantity",
}

MESSAGES = {
    "en": {
        "journal": "Invalid: Journal {0}",
        "journal_required": "Mandatory: Journal",
        "lines_required": "Mandatory: General journal entry lines",
        "account_required": "Mandatory: G/L account",
        "account": "Invalid: G/L account {0}",
        "amount_required": "Mandatory: Amount",
        "date_required": "Mandatory: Date",
        "cost_center": "Invalid: Cost center {0}",
        "cost_unit": "Invalid: Cost unit {0}",
        # The next two are the sandbox's words: no source quotes Exact's.
        "blocked_account": "G/L account {0} is blocked",
        "not_general": "Invalid journal. The journal must be a general journal.",
        "description_length": "Description: value is too long (maximum {0} characters)",
        "header_description": "Description: this property cannot be set for a general "
        "journal entry without VAT",
        "vat": "VAT code: the journal {0} has no VAT functionality",
        "currency": "Invalid: Currency {0}",
        "unbalanced": "This entry is not balanced on: {0} / {1} (Type: Other) - "
        "Difference: {2} {3}",
        "unknown_property": "Property '{0}' does not exist on this entity",
        "period_closed": "Period is closed: {0} – {1}",
    },
    "nl": {
        "journal": "Ongeldig: Dagboek {0}",
        "journal_required": "Verplicht: Dagboek",
        "lines_required": "Verplicht: Memoriaalregels",
        "account_required": "Grootboekrekening is verplicht",
        "account": "Ongeldig: Grootboekrekening {0}",
        "amount_required": "Verplicht: Bedrag",
        "date_required": "Verplicht: Datum",
        "cost_center": "Ongeldig: Kostenplaats {0}",
        "cost_unit": "Ongeldig: Kostendrager {0}",
        # The next two are the sandbox's words: no source quotes Exact's.
        "blocked_account": "Grootboekrekening {0} is geblokkeerd",
        "not_general": "Ongeldig dagboek. Het dagboek moet een memoriaal zijn.",
        "description_length": "Omschrijving: waarde is te lang (maximaal {0} tekens)",
        "header_description": "Omschrijving: deze eigenschap kan niet worden ingesteld voor "
        "een memoriaalboeking zonder btw",
        "vat": "Btw-code: het dagboek {0} heeft geen btw-functionaliteit",
        "currency": "Ongeldig: Valuta {0}",
        "unbalanced": "Deze boeking is niet in balans op: {0} / {1} (Type: Overig) - "
        "Verschil: {2} {3}",
        "unknown_property": "Eigenschap '{0}' bestaat niet voor deze entiteit",
        "period_closed": "Periode is afgesloten: {0} – {1}",
    },
}


@dataclass
class Entry:
    header: dict
    lines: list[dict] = field(default_factory=list)


class EntryStore:
    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.duplicates = 0
        self._next_number: dict[tuple[int, int], int] = {}
        self._lock = threading.Lock()

    def create(self, division: int, body, config: ExactConfig) -> Entry:
        say = _messages(config)
        if not isinstance(body, dict):
            raise ExactError(
                400, "Error processing request stream. The request body is not a JSON object."
            )
        for name in body:
            if name not in WRITABLE_HEADER:
                raise ExactError(400, say("unknown_property", name))
        journal = str(body.get("JournalCode") or "")
        if not journal:
            raise ExactError(500, say("journal_required"))
        if journal not in config.journals:
            raise ExactError(500, say("journal", journal))
        if config.journal_type(journal) != 90:
            raise ExactError(500, say("not_general"))
        has_vat = journal in config.vat_journals
        if body.get("Description") and not has_vat:
            raise ExactError(500, say("header_description"))
        currency = str(body.get("Currency") or config.currency)
        if currency != config.currency:
            raise ExactError(500, say("currency", currency))
        raw_lines = body.get("GeneralJournalEntryLines")
        if not isinstance(raw_lines, list) or not raw_lines:
            raise ExactError(500, say("lines_required"))
        accounts = {guid: code for code, guid in config.account_guids().items()}
        lines = [self._line(raw, accounts, config, has_vat, journal, say) for raw in raw_lines]
        first_date = lines[0]["Date"]
        year, period = (
            int(body.get("FinancialYear") or first_date.year),
            int(body.get("FinancialPeriod") or first_date.month),
        )
        if config.period_closed(year, period):
            raise ExactError(500, say("period_closed", year, period))
        difference = sum((line["AmountFC"] for line in lines), ZERO)
        if difference != ZERO:
            raise ExactError(
                500,
                say(
                    "unbalanced",
                    year,
                    period,
                    currency,
                    _amount_text(abs(difference), config.language),
                ),
            )
        with self._lock:
            number = self._next_number.get((division, year), year % 100 * 1_000_000 + 90_000)
            self._next_number[(division, year)] = number + 1
            entry_id = str(uuid.uuid4())
            header = {
                "EntryID": entry_id,
                "EntryNumber": number,
                "Division": division,
                "JournalCode": journal,
                "JournalDescription": config.journals[journal],
                "Currency": currency,
                "FinancialYear": year,
                "FinancialPeriod": period,
                "Type": 90,
                "TypeDescription": "Other",
                "Status": 20,
                "StatusDescription": "Open",
                "Created": datetime.now(timezone.utc),
            }
            for number_in_entry, line in enumerate(lines, start=1):
                line.update(
                    ID=str(uuid.uuid4()),
                    EntryID=entry_id,
                    EntryNumber=number,
                    Division=division,
                    LineNumber=number_in_entry,
                    JournalCode=journal,
                    FinancialYear=year,
                    FinancialPeriod=period,
                )
            descriptions = {line["Description"] for line in lines if line["Description"]}
            if any(
                descriptions == {line["Description"] for line in other.lines if line["Description"]}
                for other in self.entries
                if other.header["Division"] == division
            ):
                self.duplicates += 1
            entry = Entry(header, lines)
            self.entries.append(entry)
        return entry

    def _line(
        self, raw, accounts: dict[str, str], config: ExactConfig, has_vat: bool, journal: str, say
    ) -> dict:
        if not isinstance(raw, dict):
            raise ExactError(400, "Error processing request stream. A line is not an object.")
        for name in raw:
            if name not in WRITABLE_LINE:
                raise ExactError(400, say("unknown_property", name))
        guid = raw.get("GLAccount")
        if not guid:
            raise ExactError(500, say("account_required"))
        if not isinstance(guid, str) or not GUID.match(guid):
            raise ExactError(
                400,
                "Error processing request stream. Error encountered in "
                "converting the value from request payload for property "
                "'GLAccount' to type 'Guid', which is the property's "
                "expected type. See inner exception for more detail.",
            )
        code = accounts.get(guid.lower())
        if code is None:
            raise ExactError(500, say("account", guid))
        if code in config.blocked_accounts:
            raise ExactError(500, say("blocked_account", code))
        amount = raw.get("AmountFC")
        if amount is None:
            raise ExactError(500, say("amount_required"))
        try:
            amount = Decimal(str(amount))
        except InvalidOperation:
            raise ExactError(
                400,
                "Error processing request stream. Error encountered in "
                "converting the value from request payload for property "
                "'AmountFC' to type 'Double'.",
            ) from None
        when = _date(raw.get("Date"))
        if when is None:
            raise ExactError(500, say("date_required"))
        if raw.get("VATCode") and not has_vat:
            raise ExactError(500, say("vat", journal))
        description = str(raw.get("Description") or "")
        if len(description) > config.description_length:
            raise ExactError(500, say("description_length", config.description_length))
        center, unit = raw.get("CostCenter") or None, raw.get("CostUnit") or None
        active = set(config.cost_centers) - set(config.inactive_cost_centers)
        if center is not None and center not in active:
            raise ExactError(500, say("cost_center", center))
        if unit is not None and unit not in config.cost_units:
            raise ExactError(500, say("cost_unit", unit))
        return {
            "Date": when,
            "GLAccount": guid.lower(),
            "GLAccountCode": code,
            "AmountFC": amount,
            "AmountDC": amount,
            "Description": description,
            "CostCenter": center,
            "CostUnit": unit,
        }

    def line_rows(self, division: int) -> list[dict]:
        return [
            {**line, "Date": line["Date"]}
            for entry in self.entries
            if entry.header["Division"] == division
            for line in entry.lines
        ]

    def header_rows(self, division: int) -> list[dict]:
        return [entry.header for entry in self.entries if entry.header["Division"] == division]


def _messages(config: ExactConfig):
    table = MESSAGES.get(config.language, MESSAGES["en"])

    def say(name: str, *args) -> str:
        return table[name].format(*args)

    return say


def _date(value) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    stamp = re.fullmatch(r"/Date\((-?\d+)\)/", value)
    if stamp:
        return datetime.fromtimestamp(int(stamp.group(1)) / 1000, timezone.utc).date()
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ExactError(
            400,
            "Error processing request stream. Error encountered in "
            "converting the value from request payload for property 'Date' "
            "to type 'DateTime'.",
        ) from None


def _amount_text(amount: Decimal, language: str) -> str:
    text = f"{amount:,.2f}"
    if language == "nl":  # 1.000,00
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text
