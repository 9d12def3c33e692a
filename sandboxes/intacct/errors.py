"""The errors the gateway reports inside HTTP 200, in Intacct's errormessage/error shape.

XL03000003 (XML parse), XL03000006 (sender or sign-in refused), XL03000009 (transaction rolled
back) and GW-0010 (too many requests) are Intacct's own numbers. The business-logic numbers
(BL...) are illustrative: Intacct documents the shape of such errors, not a catalogue, so a
client must read description2/correction rather than branch on these.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GatewayError:
    errorno: str
    description: str = ""
    description2: str = ""
    correction: str = ""


def xml_parse_error(detail: str) -> GatewayError:
    return GatewayError("XL03000003", "", f"XML Parse schema error: {detail}", "")


def schema_error(tag: str, expected: tuple[str, ...]) -> GatewayError:
    """An element the request schema does not allow where it stands."""
    return GatewayError(
        "XL03000003",
        "",
        f"XML Parse schema error: Element '{tag}': This element is not expected. Expected is "
        f"one of ( {', '.join(expected)} ).",
        "",
    )


def bad_envelope(detail: str) -> GatewayError:
    return GatewayError(
        "XL03000003",
        "",
        f"XML Parse schema error: {detail}",
        "Send a DTD 3.0 request: request/control + operation/authentication/content/function.",
    )


def bad_sender() -> GatewayError:
    return GatewayError("XL03000006", "", "Incorrect Intacct XML Partner ID or password.", "")


def sender_not_authorized(sender_id: str, company_id: str) -> GatewayError:
    return GatewayError(
        "XL03000006",
        "Invalid Web Services Authorization",
        f"The sender ID '{sender_id}' is not authorized to make Web Services requests to "
        f"company ID '{company_id}'.",
        "Contact the company administrator to grant Web Services authorization to this sender ID.",
    )


def bad_sign_in() -> GatewayError:
    return GatewayError("XL03000006", "", "Sign-in information is incorrect", "")


def invalid_session() -> GatewayError:
    return GatewayError(
        "XL03000006", "", "Invalid session", "Sign in again (getAPISession) and retry the request."
    )


def too_many_requests(limit: int) -> GatewayError:
    return GatewayError(
        "GW-0010",
        f"Too many concurrent requests: this company allows {limit} at a time.",
        "",
        "Wait and retry; lower the number of concurrent requests.",
    )


def rolled_back() -> GatewayError:
    return GatewayError(
        "XL03000009",
        "",
        "The entire transaction in this operation has been rolled back due to an error.",
        "",
    )


def duplicate_function(controlid: str) -> GatewayError:
    return GatewayError(
        "XL03000008",
        "Duplicate request",
        f"A function with control ID '{controlid}' was already executed and completed; with "
        "uniqueid=true it is not executed again.",
        "Query the object to read its result, or send a new function control ID.",
    )


def unknown_function(name: str) -> GatewayError:
    return GatewayError(
        "XL03000003",
        "",
        f"The function '{name}' is not supported here.",
        "Use getAPISession, create, read, readByQuery, readMore or query.",
    )


def unknown_object(name: str) -> GatewayError:
    return GatewayError(
        "BL01001973",
        "",
        f"Object definition {name} not found",
        "This sandbox knows GLBATCH, GLENTRY, GLACCOUNT, LOCATION, DEPARTMENT, GLJOURNAL and "
        "the company's user dimensions.",
    )


def invalid_query(detail: str) -> GatewayError:
    return GatewayError("BL01001973", "Query Failed", detail, "Check the query syntax.")


def invalid_field(object_name: str, detail: str, correction: str = "") -> GatewayError:
    return GatewayError("BL34000061", f"Could not create {object_name} record!", detail, correction)


def missing_field(object_name: str, field: str) -> GatewayError:
    return invalid_field(
        object_name,
        f"Required field {field} is missing.",
        f"Provide {field} and send the request again.",
    )


def unknown_reference(object_name: str, field: str, value: str, what: str) -> GatewayError:
    return GatewayError(
        "BL03000018",
        f"Could not create {object_name} record!",
        f"Invalid {what} '{value}' in {field}: no such {what} in this company.",
        f"Use an existing {what}, or create it in Intacct first.",
    )


def inactive_reference(object_name: str, field: str, value: str, what: str) -> GatewayError:
    return GatewayError(
        "BL03000018",
        f"Could not create {object_name} record!",
        f"The {what} '{value}' in {field} is inactive.",
        f"Make the {what} active in Intacct, or use an active one.",
    )


def unbalanced(debits: str, credits: str) -> GatewayError:
    return GatewayError(
        "BL03000012",
        "Could not create GLBATCH record!",
        f"The journal entry is not balanced: debits {debits}, credits {credits}.",
        "Post offsetting entries so that debits equal credits.",
    )


def closed_period(batch_date: str) -> GatewayError:
    return GatewayError(
        "BL01001973",
        "",
        f"Your transaction date ({batch_date}) is within a period that's been closed.",
        "Post to an open period, or reopen the period.",
    )
