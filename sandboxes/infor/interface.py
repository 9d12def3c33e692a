"""The tenant's GL interface definitions (GLS840's INTN): for each interface, where every PARM
field sits (field, 1-based start, length). The sandbox reads a line's PARM through its own
definition, configured apart from the connector's ERP__INFOR__PARM_LAYOUT, so a connector whose
layout disagrees with the tenant's is refused here as it would be by M3.

What a field must look like follows from what it holds: an accounting identity (AIT1-7) or a
currency is left-aligned without inner blanks, ACDT is eight digits, CUAM a sign, zero-padded
digits and two decimals filling the field, VTXT free text; positions no field covers are blank.
A PARM that breaks one of these does not match the definition (errorField PARM). Infor publishes
neither the interface record format nor its messages: the rules and words are the sandbox's.
"""

from __future__ import annotations

import re

from sandboxes.infor.parm import ParmError

FULL_AMOUNT = re.compile(r"^[+-]\d+\.\d{2}$")
IDENTITY_FIELDS = {f"AIT{n}" for n in range(1, 8)} | {"CUCD"}


def width(definition: list[list]) -> int:
    """The last position the definition covers."""
    return max(start - 1 + length for _, start, length in definition)


def check_structure(parm: str, interface: str, definition: list[list]) -> None:
    """ParmError(field "PARM") when the record cannot have been written to this definition."""
    end = width(definition)
    if len(parm.rstrip()) > end:
        _mismatch(
            interface,
            f"the record is {len(parm.rstrip())} long and the definition ends at position {end}",
        )
    covered = set()
    for name, start, length in definition:
        covered.update(range(start - 1, start - 1 + length))
        text = parm[start - 1 : start - 1 + length]
        problem = _field_problem(name, text, length)
        if problem:
            _mismatch(
                interface,
                f"{name} (positions {start}-{start + length - 1}) reads {text.rstrip()!r}: "
                f"{problem}",
            )
    stray = [i + 1 for i, char in enumerate(parm[:end]) if i not in covered and char != " "]
    if stray:
        _mismatch(interface, f"position {stray[0]} lies in no field but is not blank")


def _field_problem(name: str, text: str, length: int) -> str:
    value = text.strip()
    if not value:
        return ""  # a blank field: what it may hold is checked with the values
    if name in IDENTITY_FIELDS:
        if text[0] == " ":
            return "the value does not start at the field's first position"
        if " " in value:
            return "an identity holds no blanks"
    elif name == "ACDT":
        if not (value.isdigit() and len(text) == 8 and value == text):
            return "not a date of 8 digits"
    elif name == "CUAM":
        if len(text) < length or not FULL_AMOUNT.match(text):
            return f"not a signed amount with 2 decimals zero-padded to {length} characters"
    return ""


def _mismatch(interface: str, detail: str) -> None:
    raise ParmError("PARM", f"PARM does not match interface {interface}: {detail}")
