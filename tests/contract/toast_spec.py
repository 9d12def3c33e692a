"""Toast's published OpenAPI specs (`../shared/reference/toast/openapi/`) as a validator of what
the loader sends to Toast and what Toast (or the sandbox) answers, through openapi-core.

The specs are used as published, with two translations that change no rule:

* the labor API is published only as Swagger 2.0, which openapi-core does not read: `_openapi3`
  rewrites the parts a GET uses (parameters, responses, definitions) in OpenAPI 3.0 terms;
* the OAuth 2 security schemes become HTTP bearer schemes, which is how an OAuth 2 token is
  presented (RFC 6750), so openapi-core checks the `Authorization` header instead of warning
  that it cannot check OAuth 2.

and with the deviations real Toast shows, each allowed narrowly (`ALLOWANCES`; the tests show
every one is needed by Toast's own example documents, and no other).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openapi_core import OpenAPI, V30RequestValidator, V30ResponseValidator
from openapi_core.configurations import Config
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.finders import APICallPathFinder
from werkzeug.datastructures import Headers, ImmutableMultiDict

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "toast"
SPEC_HOST = "https://toast-api-server"  # the server every Toast spec names

# The API each path prefix belongs to: the spec's file, and the prefix its server URL holds.
SPECS = {
    "/authentication/v1": "toast-authentication-api.yaml",
    "/partners/v1": "toast-partners-api.yaml",
    "/restaurants/v1": "toast-restaurants-api.yaml",
    "/config/v2": "toast-config-api.yaml",
    "/orders/v2": "toast-orders-api.yaml",
    "/labor/v1": "toast-labor-api-1.9.0-swagger.yaml",
}

# Toast's date-time: RFC 3339 but for the offset, written without a colon (+0000), as every
# real example writes it ("2019-02-24T13:48:44.206+0000").
TOAST_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{4}$")


@dataclass(frozen=True)
class Allowance:
    """One way real Toast departs from its spec, and the real document that shows it."""

    name: str
    rule: str
    evidence: str


NULLS = Allowance(
    "nulls",
    "a property the schema does not require may be null (Toast writes null for 'no value' where "
    "its specs do not say nullable), and so may a TimeEntry's entityType, although required; any "
    "other required property, a whole body and an array's item may not",
    "ordersBulk_example_response_first_order.json (Order.externalId, revenueCenter, voidDate, "
    "Check.closedDate, Selection.voidReason null), "
    "apiDevGuide-apiGettingTimeEntriesForEmployees__1.json (TimeEntry.entityType null), "
    "apiDevGuide-apiPartnersGettingAccessibleRestaurants__1.json (locationName null), "
    "restaurants_GET_restaurantGuid_example.json (delivery.minimum null), and the guide's login "
    "answer (apiDevGuide-authentication.md: token.scope, idToken, refreshToken null)",
)
OFFSETS = Allowance(
    "offsets",
    "a date-time may write its UTC offset without the colon (+0000), not only RFC 3339's "
    "+00:00 or Z",
    "every timestamp of ordersBulk_example_response_first_order.json and of "
    "apiDevGuide-apiGettingTimeEntriesForEmployees__1.json (e.g. '2019-02-24T13:48:44.206+0000')",
)
GUIDLESS = Allowance(
    "guidless",
    "an applied tax (AppliedTaxRate), a check's customer (Customer) and an order's "
    "curbsidePickupInfo (CurbsidePickupInfo) may come without the guid the spec requires of "
    "every ToastReference; entityType is still required",
    "the appliedTaxes of the example orders (e.g. apiDevGuide-apiOrdersFirstOrder__7.json); "
    "checks[0].customer and curbsidePickupInfo of ordersBulk_example_response_first_order.json",
)
SHIFT_REFERENCE = Allowance(
    "shift_reference",
    "a TimeEntry's shiftReference may be the shift's guid as a string, not the object the spec "
    "describes",
    "apiDevGuide-apiGettingTimeEntriesForEmployees__1.json "
    '("shiftReference": "56387b8e-78df-47a4-9395-e5e1cb3f04d1")',
)
ERROR_STATUS = Allowance(
    "error_status",
    "an ErrorMessage's status may be the HTTP status as a number, not the string the spec says",
    "the guide's ErrorMessage example (apiDevGuide-apiResponsesAndErrors.md, Example 1.10: "
    '"status": 400)',
)
ALLOWANCES = (NULLS, OFFSETS, GUIDLESS, SHIFT_REFERENCE, ERROR_STATUS)
ALL = frozenset(allowance.name for allowance in ALLOWANCES)
GUIDLESS_SCHEMAS = ("AppliedTaxRate", "Customer", "CurbsidePickupInfo")


def spec_file(path: str) -> tuple[str, Path]:
    """(the path prefix that is the spec's server, the spec file) for a request path."""
    for prefix, name in SPECS.items():
        if path.startswith(prefix + "/"):
            return prefix, REFERENCE / "openapi" / name
    raise KeyError(f"no Toast spec covers {path}")


@cache
def _published(file: Path) -> dict:
    if not file.is_file():
        raise FileNotFoundError(
            f"Toast's published spec is not at {file}: the contract tests read it there (the "
            "shared reference folder beside this repository)"
        )
    return yaml.safe_load(file.read_text())


@cache
def openapi(prefix: str, allowances: frozenset[str] = ALL) -> OpenAPI:
    """The spec of one API (by path prefix) as an openapi-core validator, with `allowances`."""
    _, file = spec_file(prefix + "/")
    spec = _openapi3(copy.deepcopy(_published(file)))
    for scheme in spec.get("components", {}).get("securitySchemes", {}).values():
        if scheme.get("type") == "oauth2":
            scheme.clear()
            scheme.update(type="http", scheme="bearer")
    schemas = spec.get("components", {}).get("schemas", {})
    if GUIDLESS.name in allowances:
        _allow_guidless(schemas)
    if SHIFT_REFERENCE.name in allowances and "TimeEntry" in schemas:
        entry = next(part for part in schemas["TimeEntry"]["allOf"] if "properties" in part)
        shift = entry["properties"]["shiftReference"]
        entry["properties"]["shiftReference"] = {"anyOf": [shift, {"type": "string"}]}
    if ERROR_STATUS.name in allowances and "ErrorMessage" in schemas:
        status = schemas["ErrorMessage"]["properties"]["status"]
        schemas["ErrorMessage"]["properties"]["status"] = {"anyOf": [status, {"type": "integer"}]}
    if NULLS.name in allowances:
        if "TimeEntry" in schemas:
            _allow_null_time_entry_type(schemas)
        _allow_null_properties(spec)
    formats = {"date-time": _toast_date_time} if OFFSETS.name in allowances else {}
    config = Config(
        extra_format_validators=formats,
        request_validator_cls=V30RequestValidator,
        response_validator_cls=V30ResponseValidator,
    )
    return OpenAPI.from_dict(spec, config=config)


def _allow_guidless(schemas: dict) -> None:
    """GUIDLESS_SCHEMAS inherit a ToastReference whose guid is not required."""
    if not any(name in schemas for name in GUIDLESS_SCHEMAS):
        return
    reference = copy.deepcopy(schemas["ToastReference"])
    reference["required"] = [name for name in reference["required"] if name != "guid"]
    schemas["ToastReferenceWithoutGuid"] = reference
    for name in GUIDLESS_SCHEMAS:
        for part in schemas.get(name, {}).get("allOf", ()):
            if part.get("$ref") == "#/components/schemas/ToastReference":
                part["$ref"] = "#/components/schemas/ToastReferenceWithoutGuid"


def _allow_null_time_entry_type(schemas: dict) -> None:
    """TimeEntry inherits, through its own copies of ExternalReference and ToastReference, an
    entityType that is required (present) but may be null."""
    reference = copy.deepcopy(schemas["ToastReference"])
    reference["properties"]["entityType"]["nullable"] = True
    external = copy.deepcopy(schemas["ExternalReference"])
    external["allOf"] = [
        _replace_ref(part, "ToastReference", reference) for part in external["allOf"]
    ]
    entry = schemas["TimeEntry"]
    entry["allOf"] = [_replace_ref(part, "ExternalReference", external) for part in entry["allOf"]]


def _replace_ref(part: dict, name: str, schema: dict) -> dict:
    return schema if part.get("$ref") == f"#/components/schemas/{name}" else part


def _allow_null_properties(schema: Any) -> None:
    """Every property a schema does not require, anywhere in the spec, also accepts null:
    `nullable` where the property has its own type, else "that schema, or null" (OpenAPI 3.0
    ignores keywords beside a $ref, and `nullable` only qualifies a `type`)."""
    if isinstance(schema, list):
        for item in schema:
            _allow_null_properties(item)
        return
    if not isinstance(schema, dict):
        return
    properties = schema.get("properties")
    required = schema.get("required")
    required = required if isinstance(required, list) else ()  # a parameter's is a boolean
    if isinstance(properties, dict):
        for name, prop in properties.items():
            if not isinstance(prop, dict) or name in required:
                continue
            if "$ref" in prop or "type" not in prop:
                properties[name] = {"anyOf": [prop, {"enum": [None]}]}
            else:
                prop["nullable"] = True
                if "enum" in prop and None not in prop["enum"]:
                    prop["enum"] = [*prop["enum"], None]  # enum is checked apart from nullable
    for key, value in schema.items():
        if key != "example":
            _allow_null_properties(value)


def _toast_date_time(value: Any) -> bool:
    if not isinstance(value, str):
        return True  # formats apply to strings only
    if TOAST_DATE_TIME.match(value):
        value = value[:-2] + ":" + value[-2:]
    elif not re.search(r"(Z|[+-]\d{2}:\d{2})$", value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value


# -- Swagger 2.0 -> OpenAPI 3.0 (the labor API) ----------------------------------------------

_PARAMETER_SCHEMA_KEYS = (
    "type",
    "format",
    "items",
    "enum",
    "default",
    "minimum",
    "maximum",
    "pattern",
    "maxLength",
    "minLength",
    "maxItems",
    "minItems",
)


def _openapi3(spec: dict) -> dict:
    if not str(spec.get("swagger", "")).startswith("2"):
        return spec
    spec = json.loads(json.dumps(spec).replace('"#/definitions/', '"#/components/schemas/'))
    converted = {
        "openapi": "3.0.1",
        "info": spec["info"],
        "servers": [{"url": f"https://{spec['host']}{spec['basePath']}"}],
        "paths": {},
        "components": {
            "schemas": _nullable(spec.get("definitions", {})),
            "securitySchemes": spec.get("securityDefinitions", {}),
        },
    }
    for path, item in spec["paths"].items():
        new_item = {}
        for key, operation in item.items():
            if key == "parameters":
                new_item[key] = [_parameter(p) for p in operation if p["in"] != "body"]
                continue
            new_item[key] = _operation(operation, spec.get("produces", ["application/json"]))
        converted["paths"][path] = new_item
    return converted


def _operation(operation: dict, produces: list[str]) -> dict:
    new = {k: v for k, v in operation.items() if k not in ("parameters", "responses", "produces")}
    media = (operation.get("produces") or produces)[0]
    parameters = operation.get("parameters", [])
    new["parameters"] = [_parameter(p) for p in parameters if p["in"] not in ("body", "formData")]
    for body in (p for p in parameters if p["in"] == "body"):
        new["requestBody"] = {
            "required": body.get("required", False),
            "content": {"application/json": {"schema": _nullable(body["schema"])}},
        }
    new["responses"] = {}
    for status, response in operation.get("responses", {}).items():
        converted = {"description": response.get("description", "")}
        if "schema" in response:
            converted["content"] = {media: {"schema": _nullable(response["schema"])}}
        if "headers" in response:
            headers = response["headers"].items()
            converted["headers"] = {name: {"schema": _schema_part(h)} for name, h in headers}
        new["responses"][status] = converted
    return new


def _parameter(parameter: dict) -> dict:
    moved = (*_PARAMETER_SCHEMA_KEYS, "collectionFormat")
    new = {k: v for k, v in parameter.items() if k not in moved}
    new["schema"] = _schema_part(parameter)
    if parameter.get("collectionFormat") == "multi":
        new.update(style="form", explode=True)
    elif parameter.get("type") == "array":
        new.update(style="form", explode=False)  # Swagger 2.0's default, csv
    return new


def _schema_part(parameter: dict) -> dict:
    return {k: v for k, v in parameter.items() if k in _PARAMETER_SCHEMA_KEYS}


def _nullable(schema: Any) -> Any:
    """Swagger 2.0's `x-nullable` is OpenAPI 3.0's `nullable`."""
    if isinstance(schema, dict):
        return {
            ("nullable" if key == "x-nullable" else key): _nullable(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_nullable(value) for value in schema]
    return schema


# -- exchanges --------------------------------------------------------------------------------


@dataclass
class Exchange:
    """One request the loader sent and the answer it got, as they crossed the wire."""

    method: str
    path: str
    query: list[tuple[str, str]]
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: list[tuple[str, str]]
    response_body: bytes


@dataclass
class _SpecRequest:
    """openapi-core's request protocol, for a recorded exchange."""

    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass
class _SpecResponse:
    status_code: int
    headers: Headers
    content_type: str
    data: bytes


def _request(exchange: Exchange) -> _SpecRequest:
    headers = Headers(list(exchange.request_headers.items()))
    return _SpecRequest(
        host_url=SPEC_HOST,
        path=exchange.path,
        method=exchange.method.lower(),
        body=exchange.request_body or None,
        content_type=headers.get("Content-Type", "application/json").lower(),
        parameters=RequestParameters(
            query=ImmutableMultiDict(exchange.query),
            header=headers,
            cookie=ImmutableMultiDict(),
        ),
    )


def _response(exchange: Exchange) -> _SpecResponse:
    headers = Headers(exchange.response_headers)
    return _SpecResponse(
        status_code=exchange.status,
        headers=headers,
        content_type=headers.get("Content-Type", "").lower(),
        data=exchange.response_body,
    )


def operation_of(exchange: Exchange) -> str:
    """The spec's own name for what was asked: "GET /config/v2/{entity}" style, by the path the
    spec writes (e.g. /restaurants/v1/restaurants/{restaurantGUID})."""
    prefix, _ = spec_file(exchange.path)
    result = APICallPathFinder(openapi(prefix).spec).find(
        exchange.method.lower(), SPEC_HOST + exchange.path
    )
    return f"{exchange.method.upper()} {prefix}{result.path_result.pattern}"


def problems(exchange: Exchange, allowances: frozenset[str] | None = None) -> list[str]:
    """Everything in the exchange its spec does not allow (with `allowances`, default all):
    the request, then the response. Empty when it conforms."""
    names = ALL if allowances is None else allowances
    prefix, _ = spec_file(exchange.path)
    spec = openapi(prefix, names)
    found = []
    request = _request(exchange)
    for error in _errors(lambda: spec.validate_request(request)):
        found.append(f"request: {error}")
    response = _response(exchange)
    for error in _errors(lambda: spec.validate_response(request, response)):
        found.append(f"response {exchange.status}: {error}")
    return found


def _errors(validate: Callable[[], None]) -> list[str]:
    try:
        validate()
    except Exception as exc:  # openapi-core's validation errors carry the schema errors
        return [_describe(exc)]
    return []


def _describe(exc: BaseException) -> str:
    """The error, shortened (openapi-core's message quotes the whole body), and each schema
    error with the place in the body it is at."""
    text = f"{type(exc).__name__}: {str(exc)[:300]}"
    cause = exc.__cause__ or exc.__context__
    details = getattr(cause, "schema_errors", None) or getattr(exc, "schema_errors", None)
    if details:
        text += "".join(
            f"\n  at {'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
            for error in list(details)[:20]
        )
    elif cause is not None:
        text += f" ({_describe(cause)})"
    return text
