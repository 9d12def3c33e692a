"""`closeout check` for Infor M3: ask M3, reading only, whether the companies, divisions,
accounts and accounting dimension values the seeds name exist and are open, and whether the GL
interface closeout posts through is defined the way ERP__INFOR__PARM_LAYOUT writes its PARM.

The MI transactions, all lists (one request per program and company, never one per seed row):

- MNS100MI LstDivisions (CONO): the divisions of each company. Confirmed by Infor's MI
  metadata as generated into GaryWayneSmith/M3H5 (M3H5Lib.Api/MNS100MIResource.cs).
- CRS630MI LstAccountID (AITP, DIVI; CONO from the request): the accounting identities of one
  dimension in one division: AITP 1 the accounts, 2-7 the values of the other dimensions. The
  field names AITM, LCCD (blocked identity) and ACR2-ACR7 (accounting control per dimension) are
  confirmed by the same metadata; that LCCD other than 0 means blocked and ACRn 1 means the
  dimension must be entered are assumptions. A dimension with no identities listed is taken as
  one M3 does not validate.
- EXT840MI LstIntDef (INTN -> FLDN, STPO, FLEN per field): an assumption. M3 publishes no
  transaction that reads a GL interface definition (GLS840MI only adds, checks and updates
  batches), so this stands for an MI extension the tenant adds, as DltBatch does for clean-up.
  Without it the interface is reported as unverified, never as wrong.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from posting.connectors.contract import Reference, ReferenceProblem
from posting.connectors.infor_errors import TransactionUnavailable
from posting.connectors.kit import chunked

CHECKED_KINDS = ("company", "division", "account", "location", "revenue_center")
ACCOUNTS = 1  # AITP of the accounts; 2-7 are the other accounting dimensions
LOOKUPS_PER_BULK = 100  # transactions in one bulk request, as the connector's other look-ups


@dataclass
class _Company:
    """What M3 said about one CONO: its divisions (None: not listed), or why it refused them."""

    divisions: set[str] | None = None
    refusal: str = ""
    # (DIVI, AITP) -> AITM -> its CRS630 record
    identities: dict[tuple[str, int], dict[str, dict]] = field(default_factory=dict)


def check_references(connector, references: Sequence[Reference]) -> list[ReferenceProblem]:
    """One ReferenceProblem per thing M3 does not hold as the seeds and settings say."""
    settings = connector.settings
    dimension_of = {source: int(target[3:]) for target, source in settings.dimensions}
    checked = [r for r in references if r.kind in CHECKED_KINDS]
    places = [(r, _place(r, settings.company)) for r in checked]
    # A division reference with no value is a location without erp_division: fine when its
    # erp_company is CONO/DIVI (the division comes from there), else company_division refuses
    # every journal of the location. It names no division to look up either way.
    problems: list[ReferenceProblem] = [
        ReferenceProblem(
            r,
            "no M3 division (DIVI) is given, so M3 refuses every journal of this location",
            f"set erp_division in {r.used_by} (or write erp_company as CONO/DIVI)",
        )
        for r, (_, divi) in places
        if r.kind == "division" and not r.value and not divi
    ]
    places = [(r, place) for r, place in places if r.kind != "division" or r.value]

    companies = _companies(connector, {cono for _, (cono, _) in places}, problems)
    wanted: dict[tuple[str, str], set[int]] = defaultdict(set)  # (CONO, DIVI) -> AITPs
    for reference, (cono, divi) in places:
        company = companies[cono]
        dimension = ACCOUNTS if reference.kind == "account" else dimension_of.get(reference.kind)
        if dimension is None or company.refusal:
            continue
        for division in [divi] if divi else (company.divisions or ()):  # none: every one
            if company.divisions is None or division in company.divisions:
                wanted[(cono, division)].add(dimension)
    for cono in sorted({cono for cono, _ in wanted}):
        asked = sorted((d, a) for (c, d), dims in wanted.items() if c == cono for a in dims)
        _identities(connector, cono, companies[cono], asked, problems)

    # A refused company or an unknown division is one problem, on its own reference when the
    # references hold one, else on the first reference that names it.
    own = {("company", cono) for r, (cono, _) in places if r.kind == "company"}
    own |= {("division", cono, divi) for r, (cono, divi) in places if r.kind == "division"}
    said: set[tuple] = set()

    def once(key: tuple, reference: Reference) -> bool:
        if key in said or (key in own and reference.kind != key[0]):
            return False
        said.add(key)
        return True

    for reference, (cono, divi) in places:
        company = companies[cono]
        if company.refusal:
            if once(("company", cono), reference):
                problems.append(_company_problem(reference, cono, company.refusal, settings))
            continue
        if reference.kind == "company":
            continue
        if divi and company.divisions is not None and divi not in company.divisions:
            if once(("division", cono, divi), reference):
                problems.append(
                    ReferenceProblem(
                        reference,
                        f"division {divi} does not exist in company {cono}",
                        f"create division {divi} in company {cono} (MNS100) or correct "
                        + (
                            f"erp_division in {reference.used_by}"
                            if reference.kind == "division"
                            else f"erp_division {divi} in locations.csv"
                        ),
                    )
                )
            continue
        divisions = [divi] if divi else sorted(company.divisions or ())
        if reference.kind == "account":
            problems += _account_problems(reference, divisions, company, settings)
        elif reference.kind in dimension_of:
            problems += _value_problems(reference, divisions, company, dimension_of[reference.kind])
    problems += _interface_problems(connector)
    return problems


def _place(reference: Reference, default_cono: str) -> tuple[str, str]:
    """(CONO, DIVI) the reference's journals go to, as the connector posts them."""
    company, _, division = reference.company.partition("/")
    if division and company.strip().isdigit():
        return company.strip(), division.strip()
    divi = reference.value if reference.kind == "division" else (reference.division or "")
    return default_cono, divi.strip()


def _companies(connector, conos: set[str], problems: list) -> dict[str, _Company]:
    companies = {cono: _Company() for cono in conos}
    if not conos:
        return companies
    transactions = [
        {"transaction": "LstDivisions", "record": {"CONO": cono}} for cono in sorted(conos)
    ]
    try:
        results = connector._bulk(transactions, program="MNS100MI", maxrecs=0)
    except TransactionUnavailable as exc:
        problems.append(_unavailable("MNS100MI LstDivisions", "divisions", exc))
        return companies
    for cono, result in zip(sorted(conos), results, strict=True):
        if result.error:
            companies[cono].refusal = result.error
        else:
            companies[cono].divisions = {str(r.get("DIVI") or "").strip() for r in result.records}
    return companies


def _identities(connector, cono: str, company: _Company, asked: list, problems) -> None:
    """CRS630MI LstAccountID of each (DIVI, AITP) asked, in bulk requests of up to
    LOOKUPS_PER_BULK transactions."""
    results = []
    try:
        for chunk in chunked(asked, LOOKUPS_PER_BULK):
            transactions = [
                {"transaction": "LstAccountID", "record": {"AITP": str(aitp), "DIVI": divi}}
                for divi, aitp in chunk
            ]
            results += connector._bulk(transactions, program="CRS630MI", maxrecs=0, cono=cono)
    except TransactionUnavailable as exc:
        problems.append(_unavailable("CRS630MI LstAccountID", "accounts and dimensions", exc))
        return
    for place, result in zip(asked, results, strict=True):
        if not result.error:
            company.identities[place] = {
                str(r.get("AITM") or "").strip(): r for r in result.records
            }


def _account_problems(reference: Reference, divisions, company: _Company, settings) -> list:
    problems = []
    filled = {int(target[3:]) for target, _ in settings.dimensions}
    for divi in divisions:
        accounts = company.identities.get((divi, ACCOUNTS))
        if accounts is None:
            continue  # M3 did not list them: reported once as unavailable
        record = accounts.get(reference.value)
        if record is None:
            problems.append(
                ReferenceProblem(
                    reference,
                    f"account {reference.value} does not exist in division {divi}",
                    f"create account {reference.value} in division {divi} (CRS630) or correct "
                    f"{reference.used_by}",
                )
            )
            continue
        if _flag(record, "LCCD"):
            problems.append(
                ReferenceProblem(
                    reference,
                    f"account {reference.value} is blocked in division {divi}",
                    f"unblock account {reference.value} in CRS630 or map {reference.used_by} "
                    "to an open account",
                )
            )
        for n in range(2, 8):
            if _flag(record, f"ACR{n}") and n not in filled:
                problems.append(
                    ReferenceProblem(
                        reference,
                        f"account {reference.value} requires accounting dimension {n} (AIT{n}) "
                        f"in division {divi}, which closeout does not fill",
                        f"map AIT{n} in {settings.env('dimensions')} or drop the requirement "
                        f"for account {reference.value} in CRS630",
                    )
                )
    return problems


def _value_problems(reference: Reference, divisions, company: _Company, aitp: int) -> list:
    problems = []
    for divi in divisions:
        values = company.identities.get((divi, aitp))
        if not values:
            continue  # not listed, or a dimension M3 does not validate
        record = values.get(reference.value)
        what = f"accounting dimension {aitp} (AIT{aitp}) value {reference.value}"
        if record is None:
            problems.append(
                ReferenceProblem(
                    reference,
                    f"{what} does not exist in division {divi}",
                    f"add {reference.value} to accounting dimension {aitp} in division {divi} "
                    f"(CRS630) or correct {reference.used_by}",
                )
            )
        elif _flag(record, "LCCD"):
            problems.append(
                ReferenceProblem(
                    reference,
                    f"{what} is blocked in division {divi}",
                    f"unblock it in CRS630 or correct {reference.used_by}",
                )
            )
    return problems


def _interface_problems(connector) -> list[ReferenceProblem]:
    """The interface closeout posts through, and its fields against ERP__INFOR__PARM_LAYOUT."""
    settings = connector.settings
    intn, layout_env = settings.interface, settings.env("parm_layout")
    record = {"CONO": settings.company, "INTN": intn}
    try:
        [result] = connector._bulk(
            [{"transaction": "LstIntDef", "record": record}], program="EXT840MI", maxrecs=0
        )
    except TransactionUnavailable:
        return [
            ReferenceProblem(
                None,
                f"interface {intn} could not be verified: M3 publishes no transaction that "
                "reads a GL interface definition, and the EXT840MI LstIntDef extension is not "
                "available to this client",
                f"compare {layout_env} with interface {intn} in GLS840 by hand, or add the "
                "EXT840MI LstIntDef extension so closeout check can",
            )
        ]
    if result.error:
        return [
            ReferenceProblem(
                None,
                f"interface {intn} is not defined in company {settings.company}: {result.error}",
                f"set {settings.env('interface')} to the GL interface closeout's batches use "
                f"(GLS840), or define {intn} there",
            )
        ]
    try:
        tenant = {
            str(r.get("FLDN") or "").strip(): (_whole(r, "STPO"), _whole(r, "FLEN"))
            for r in result.records
        }
    except ValueError as exc:
        return [
            ReferenceProblem(
                None,
                f"the interface definition M3 returned could not be read: {exc}",
                f"compare {layout_env} with interface {intn} in GLS840 by hand, and have the "
                "EXT840MI LstIntDef extension return whole numbers in STPO and FLEN",
            )
        ]
    expected = ",".join(
        f"{name}:{start}:{length}" for name, (start, length) in sorted(tenant.items(), key=_start)
    )
    problems = []
    for f in settings.parm_layout:
        defined = tenant.get(f.name)
        if defined == (f.start, f.length):
            continue
        where = (
            f"at {defined[0]} with length {defined[1]}"
            if defined
            else "nowhere (not in the definition)"
        )
        problems.append(
            ReferenceProblem(
                None,
                f"{layout_env} puts {f.name} at {f.start} with length {f.length}; interface "
                f"{intn} in M3 has it {where}",
                f"set {layout_env} to the interface's definition: {expected}",
            )
        )
    return problems


def _company_problem(reference: Reference, cono: str, refusal: str, settings) -> ReferenceProblem:
    return ReferenceProblem(
        reference,
        f"company {cono} refused: {refusal}",
        f"set {settings.env('cono')} to the M3 company (CONO) closeout posts to, write "
        f"erp_company as CONO/DIVI in {reference.used_by}, or give the ION API client's "
        "service account access to that company",
    )


def _unavailable(transaction: str, what: str, exc: Exception) -> ReferenceProblem:
    return ReferenceProblem(
        None,
        f"M3 would not answer {transaction}, so the {what} were not checked: {exc}",
        f"give the ION API client's service account the right to run {transaction}",
    )


def _whole(record: dict, name: str) -> int:
    """A position or length of LstIntDef's answer; ValueError naming the field and value."""
    text = str(record.get(name) or "0").strip()
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"field {record.get('FLDN') or '?'} has {name} {text!r}, not a number")
    return int(text)


def _flag(record: dict, name: str) -> bool:
    return str(record.get(name) or "0").strip() not in ("", "0")


def _start(item: tuple[str, tuple[int, int]]) -> int:
    return item[1][0]
