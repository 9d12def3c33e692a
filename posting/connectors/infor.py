"""Infor CloudSuite M3 through the ION API Gateway: each journal becomes one GL interface batch
(GLS840MI), checked and then updated (posted) exactly once.

Credentials come from the `.ionapi` file ION API issues for a backend-service client: a
password-grant token from `{pu}{ot}` with the service account's keys, kept until shortly before
it expires (a 401 gets one fresh token); calls go to `{iu}/{ti}/M3/m3api-rest/v2/execute`.

A batch is keyed by KEY1, derived from the idempotency key (a short hash: KEY1 is short). The
full key is written at the front of every line's voucher text (VTXT, 40 characters in M3), the
one field of a posted voucher that carries what closeout wrote, so `held` finds every document
of a journal, whatever its sequence and version, without remembering anything: one bulk request
of GLS200MI LstVouchersByDt per division from the earliest business date to today, then one bulk
of LstVoucherLines for the vouchers whose key has a probe's journal identity, whose lines (AIT
fields mapped back to account, location and revenue center; one signed amount) are what M3
holds. A batch that was never updated has no voucher, so a partial one is never reported. The
head DESC carries the full key for people.

Requests per journal: one bulk (AddBatchHead, every AddBatchLine, CtrlBatch; M3 runs a bulk's
transactions in order) and one UpdBatch. UpdBatch is sent apart on purpose: a bulk has no
"only if the others succeeded", and a batch must never be updated unless every line was added
and the control passed. Every failure arrives inside HTTP 200; any of them leaves the batch
unposted, and it is deleted (DltBatch) before the journal is reported refused (ErpPeriodClosed
when M3 refused the accounting date as in a closed period). A head left by a
crash ("Record already exists") is deleted and the batch sent again, unless it was updated.
A refusal that points at closeout's own settings (the interface, a PARM that does not match the
interface definition, an accounting dimension nothing fills) names the setting to change.

`check` (closeout check) is in posting/connectors/infor_check.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote_plus

import httpx

from closeout.errors import (
    ConfigurationError,
    ErpAuthError,
    ErpPeriodClosed,
    ErpRefusal,
    ErpUnavailable,
)
from closeout.money import ZERO, cents
from posting.connectors.contract import (
    ErpDocument,
    Journal,
    Line,
    Reference,
    ReferenceProblem,
    key_identity,
)
from posting.connectors.infor_check import check_references
from posting.connectors.infor_errors import TransactionUnavailable
from posting.connectors.kit import (
    CachedToken,
    ErpSettings,
    chunked,
    json_body,
    send_renewing,
    setting,
    token_answer,
)
from posting.failpoints import failpoint
from posting.http import ErpHttp

TOKEN_MARGIN_SECONDS = 120  # renew this long before the token's expiry
KEY1_LENGTH = 15  # "CO" + 13 base32 characters of the key's SHA-256
DESC_LENGTH = 40  # FGLINH DESC
LOOKUPS_PER_BULK = 100  # LstVouchersByDt or LstVoucherLines transactions in one bulk request
VOUCHER_TEXT_LENGTH = 40  # FGLEDG VTXT: what a posted voucher line keeps of the PARM's VTXT
# What LstVouchersByDt needs to answer to find closeout's vouchers (it lists every line).
VOUCHER_COLUMNS = ["YEA4", "VSER", "VONO", "JRNO", "ACDT", "VTXT"]
ALREADY_EXISTS = "Record already exists"
ALREADY_UPDATED = "already updated"
# Where the PARM fields sit in the GL interface definition (INTN) the tenant configured:
# field:start:length, start 1-based. AIT1..AIT7 account and dimensions, ACDT yyyymmdd,
# CUAM signed amount with 2 decimals (zero-padded, right-aligned), CUCD currency, VTXT text.
DEFAULT_PARM_LAYOUT = (
    "AIT1:1:8,AIT2:9:8,AIT3:17:8,AIT4:25:8,AIT5:33:8,AIT6:41:8,AIT7:49:8,"
    "ACDT:57:8,CUAM:65:17,CUCD:82:3,VTXT:85:40"
)
DEFAULT_DIMENSIONS = "AIT1=account,AIT2=location,AIT3=revenue_center"
PARM_FIELDS = {f"AIT{n}" for n in range(1, 8)} | {"ACDT", "CUAM", "CUCD", "VTXT"}
LINE_SOURCES = ("account", "location", "revenue_center")
DIMENSION_SEEDS = {  # where a line's dimension value comes from, for a refusal's fix
    "location": "set location_dimension in dbt_project/seeds/locations.csv",
    "revenue_center": "map the revenue center in dbt_project/seeds/revenue_center_dimensions.csv",
}


@dataclass(frozen=True)
class IonApiCredentials:
    """The keys of a `.ionapi` file closeout uses."""

    tenant: str  # ti
    client_id: str  # ci
    client_secret: str  # cs
    gateway_url: str  # iu
    sso_url: str  # pu
    token_path: str  # ot
    access_key: str  # saak (service account; "<tenant>#..." form)
    secret_key: str  # sask

    KEYS = {
        "tenant": "ti",
        "client_id": "ci",
        "client_secret": "cs",
        "gateway_url": "iu",
        "sso_url": "pu",
        "token_path": "ot",
        "access_key": "saak",
        "secret_key": "sask",
    }

    @classmethod
    def from_file(cls, path: Path | str) -> IonApiCredentials:
        path = Path(path).expanduser()
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the .ionapi file {path} ({_env('ionapi_file')}): {exc}"
            ) from None
        except ValueError as exc:
            raise ConfigurationError(f"{path} is not a .ionapi (JSON) file: {exc}") from None
        missing = [key for key in cls.KEYS.values() if not str(data.get(key) or "").strip()]
        if missing:
            raise ConfigurationError(
                f"{path} lacks {', '.join(missing)}: download the credentials of an ION API "
                "'Backend Service' client with a service account (they carry saak and sask)"
            )
        return cls(**{name: str(data[key]).strip() for name, key in cls.KEYS.items()})

    @property
    def token_url(self) -> str:
        return self.sso_url + self.token_path

    @property
    def m3_url(self) -> str:
        return f"{self.gateway_url.rstrip('/')}/{self.tenant}/M3/m3api-rest/v2/execute"


@dataclass(frozen=True)
class ParmField:
    name: str
    start: int  # 1-based
    length: int


def parse_layout(text: str) -> tuple[ParmField, ...]:
    """'AIT1:1:8,AIT2:9:8,...' -> fields, checked for names, order and overlaps."""
    fields = []
    for item in (part.strip() for part in text.split(",") if part.strip()):
        try:
            name, start, length = item.split(":")
            fields.append(ParmField(name.strip().upper(), int(start), int(length)))
        except ValueError:
            raise ConfigurationError(
                f"{_env('parm_layout')}: {item!r} is not FIELD:START:LENGTH"
            ) from None
    fields.sort(key=lambda f: f.start)
    end = 1
    for f in fields:
        if f.name not in PARM_FIELDS:
            raise ConfigurationError(
                f"{_env('parm_layout')}: unknown field {f.name}; "
                f"use {', '.join(sorted(PARM_FIELDS))}"
            )
        if f.start < end or f.length < 1:
            raise ConfigurationError(
                f"{_env('parm_layout')}: {f.name} overlaps the field before it or has no length"
            )
        end = f.start + f.length
    return tuple(fields)


def parse_dimensions(text: str) -> tuple[tuple[str, str], ...]:
    """'AIT1=account,AIT2=location,AIT3=revenue_center' -> pairs."""
    pairs = []
    for item in (part.strip() for part in text.split(",") if part.strip()):
        target, _, source = item.partition("=")
        target, source = target.strip().upper(), source.strip().lower()
        if target not in {f"AIT{n}" for n in range(1, 8)} or source not in LINE_SOURCES:
            raise ConfigurationError(
                f"{_env('dimensions')}: {item!r} is not AITn=<one of {', '.join(LINE_SOURCES)}>"
            )
        pairs.append((target, source))
    if len({t for t, _ in pairs}) != len(pairs):
        raise ConfigurationError(f"{_env('dimensions')} names an AIT field twice")
    return tuple(pairs)


@dataclass(frozen=True)
class InforSettings(ErpSettings):
    ERP: ClassVar[str] = "infor"
    LABEL: ClassVar[str] = "Infor"

    credentials: IonApiCredentials = setting(
        name="ionapi_file",
        parse=IonApiCredentials.from_file,
        help="the path of the .ionapi file of an ION API backend-service client",
    )
    company: str = setting("100", name="cono")  # CONO, unless Journal.company reads "CONO/DIVI"
    interface: str = setting("CLOSEOUT")  # INTN: the GL interface definition in M3
    # A value that names no field at all means the default, as an unset one does.
    parm_layout: tuple[ParmField, ...] = setting(
        parse_layout(DEFAULT_PARM_LAYOUT),
        parse=lambda text: parse_layout(text) or parse_layout(DEFAULT_PARM_LAYOUT),
    )
    dimensions: tuple[tuple[str, str], ...] = setting(  # (AITn, Line field)
        parse_dimensions(DEFAULT_DIMENSIONS),
        parse=lambda text: parse_dimensions(text) or parse_dimensions(DEFAULT_DIMENSIONS),
    )

    def check(self) -> None:
        names = {f.name for f in self.parm_layout}
        for required in ("AIT1", "ACDT", "CUAM", "VTXT"):
            if required not in names:
                raise ConfigurationError(
                    f"{self.env('parm_layout')} has no {required}: the "
                    "PARM must carry the account, date, amount and text"
                )
        for target, _ in self.dimensions:
            if target not in names:
                raise ConfigurationError(
                    f"{self.env('dimensions')} sends a value to {target}, which is not in "
                    f"{self.env('parm_layout')}; add it there or change the mapping"
                )
        if dict(self.dimensions).get("AIT1") != "account":
            raise ConfigurationError(f"{self.env('dimensions')} must map AIT1=account")


_env = InforSettings.env


@dataclass(frozen=True)
class _Result:
    transaction: str
    records: list[dict]
    error: str | None  # "message (type code, field F)"
    message: str = ""
    field: str = ""  # the errorField M3 named


class InforConnector:
    erp = "infor"

    @property
    def kept_dimensions(self) -> tuple[str, ...]:
        """The Line dimensions mapped to an AIT field: what M3 can hand back."""
        mapped = {source for _, source in self.settings.dimensions}
        return tuple(d for d in ("location", "revenue_center") if d in mapped)

    def __init__(self, settings: InforSettings, http: ErpHttp):
        self.settings = settings
        self.http = http
        credentials = settings.credentials
        for secret in (credentials.client_secret, credentials.secret_key, credentials.access_key):
            self.http.redactor.add(secret)
            self.http.redactor.add(quote_plus(secret))  # as it appears in the token form
        self._cached = CachedToken(None, "infor", TOKEN_MARGIN_SECONDS)  # kept for the run

    def close(self) -> None:
        self.http.close()

    # -- the contract -----------------------------------------------------------------------------
    def held(self, probes: Sequence[Journal]) -> dict[str, list[ErpDocument]]:
        """Every posted document of the probes' journal identities, its lines read back from
        M3: one LstVouchersByDt per division and one LstVoucherLines per voucher found, each
        kind in bulk requests of up to LOOKUPS_PER_BULK transactions."""
        places = _places(probes, self.company_division)
        listed = self._listed_vouchers({place: p.dates for place, p in places.items()})
        vouchers = {
            voucher: key
            for place, records in listed.items()
            for voucher, key in _closeout_vouchers(place, records).items()
            if key_identity(key) in places[place].identities
        }
        held: dict[str, dict[tuple, ErpDocument]] = defaultdict(dict)
        for (place, key), lines in self._voucher_lines(sorted(vouchers)).items():
            for probe in places[place].identities.get(key_identity(key), []):
                # One document per voucher, though probes of two spellings find it.
                held[probe.journal_id].setdefault(
                    (place, key),
                    ErpDocument(
                        key=key,
                        document_id=document_id(*place, batch_key(key)),
                        company=probe.company,
                        division=probe.division,
                        lines=tuple(lines),
                    ),
                )
        return {journal_id: list(found.values()) for journal_id, found in held.items()}

    def check(self, references: Sequence[Reference]) -> list[ReferenceProblem]:
        """Read-only: divisions, accounts, dimension values and the GL interface, in a few list
        requests (see posting/connectors/infor_check.py)."""
        return check_references(self, references)

    def create(self, journal: Journal) -> str:
        cono, divi = self.company_division(journal)
        key1 = batch_key(journal.key)
        results = self._bulk(self._batch_transactions(journal, cono, divi, key1))
        if _head_exists(results):
            # Left by a crash, or by our own retry after a lost answer: never reuse blindly.
            if self._delete_batch(cono, divi, key1, journal) == "updated":
                return document_id(cono, divi, key1)
            results = self._bulk(self._batch_transactions(journal, cono, divi, key1))
        failure = _first_failure(results, journal)
        if failure:
            self._delete_quietly(cono, divi, key1, journal)
            _raise_closed_period(failure, journal, divi)
            raise ErpRefusal(
                f"M3 refused GLS840MI batch {key1} for {journal.journal_id} "
                f"({journal.key}); nothing was posted: {_problem(failure)}"
                f"{self._fix(failure[1])}"
            )
        failpoint("infor.after_check")
        [update] = self._bulk([_transaction("UpdBatch", CONO=cono, DIVI=divi, KEY1=key1)])
        if update.error and ALREADY_UPDATED not in update.message:
            self._delete_quietly(cono, divi, key1, journal)
            _raise_closed_period((None, update), journal, divi)
            raise ErpRefusal(
                f"M3 did not update GLS840MI batch {key1} for "
                f"{journal.journal_id} ({journal.key}): {update.error}"
            )
        return document_id(cono, divi, key1)

    def _fix(self, result: _Result) -> str:
        """What to change for a refusal that points at closeout's own settings ("" if none)."""
        settings = self.settings
        if result.field == "INTN":
            return (
                f". Set {settings.env('interface')} (now {settings.interface}) to the GL "
                "interface defined for closeout in M3 (GLS840)"
            )
        if result.field == "PARM":
            return (
                f". {settings.env('parm_layout')} does not match the definition of interface "
                f"{settings.interface} in M3: set it to the interface's field positions and "
                "lengths (closeout check compares them)"
            )
        if "must be entered for account" in result.message and result.field in PARM_FIELDS:
            source = dict(settings.dimensions).get(result.field)
            if source in DIMENSION_SEEDS:
                return f". {result.field} carries the line's {source}: {DIMENSION_SEEDS[source]}"
            return (
                f". Nothing fills {result.field}: map it in {settings.env('dimensions')} or "
                "drop the account's requirement in CRS630"
            )
        return ""

    # -- what is written --------------------------------------------------------------------------
    def company_division(self, journal: Journal) -> tuple[str, str]:
        """CONO and DIVI: both from a "CONO/DIVI" company, else the CONO setting and the
        location's erp_division."""
        company, _, division = journal.company.partition("/")
        if division and company.strip().isdigit():
            return company.strip(), division.strip()
        if not journal.division:
            raise ErpRefusal(
                f"no M3 division for {journal.location_name} ({journal.key}): set "
                "erp_division in dbt_project/seeds/locations.csv (or erp_company "
                "to CONO/DIVI)"
            )
        return self.settings.company, journal.division

    def _batch_transactions(self, journal: Journal, cono: str, divi: str, key1: str) -> list[dict]:
        head = _transaction(
            "AddBatchHead",
            CONO=cono,
            DIVI=divi,
            KEY1=key1,
            INTN=self.settings.interface,
            DESC=journal.key[:DESC_LENGTH],
        )
        lines = [
            _transaction(
                "AddBatchLine",
                CONO=cono,
                DIVI=divi,
                KEY1=key1,
                LINE=str(line.number),
                PARM=self.parm(journal, line, key1),
            )
            for line in journal.lines
        ]
        return [head, *lines, _transaction("CtrlBatch", CONO=cono, DIVI=divi, KEY1=key1)]

    def parm(self, journal: Journal, line: Line, key1: str) -> str:
        """One line as the fixed-position record the interface layout describes."""
        sources = {
            "account": line.account,
            "location": line.location,
            "revenue_center": line.revenue_center,
        }
        values = {target: sources[source] or "" for target, source in self.settings.dimensions}
        signed = line.debit if line.debit > 0 else -line.credit
        values.update(
            ACDT=journal.document_date.strftime("%Y%m%d"),
            CUCD=journal.currency,
            VTXT=f"{journal.key} {line.description}",
        )
        record = ""
        for f in self.settings.parm_layout:
            if f.name == "VTXT" and len(journal.key) > min(f.length, VOUCHER_TEXT_LENGTH):
                raise ConfigurationError(
                    f"the PARM layout gives VTXT {f.length} characters ({_env('parm_layout')}),"
                    f" too few for the key {journal.key}: closeout finds its vouchers in M3 by "
                    "the key at the front of the voucher text; give VTXT 40 characters in the "
                    f"interface {self.settings.interface} and in the layout"
                )
            if f.name == "CUAM":
                text = amount_text(signed, f.length)
            else:
                text = values.get(f.name, "")
                if len(text) > f.length and f.name != "VTXT":
                    raise ErpRefusal(
                        f"line {line.number} of {journal.key}: {f.name} value "
                        f"{text!r} is longer than the {f.length} characters the "
                        f"PARM layout gives it ({_env('parm_layout')})"
                    )
                text = text[: f.length].ljust(f.length)
            record = record.ljust(f.start - 1) + text
        return record.rstrip()

    # -- look-ups and clean-up --------------------------------------------------------------------
    def _listed_vouchers(
        self, ranges: dict[tuple[str, str], tuple[date, date]]
    ) -> dict[tuple[str, str], list[dict]]:
        """(CONO, DIVI) -> its voucher lines in the date range (the columns that find ours)."""
        listed: dict[tuple[str, str], list[dict]] = {}
        for chunk in chunked(sorted(ranges), LOOKUPS_PER_BULK):
            transactions = [
                _transaction(
                    "LstVouchersByDt",
                    CONO=cono,
                    DIVI=divi,
                    FRDT=ranges[(cono, divi)][0].strftime("%Y%m%d"),
                    TODT=ranges[(cono, divi)][1].strftime("%Y%m%d"),
                )
                | {"selectedColumns": VOUCHER_COLUMNS}
                for cono, divi in chunk
            ]
            results = self._bulk(transactions, program="GLS200MI", maxrecs=0)
            for (cono, divi), result in zip(chunk, results, strict=True):
                if result.error:
                    if "field DIVI" in result.error or "field CONO" in result.error:
                        continue  # a division or company M3 refuses: so does create()
                    raise ErpUnavailable(
                        f"M3 could not list vouchers of division {divi}: {result.error}"
                    )
                listed[(cono, divi)] = result.records
        return listed

    def _voucher_lines(
        self, vouchers: list[tuple[str, str, str, str, str, str]]
    ) -> dict[tuple[tuple[str, str], str], list[Line]]:
        """((CONO, DIVI), key) -> the lines M3 holds for that key, from LstVoucherLines of each
        (CONO, DIVI, YEA4, VSER, VONO, JRNO)."""
        found: dict[tuple[tuple[str, str], str], list[Line]] = defaultdict(list)
        for chunk in chunked(vouchers, LOOKUPS_PER_BULK):
            transactions = [
                _transaction(
                    "LstVoucherLines",
                    CONO=cono,
                    DIVI=divi,
                    YEA4=yea4,
                    VSER=vser,
                    VONO=vono,
                    JRNO=jrno,
                )
                for cono, divi, yea4, vser, vono, jrno in chunk
            ]
            results = self._bulk(transactions, program="GLS200MI", maxrecs=0)
            for (cono, divi, yea4, vser, vono, _), result in zip(chunk, results, strict=True):
                if result.error:
                    raise ErpUnavailable(
                        f"M3 could not list the lines of voucher {yea4} {vser}{vono} in "
                        f"division {divi}: {result.error}"
                    )
                for record in result.records:
                    key = _voucher_key(record)
                    if key:
                        found[((cono, divi), key)].append(self.read_line(record))
        return found

    def read_line(self, record: dict) -> Line:
        """A voucher line as closeout sent it: the AIT fields back to account, location and
        revenue center; M3's one signed amount (debit positive) back to debit and credit."""
        values = {source: "" for source in LINE_SOURCES}
        for target, source in reversed(self.settings.dimensions):
            values[source] = str(record.get(target) or "").strip()
        amount = _signed_amount(record)
        text = str(record.get("VTXT") or "")
        return Line(
            number=int(str(record.get("JSNO") or "0").strip() or 0),
            account=values["account"],
            debit=amount if amount > 0 else ZERO,
            credit=-amount if amount < 0 else ZERO,
            description=text.partition(" ")[2].strip(),
            location=values["location"] or None,
            revenue_center=values["revenue_center"] or None,
        )

    def _delete_batch(self, cono: str, divi: str, key1: str, journal: Journal) -> str:
        """'deleted', or 'updated' when the batch turns out to be posted already."""
        [result] = self._bulk([_transaction("DltBatch", CONO=cono, DIVI=divi, KEY1=key1)])
        if not result.error or "does not exist" in result.message:
            return "deleted"
        if ALREADY_UPDATED in result.message:
            return "updated"
        raise ErpRefusal(
            f"M3 would not delete the unfinished GLS840MI batch {key1} of "
            f"{journal.key}: {result.error}"
        )

    def _delete_quietly(self, cono: str, divi: str, key1: str, journal: Journal) -> None:
        """Best effort: a batch left behind is deleted by the next create of this journal."""
        try:
            self._delete_batch(cono, divi, key1, journal)
        except (ErpRefusal, ErpUnavailable):
            pass

    # -- requests ---------------------------------------------------------------------------------
    def _bulk(
        self,
        transactions: list[dict],
        *,
        program: str = "GLS840MI",
        maxrecs: int = 100,
        cono: str | None = None,
    ) -> list[_Result]:
        body = {
            "program": program,
            "excludeEmptyValues": False,
            "rightTrim": True,
            "maxReturnedRecords": maxrecs,
            "transactions": transactions,
        }
        if cono:  # for transactions whose company is the request's, not an input field
            body["cono"] = cono
        response = self._send(
            "POST",
            self.settings.credentials.m3_url,
            params={"maxrecs": str(maxrecs), "extendedresult": "false", "righttrim": "true"},
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        if response.status_code == 400:
            names = ", ".join(sorted({t["transaction"] for t in transactions}))
            raise TransactionUnavailable(
                f"M3 answered HTTP 400 to {program} {names}: the program or "
                "transaction is not available to this client (check the M3 "
                "version, the MI extension for DltBatch and the ION API "
                f"client's access): {response.text[:200]}"
            )
        if response.status_code != 200:
            raise ErpUnavailable(
                f"M3 answered HTTP {response.status_code} to {program}: {response.text[:300]}"
            )
        answer = json_body(
            response, "M3", what=program, error=ErpUnavailable, shown=200, quoted=True
        )
        if isinstance(answer, dict) and answer.get("@type"):  # v1-style NOK for it all
            message = str(answer.get("Message") or "").strip()
            error = (
                f"{message} ({answer['@type']} {answer.get('@code') or ''}, field "
                f"{answer.get('@field') or '-'})"
            )
            field = str(answer.get("@field") or "")
            return [_Result(t["transaction"], [], error, message, field) for t in transactions]
        results = [_result(item) for item in (answer or {}).get("results") or []]
        if len(results) != len(transactions):
            raise ErpUnavailable(
                f"M3 answered {len(results)} of {len(transactions)} {program} "
                "transactions; the batch stays unposted and is resent"
            )
        return results

    def _send(self, method: str, url: str, **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        response = send_renewing(
            lambda token: self.http.request(
                method, url, headers={**headers, "Authorization": f"Bearer {token}"}, **kwargs
            ),
            self._access_token,
            lambda refused: self._access_token(renew=True),
        )
        if response.status_code != 401:
            return response
        raise ErpAuthError(
            f"ION API refused a token it had just issued (HTTP 401) for {url}: "
            "check the client's access to M3 in ION API"
        )

    def _access_token(self, renew: bool = False) -> str:
        token = None if renew else self._cached.valid()
        if token:
            return token
        c = self.settings.credentials
        # A form encoder sends the '#' of the service-account key as %23, as ION expects.
        response = self.http.request(
            "POST",
            c.token_url,
            data={
                "grant_type": "password",
                "client_id": c.client_id,
                "client_secret": c.client_secret,
                "username": c.access_key,
                "password": c.secret_key,
            },
            headers={"Accept": "application/json"},
        )
        body, token = token_answer(response, "ION API")
        if not token:
            raise ErpAuthError(
                f"ION API refused the token request ({body.get('error') or response.status_code}"
                f"): {body.get('error_description') or response.text[:200]}. Check the .ionapi "
                f"file ({_env('ionapi_file')}): client ci/cs and service account "
                "saak/sask."
            )
        self.http.redactor.add(token)
        self.http.redactor.add(body.get("refresh_token"))
        return self._cached.keep(token, time.time() + int(body.get("expires_in") or 3600))


# -- helpers ---------------------------------------------------------------------------------------
def batch_key(key: str) -> str:
    """KEY1: the same for every attempt of a journal version, short enough for FGLINH."""
    digest = base64.b32encode(hashlib.sha256(key.encode()).digest()).decode()
    return "CO" + digest[: KEY1_LENGTH - 2]


def document_id(cono: str, divi: str, key1: str) -> str:
    return f"{cono}/{divi}/{key1}"


def amount_text(amount: Decimal, width: int) -> str:
    """Sign first, then zero-padded digits with exactly two decimals: -0000000001234.50."""
    sign = "-" if amount < 0 else "+"
    return sign + format(cents(abs(amount)), f"0{width - 1}.2f")


def _transaction(name: str, **record: str) -> dict:
    return {"transaction": name, "record": record}


def _result(item: dict) -> _Result:
    message = str(item.get("errorMessage") or "").strip()
    if not message and not item.get("errorType"):
        return _Result(str(item.get("transaction")), list(item.get("records") or []), None)
    error = (
        f"{message or 'failed'} ({item.get('errorType') or 'error'} "
        f"{item.get('errorCode') or ''}, field {item.get('errorField') or '-'})"
    )
    field = str(item.get("errorField") or "").strip()
    return _Result(str(item.get("transaction")), [], error.replace(" ,", ","), message, field)


def _head_exists(results: list[_Result]) -> bool:
    return (
        bool(results)
        and results[0].transaction == "AddBatchHead"
        and results[0].error is not None
        and ALREADY_EXISTS in results[0].message
    )


def _first_failure(results: list[_Result], journal: Journal) -> tuple[Line | None, _Result] | None:
    """The first failed transaction and the journal line it was for (None: not a line)."""
    lines = iter(journal.lines)
    for result in results:
        line = next(lines) if result.transaction == "AddBatchLine" else None
        if result.error:
            return line, result
    return None


def _problem(failure: tuple[Line | None, _Result]) -> str:
    """M3's message, naming the journal line it was for."""
    line, result = failure
    where = (
        f"line {line.number} ({line.account}, {line.description}): "
        if line
        else f"{result.transaction}: "
    )
    return where + str(result.error)


def _raise_closed_period(failure: tuple[Line | None, _Result], journal: Journal, divi: str) -> None:
    """ErpPeriodClosed when M3 refused the accounting date as in a closed period (GLS990)."""
    message = failure[1].message.lower()
    if "period" in message and ("closed" in message or "not open" in message):
        raise ErpPeriodClosed(
            f"M3 refused {journal.journal_id} ({journal.key}) dated "
            f"{journal.document_date:%Y-%m-%d}: the accounting period is closed in division "
            f"{divi}; nothing was posted: {_problem(failure)}. Reopen the period in 'Period. "
            "Open for Transaction Entry' (GLS990) to post on that date; an adjustment is "
            "dated the first open day instead"
        )


@dataclass
class _Place:
    """One (CONO, DIVI) to search: the dates to list and the probes by journal identity."""

    dates: tuple[date, date]
    identities: dict[str, list[Journal]]


def _places(probes: Sequence[Journal], company_division) -> dict[tuple[str, str], _Place]:
    """The probes by (CONO, DIVI), each place listed from its earliest business date to today
    (an adjustment of a closed period is dated later than the day it corrects)."""
    grouped: dict[tuple[str, str], list[Journal]] = defaultdict(list)
    for probe in probes:
        try:
            grouped[company_division(probe)].append(probe)
        except ErpRefusal:
            continue  # create() reports it
    places = {}
    for place, journals in grouped.items():
        identities: dict[str, list[Journal]] = defaultdict(list)
        for journal in journals:
            identities[journal.identity].append(journal)
        first = min(j.business_date for j in journals)
        last = max([date.today(), *(j.document_date for j in journals)])
        places[place] = _Place((first, last), dict(identities))
    return places


def _closeout_vouchers(
    place: tuple[str, str], records: list[dict]
) -> dict[tuple[str, str, str, str, str, str], str]:
    """(CONO, DIVI, YEA4, VSER, VONO, JRNO) -> key of each voucher closeout wrote."""
    vouchers = {}
    for record in records:
        key = _voucher_key(record)
        if key:
            ref = tuple(str(record.get(name) or "").strip() for name in ("YEA4", "VSER", "VONO"))
            jrno = str(record.get("JRNO") or "").strip()
            vouchers[(*place, *ref, jrno)] = key
    return vouchers


def _voucher_key(record: dict) -> str | None:
    """The idempotency key at the front of a voucher line's text, if closeout wrote it."""
    word = str(record.get("VTXT") or "").split(" ", 1)[0]
    try:
        key_identity(word)
    except ValueError:
        return None
    return word


def _signed_amount(record: dict) -> Decimal:
    """M3 keeps one signed amount (credit negative); DBCR says which side when a tenant
    answers it unsigned. CUAM is the amount in the currency sent, ACAM the recorded one."""
    text = str(record.get("CUAM") or "").strip() or str(record.get("ACAM") or "").strip()
    amount = cents(Decimal(text or "0"))
    side = str(record.get("DBCR") or "").strip().upper()
    if side == "C" and amount > 0:
        return -amount
    return amount


def open_connector(http: ErpHttp) -> InforConnector:
    """The connector, its settings from the environment or dlt config (see the registry)."""
    return InforConnector(InforSettings.from_config(), http)
