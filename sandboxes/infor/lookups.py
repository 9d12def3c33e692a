"""The read-only MI transactions `closeout check` asks: divisions of a company, accounting
identities of a division, and the fields of a GL interface definition.

MNS100MI LstDivisions (CONO) and CRS630MI LstAccountID (AITP, DIVI, AITM start-from; CONO from
the request) carry the input and output field names Infor's MI metadata gives them (as
generated into GaryWayneSmith/M3H5's M3H5Lib.Api). In CRS630, LCCD marks a blocked identity and
ACR2-ACR7 the accounting control of dimensions 2-7 for an account; the sandbox answers "1" for a
dimension the account requires and "0" otherwise, an assumption: Infor's public material names
the fields, not their values. M3 publishes no transaction that reads a GL interface definition:
EXT840MI LstIntDef (INTN -> FLDN, STPO, FLEN per field) stands for the MI extension a tenant adds
for it, as DltBatch does for clean-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sandboxes.infor.config import InforConfig
from sandboxes.infor.errors import MIError


@dataclass(frozen=True)
class Read:
    fields: dict  # input name -> (length, mandatory, numeric), as gl.FIELDS
    answer: Callable[[dict, InforConfig], list[dict]]


def _divisions(v: dict, config: InforConfig) -> list[dict]:
    start = v.get("DIVI", "")
    return [
        {"CONO": v["CONO"], "DIVI": divi, "TX15": f"Division {divi}", "FACI": "", "WHLO": ""}
        for divi in sorted(config.divisions)
        if divi >= start
    ]


def _accounting_identities(v: dict, config: InforConfig) -> list[dict]:
    divi = v.get("DIVI", "")
    if divi and divi not in config.divisions:
        raise MIError(f"Division {divi} does not exist", "WDI0103", "DIVI")
    dimension = int(v["AITP"])
    if not 1 <= dimension <= 7:
        raise MIError(f"Accounting dimension {dimension} is invalid", "WAI0101", "AITP")
    if dimension == 1:
        values = config.accounts_of(divi)
    else:
        values = config.dimension_values.get(f"AIT{dimension}") or []
    start = v.get("AITM", "")
    records = []
    for value in sorted(values):
        if value < start:
            continue
        required = config.account_dimensions.get(value, []) if dimension == 1 else []
        records.append(
            {
                "CONO": v["CONO"],
                "DIVI": divi,
                "AITP": str(dimension),
                "AITM": value,
                "TX40": config.account_names.get(value, value) if dimension == 1 else value,
                "LCCD": "1" if dimension == 1 and value in config.blocked_accounts else "0",
                **{f"ACR{n}": "1" if f"AIT{n}" in required else "0" for n in range(2, 8)},
            }
        )
    return records


def _interface_fields(v: dict, config: InforConfig) -> list[dict]:
    definition = config.interfaces.get(v["INTN"])
    if definition is None:
        raise MIError(f"Interface {v['INTN']} does not exist", "WIN0203", "INTN")
    return [
        {"INTN": v["INTN"], "FLDN": name, "STPO": str(start), "FLEN": str(length)}
        for name, start, length in definition
    ]


READS: dict[tuple[str, str], Read] = {
    ("MNS100MI", "LstDivisions"): Read(
        {"CONO": (3, True, True), "DIVI": (3, False, False)}, _divisions
    ),
    ("CRS630MI", "LstAccountID"): Read(
        {
            "AITP": (1, True, True),
            "DIVI": (3, False, False),
            "AITM": (8, False, False),
            "LNCD": (2, False, False),
        },
        _accounting_identities,
    ),
    ("EXT840MI", "LstIntDef"): Read(
        {"CONO": (3, False, True), "INTN": (10, True, False)}, _interface_fields
    ),
}
