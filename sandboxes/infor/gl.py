"""The M3 books the sandbox keeps and the MI transactions that change or read them.

GLS840MI (generic GL interface): AddBatchHead writes FGLINH, AddBatchLine FGLINL (the PARM
as sent), CtrlBatch checks the batch as GLS840 option 6 does (every line's PARM against the
tenant's definition of the batch's interface, accounts, blocked accounts, the dimensions each
account requires, dimension values, dates, amounts, currency, balance),
UpdBatch posts a checked batch as one voucher (option 9), and DltBatch removes a batch that was
not updated. GLS840MI in 15.x lists only the first four; DltBatch stands for the MI extension
on FGLINH (as Infor's own EXT840 reads FGLINH by CONO/DIVI/KEY1) a tenant adds for clean-up.
GLS200MI LstVouchersByDt lists posted voucher lines by accounting date, LstVoucherLines the
lines of one voucher (DIVI, YEA4, VONO, optionally VSER and JRNO); amounts are signed (debit
positive, credit negative) with DBCR beside them, voucher text cut to FGLEDG's 40 characters.

Accounting periods close per division as 'Period. Open for Transaction Entry' (GLS990) closes
them: a line dated on or before the division's `closed_through` date is refused at CtrlBatch
(and again at UpdBatch) on its ACDT. Infor documents the rule (a closed period takes no new
transactions), not the message text; the sandbox's words and code are its own.

Each transaction answers records or an MI error (message, type, code, field), as M3 does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal

from sandboxes.infor import lookups
from sandboxes.infor.config import InforConfig
from sandboxes.infor.errors import MIError, UnknownTransaction
from sandboxes.infor.interface import check_structure
from sandboxes.infor.parm import ParmError, accounting_date, amount, cut

NEW, CHECKED, UPDATED = "10", "20", "90"
VOUCHER_TEXT_LENGTH = 40  # FGLEDG VTXT


@dataclass
class Batch:
    cono: str
    divi: str
    key1: str
    intn: str
    desc: str
    status: str = NEW
    lines: dict[int, str] = field(default_factory=dict)  # LINE -> PARM
    jrno: int | None = None


@dataclass
class VoucherLine:
    cono: str
    divi: str
    yea4: str
    jrno: int
    jsno: int
    vono: int
    acdt: str
    dims: dict[str, str]
    cuam: Decimal
    cucd: str
    vtxt: str
    key1: str

    def record(self) -> dict:
        return {
            "CONO": self.cono,
            "DIVI": self.divi,
            "YEA4": self.yea4,
            "JRNO": str(self.jrno),
            "JSNO": str(self.jsno),
            "VSER": "",
            "VONO": str(self.vono),
            "ACDT": self.acdt,
            **self.dims,
            "ACAM": f"{self.cuam:.2f}",
            "DBCR": "D" if self.cuam > 0 else "C",
            "CUCD": self.cucd,
            "CUAM": f"{self.cuam:.2f}",
            "VTXT": self.vtxt[:VOUCHER_TEXT_LENGTH],
        }


# Input fields of each transaction: name -> (length, mandatory, numeric)
FIELDS = {
    ("GLS840MI", "AddBatchHead"): {
        "CONO": (3, True, True),
        "DIVI": (3, False, False),
        "KEY1": ("key1", True, False),
        "INTN": (10, True, False),
        "DESC": ("desc", True, False),
        "USID": (10, False, False),
    },
    ("GLS840MI", "AddBatchLine"): {
        "CONO": (3, True, True),
        "DIVI": (3, False, False),
        "KEY1": ("key1", True, False),
        "LINE": (7, True, True),
        "PARM": ("parm", True, False),
    },
    ("GLS840MI", "CtrlBatch"): {
        "CONO": (3, True, True),
        "DIVI": (3, False, False),
        "KEY1": ("key1", True, False),
    },
    ("GLS840MI", "UpdBatch"): {
        "CONO": (3, True, True),
        "DIVI": (3, False, False),
        "KEY1": ("key1", True, False),
    },
    ("GLS840MI", "DltBatch"): {
        "CONO": (3, True, True),
        "DIVI": (3, False, False),
        "KEY1": ("key1", True, False),
    },
    ("GLS200MI", "LstVouchersByDt"): {
        "CONO": (3, False, True),
        "DIVI": (3, True, False),
        "FRDT": (8, True, True),
        "TODT": (8, True, True),
    },
    ("GLS200MI", "LstVoucherLines"): {
        "CONO": (3, False, True),
        "DIVI": (3, True, False),
        "YEA4": (4, True, True),
        "VONO": (8, True, True),
        "VSER": (3, False, False),
        "JRNO": (7, False, True),
    },
}


class Books:
    def __init__(self) -> None:
        self.batches: dict[tuple[str, str, str], Batch] = {}
        self.vouchers: list[VoucherLine] = []
        self._journal_numbers: dict[tuple[str, str], int] = {}
        self.lock = threading.RLock()

    def execute(
        self, program: str, transaction: str, record: dict, cono: str | None, config: InforConfig
    ) -> list[dict]:
        """One MI transaction: its output records, or MIError."""
        if f"{program}/{transaction}" in config.withheld_transactions:
            raise UnknownTransaction(f"{program}/{transaction}")  # as if not installed
        read = lookups.READS.get((program, transaction))
        spec = read.fields if read else FIELDS.get((program, transaction))
        if spec is None:
            raise UnknownTransaction(f"{program}/{transaction}")
        values = _inputs(record, spec, config)
        values["CONO"] = values.get("CONO") or (cono or "")
        company = values["CONO"]
        if company not in config.companies:
            raise MIError(f"Not authorized for company {company or 0}", "XAU0008", "CONO")
        if read:
            return read.answer(values, config)
        handler = getattr(self, f"_{transaction}")
        with self.lock:
            return handler(values, config)

    # -- GLS840MI --------------------------------------------------------------------------------
    def _AddBatchHead(self, v: dict, config: InforConfig) -> list[dict]:
        divi = self._division(v, config)
        if v["INTN"] not in config.interfaces:
            raise MIError(f"Interface {v['INTN']} does not exist", "WIN0203", "INTN")
        ref = (v["CONO"], divi, v["KEY1"])
        if ref in self.batches:
            raise MIError("Record already exists", "WKE0101", "KEY1")
        self.batches[ref] = Batch(v["CONO"], divi, v["KEY1"], v["INTN"], v["DESC"])
        return [{}]

    def _AddBatchLine(self, v: dict, config: InforConfig) -> list[dict]:
        batch = self._batch(v, config)
        if batch.status == UPDATED:
            raise MIError(f"Batch {batch.key1} is already updated", "WKE0105", "KEY1")
        line = int(v["LINE"])
        if line in batch.lines:
            raise MIError("Record already exists", "WLI0101", "LINE")
        batch.lines[line] = v["PARM"]
        batch.status = NEW
        return [{}]

    def _CtrlBatch(self, v: dict, config: InforConfig) -> list[dict]:
        batch = self._batch(v, config)
        if batch.status == UPDATED:
            raise MIError(f"Batch {batch.key1} is already updated", "WKE0105", "KEY1")
        self._checked_lines(batch, config)
        batch.status = CHECKED
        return [{"KEY1": batch.key1, "STAT": CHECKED, "NBRL": str(len(batch.lines))}]

    def _UpdBatch(self, v: dict, config: InforConfig) -> list[dict]:
        batch = self._batch(v, config)
        if batch.status == UPDATED:
            raise MIError(f"Batch {batch.key1} is already updated", "WKE0105", "KEY1")
        if batch.status != CHECKED:
            raise MIError(
                f"Batch {batch.key1} is not checked - run CtrlBatch first", "WKE0106", "KEY1"
            )
        lines = self._checked_lines(batch, config)
        number_ref = (batch.cono, batch.divi)
        jrno = self._journal_numbers[number_ref] = self._journal_numbers.get(number_ref, 0) + 1
        for jsno, (_, fields) in enumerate(lines, start=1):
            self.vouchers.append(
                VoucherLine(
                    batch.cono,
                    batch.divi,
                    fields["ACDT"][:4],
                    jrno,
                    jsno,
                    jrno,
                    fields["ACDT"],
                    {f"AIT{n}": fields.get(f"AIT{n}", "") for n in range(1, 8)},
                    amount(fields["CUAM"]),
                    fields["CUCD"],
                    fields.get("VTXT", ""),
                    batch.key1,
                )
            )
        batch.status, batch.jrno = UPDATED, jrno
        return [{"KEY1": batch.key1, "JRNO": str(jrno), "STAT": UPDATED}]

    def _DltBatch(self, v: dict, config: InforConfig) -> list[dict]:
        batch = self._batch(v, config)
        if batch.status == UPDATED:
            raise MIError(
                f"Batch {batch.key1} is already updated and cannot be deleted", "WKE0105", "KEY1"
            )
        del self.batches[(batch.cono, batch.divi, batch.key1)]
        return [{}]

    # -- GLS200MI --------------------------------------------------------------------------------
    def _LstVouchersByDt(self, v: dict, config: InforConfig) -> list[dict]:
        divi = self._division(v, config)
        return [
            line.record()
            for line in self.vouchers
            if line.cono == v["CONO"] and line.divi == divi and v["FRDT"] <= line.acdt <= v["TODT"]
        ]

    def _LstVoucherLines(self, v: dict, config: InforConfig) -> list[dict]:
        divi = self._division(v, config)
        wanted = (v["CONO"], divi, v["YEA4"], int(v["VONO"]), v.get("VSER", ""))
        return [
            line.record()
            for line in self.vouchers
            if (line.cono, line.divi, line.yea4, line.vono, "") == wanted
            and (not v.get("JRNO") or int(v["JRNO"]) == line.jrno)
        ]

    # -- checks ----------------------------------------------------------------------------------
    def _division(self, v: dict, config: InforConfig) -> str:
        divi = v.get("DIVI", "")
        if not divi:
            raise MIError("Division must be entered", "WDI0102", "DIVI")
        if divi not in config.divisions:
            raise MIError(f"Division {divi} does not exist", "WDI0103", "DIVI")
        return divi

    def _batch(self, v: dict, config: InforConfig) -> Batch:
        divi = self._division(v, config)
        batch = self.batches.get((v["CONO"], divi, v["KEY1"]))
        if batch is None:
            raise MIError(f"Batch {v['KEY1']} does not exist", "WKE0103", "KEY1")
        return batch

    def _checked_lines(self, batch: Batch, config: InforConfig) -> list[tuple[int, dict]]:
        """Every line's fields, or the first problem, naming the line as GLS840 does."""
        if not batch.lines:
            raise MIError(f"Batch {batch.key1} has no lines", "WLI0102", "LINE")
        checked, total = [], Decimal(0)
        for number in sorted(batch.lines):
            try:
                fields = self._check_line(batch, batch.lines[number], config)
            except ParmError as exc:
                code = "WPA0102" if exc.field == "PARM" else "WPA0101"
                raise MIError(f"Line {number}: {exc}", code, exc.field) from None
            total += amount(fields["CUAM"])
            checked.append((number, fields))
        if total:
            raise MIError(
                f"Batch {batch.key1} is not balanced: the amounts total {total:.2f}",
                "WBA0101",
                "CUAM",
            )
        return checked

    def _check_line(self, batch: Batch, parm: str, config: InforConfig) -> dict:
        definition = config.interfaces.get(batch.intn)
        if definition is None:
            raise MIError(f"Interface {batch.intn} does not exist", "WIN0203", "INTN")
        check_structure(parm, batch.intn, definition)
        fields = cut(parm, definition)
        account = fields.get("AIT1", "")
        if not account:
            raise ParmError("AIT1", "Account must be entered")
        if account not in config.accounts_of(batch.divi):
            raise ParmError("AIT1", f"Account {account} does not exist in division {batch.divi}")
        if account in config.blocked_accounts:
            raise ParmError("AIT1", f"Account {account} is blocked for entry")
        for required in config.account_dimensions.get(account, []):
            if not fields.get(required):
                raise ParmError(
                    required,
                    f"Accounting dimension {required[3:]} must be entered for account {account}",
                )
        for n in range(2, 8):
            name, value = f"AIT{n}", fields.get(f"AIT{n}", "")
            allowed = config.dimension_values.get(name)
            if value and allowed is not None and value not in allowed:
                raise ParmError(name, f"Accounting dimension {n} {value} does not exist")
        accounting_date(fields.get("ACDT", ""))
        closed = config.closed_through_of(batch.divi)
        if closed and fields["ACDT"] <= closed:
            raise ParmError(
                "ACDT",
                f"Accounting date {fields['ACDT']} is in a closed period: division "
                f"{batch.divi} is closed for transaction entry through {closed}",
            )
        if amount(fields.get("CUAM", "")) == 0:
            raise ParmError("CUAM", "Amount must not be zero")
        if fields.get("CUCD", "") not in config.currencies:
            raise ParmError("CUCD", f"Currency {fields.get('CUCD', '')} does not exist")
        return fields


def _inputs(record: dict, spec: dict, config: InforConfig) -> dict:
    lengths = {"key1": config.key1_length, "desc": config.desc_length, "parm": config.parm_length}
    values = {}
    for name, value in (record or {}).items():
        if name not in spec:
            continue
        length, _, numeric = spec[name]
        length = lengths.get(length, length)
        text = "" if value is None else str(value)
        if len(text) > length:
            raise MIError(
                f"Input field {name} is too long ({len(text)} > {length})",
                "",
                name,
                "InputFieldTooLong",
            )
        if numeric and text and not text.isdigit():
            raise MIError(f"Field {name} must be numeric", "WNU0101", name)
        values[name] = text.rstrip()
    for name, (_, mandatory, _) in spec.items():
        if mandatory and not values.get(name) and name != "CONO":
            raise MIError(
                f"Mandatory input field {name} not found", "", name, "MandatoryInputFieldNotFound"
            )
    return values
