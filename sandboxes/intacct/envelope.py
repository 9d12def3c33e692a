"""The DTD 3.0 envelope: parse a request, build the response around the results.

A response always repeats the control block, then reports success or failure at the level
where processing stopped: control (nothing ran), authentication (no function ran) or each
function's result.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from sandboxes.intacct.errors import GatewayError, bad_envelope, schema_error, xml_parse_error

DTD_VERSION = "3.0"


class EnvelopeError(Exception):
    """The request cannot be processed at all: a control-level failure."""

    def __init__(self, error: GatewayError, control: Control | None = None):
        super().__init__(error.description2)
        self.error = error
        self.control = control


@dataclass(frozen=True)
class Control:
    senderid: str
    password: str
    controlid: str
    uniqueid: bool
    dtdversion: str
    tags: tuple[str, ...] = ()  # the control block's elements, in the order sent


@dataclass(frozen=True)
class Login:
    userid: str
    companyid: str
    password: str
    locationid: str


@dataclass(frozen=True)
class Function:
    controlid: str
    name: str  # getAPISession, create, read, readByQuery, readMore, query
    body: ET.Element  # the element named `name`


@dataclass(frozen=True)
class GatewayRequest:
    control: Control
    sessionid: str | None
    login: Login | None
    transaction: bool
    functions: list[Function] = field(default_factory=list)

    @property
    def first_function(self) -> str:
        return self.functions[0].name if self.functions else ""


def parse_request(body: bytes) -> GatewayRequest:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise EnvelopeError(xml_parse_error(str(exc))) from None
    if root.tag != "request":
        raise EnvelopeError(bad_envelope(f"root element is <{root.tag}>, expected <request>"))
    control = _control(root.find("control"))
    if control.dtdversion != DTD_VERSION:
        raise EnvelopeError(
            bad_envelope(f"dtdversion {control.dtdversion!r} is not supported; send {DTD_VERSION}"),
            control,
        )
    operation = root.find("operation")
    if operation is None:
        raise EnvelopeError(bad_envelope("missing <operation>"), control)
    authentication = operation.find("authentication")
    content = operation.find("content")
    if authentication is None or content is None:
        raise EnvelopeError(
            bad_envelope("<operation> needs <authentication> and <content>"), control
        )
    sessionid = _text(authentication, "sessionid") or None
    login_element = authentication.find("login")
    login = None
    if login_element is not None:
        login = Login(
            _text(login_element, "userid"),
            _text(login_element, "companyid"),
            _text(login_element, "password"),
            _text(login_element, "locationid"),
        )
    if sessionid is None and login is None:
        raise EnvelopeError(bad_envelope("<authentication> needs <login> or <sessionid>"), control)
    functions = []
    for element in content.findall("function"):
        children = list(element)
        if len(children) != 1:
            raise EnvelopeError(bad_envelope("each <function> holds exactly one call"), control)
        controlid = element.get("controlid") or ""
        if not controlid:
            raise EnvelopeError(bad_envelope("<function> needs a controlid attribute"), control)
        functions.append(Function(controlid, children[0].tag, children[0]))
    if not functions:
        raise EnvelopeError(bad_envelope("<content> holds no <function>"), control)
    for function in functions:
        _check_schema(function, control)
    transaction = (operation.get("transaction") or "false").lower() == "true"
    return GatewayRequest(control, sessionid, login, transaction, functions)


# What Intacct's schema lets each read function hold, by path below the function's element (in
# any order: Intacct's own SDKs and fylein's write them in different orders, both accepted).
# Paging (<pagesize>, <offset>) sits directly under <query>; its <options> holds only the two
# flags (Intacct's QueryFunction and fylein's format_and_send_request write them so).
SCHEMAS = {
    "query": {
        ".": ("object", "select", "filter", "orderby", "options", "pagesize", "offset"),
        "select": ("field", "count", "sum", "avg", "min", "max"),
        "orderby": ("order",),
        "orderby/order": ("field", "ascending", "descending"),
        "options": ("caseinsensitive", "showprivate"),
    },
    "readByQuery": {".": ("object", "fields", "query", "pagesize", "returnFormat", "docparid")},
    "read": {".": ("object", "keys", "fields", "returnFormat", "docparid")},
    "readMore": {".": ("object", "view", "reportId", "resultId")},
}


def _check_schema(function: Function, control: Control) -> None:
    """The request is validated before anything runs: an element out of place fails it all."""
    for path, allowed in SCHEMAS.get(function.name, {}).items():
        for parent in function.body.findall(path) if path != "." else [function.body]:
            for child in parent:
                if child.tag not in allowed:
                    raise EnvelopeError(schema_error(child.tag, allowed), control)


def _control(element: ET.Element | None) -> Control:
    if element is None:
        raise EnvelopeError(bad_envelope("missing <control>"))
    # uniqueid omitted = false, as the SDKs send it (the docs disagree on the default).
    return Control(
        _text(element, "senderid"),
        _text(element, "password"),
        _text(element, "controlid"),
        _text(element, "uniqueid").lower() == "true",
        _text(element, "dtdversion"),
        tuple(child.tag for child in element),
    )


def _text(parent: ET.Element, tag: str) -> str:
    child = parent.find(tag)
    return (child.text or "").strip() if child is not None else ""


# -- response -----------------------------------------------------------------------------------


def sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def control_block(parent: ET.Element, status: str, control: Control | None) -> None:
    block = sub(parent, "control")
    sub(block, "status", status)
    if control is not None:
        sub(block, "senderid", control.senderid)
        sub(block, "controlid", control.controlid)
        sub(block, "uniqueid", "true" if control.uniqueid else "false")
        sub(block, "dtdversion", control.dtdversion)


def error_block(parent: ET.Element, errors: list[GatewayError]) -> None:
    block = sub(parent, "errormessage")
    for error in errors:
        item = sub(block, "error")
        sub(item, "errorno", error.errorno)
        sub(item, "description", error.description)
        sub(item, "description2", error.description2)
        sub(item, "correction", error.correction)


def control_failure(error: GatewayError, control: Control | None = None) -> bytes:
    root = ET.Element("response")
    control_block(root, "failure", control)
    error_block(root, [error])
    return serialise(root)


def serialise(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)
