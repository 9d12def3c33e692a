"""OData `$batch` in the multipart/mixed format F&O accepts: parts separated by boundaries on
CRLF lines, changesets as nested multiparts, each operation an `application/http` request.
The answer has the same shape, with server-chosen `batchresponse_`/`changesetresponse_`
boundaries and the request's Content-ID on each changeset part."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus

from sandboxes.d365.odata import ODataError
from sandboxes.http import Response

CRLF = b"\r\n"
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)


@dataclass
class Operation:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    content_id: str | None = None


@dataclass
class Part:
    operation: Operation | None = None  # a request outside a changeset
    changeset: list[Operation] = field(default_factory=list)  # or an atomic group


def boundary_of(content_type: str | None) -> str | None:
    if not content_type or not content_type.lower().startswith("multipart/mixed"):
        return None
    match = _BOUNDARY.search(content_type)
    return match.group(1) if match else None


def parse_batch(body: bytes, content_type: str | None) -> list[Part]:
    boundary = boundary_of(content_type)
    if boundary is None:
        raise ODataError(
            400,
            "The content type of a batch request must be multipart/mixed "
            "with a boundary parameter.",
        )
    parts = []
    for headers, content in _split(body, boundary):
        inner = boundary_of(headers.get("content-type"))
        if inner:
            operations = [_operation(h, c) for h, c in _split(content, inner)]
            parts.append(Part(changeset=operations))
        else:
            parts.append(Part(operation=_operation(headers, content)))
    return parts


def _split(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    delimiter = b"--" + boundary.encode()
    if delimiter + CRLF not in body and delimiter + b"--" not in body:
        raise ODataError(
            400,
            f"The batch body has no part starting with the boundary "
            f"'{boundary}' on a line of its own ending in CRLF.",
        )
    for match in re.finditer(re.escape(delimiter) + rb"(?:--)?(\r\n|\n)?", body):
        if match.group(1) == b"\n":
            raise ODataError(
                400,
                "The batch request is not valid multipart/mixed: its lines "
                "must end with CRLF (\\r\\n), not a bare LF.",
            )
    chunks = body.split(delimiter)
    if not chunks[-1].startswith(b"--"):
        raise ODataError(
            400, f"The batch part with boundary '{boundary}' is not terminated by '--{boundary}--'."
        )
    parts = []
    for chunk in chunks[1:-1]:
        chunk = chunk.removeprefix(CRLF)
        if chunk.endswith(CRLF):
            chunk = chunk[: -len(CRLF)]
        head, _, content = chunk.partition(CRLF + CRLF)
        parts.append((_headers(head), content))
    return parts


def _headers(block: bytes) -> dict[str, str]:
    headers = {}
    for line in block.decode("utf-8", errors="replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def _operation(headers: dict[str, str], content: bytes) -> Operation:
    if not headers.get("content-type", "").lower().startswith("application/http"):
        raise ODataError(400, "Each batch operation must have Content-Type: application/http.")
    head, _, body = content.partition(CRLF + CRLF)
    request_line, _, header_block = head.partition(CRLF)
    pieces = request_line.decode("utf-8", errors="replace").split(" ")
    if len(pieces) != 3 or not pieces[2].startswith("HTTP/"):
        raise ODataError(
            400,
            f"The batch operation's request line "
            f"'{request_line.decode(errors='replace')}' is not "
            "'METHOD URL HTTP/1.1'.",
        )
    return Operation(
        pieces[0].upper(), pieces[1], _headers(header_block), body, headers.get("content-id")
    )


def write_batch(answers: list[tuple[bool, list[tuple[Response, str | None]]]]) -> Response:
    """`answers`: per part, whether it was a changeset, and its (response, Content-ID) list."""
    batch = f"batchresponse_{uuid.uuid4()}"
    out = bytearray()
    for is_changeset, responses in answers:
        out += f"--{batch}\r\n".encode()
        if is_changeset:
            changeset = f"changesetresponse_{uuid.uuid4()}"
            out += f"Content-Type: multipart/mixed; boundary={changeset}\r\n\r\n".encode()
            for response, content_id in responses:
                out += f"--{changeset}\r\n".encode() + _http_part(response, content_id) + CRLF
            out += f"--{changeset}--\r\n".encode()
        else:
            response, content_id = responses[0]
            out += _http_part(response, content_id) + CRLF
    out += f"--{batch}--\r\n".encode()
    return Response(
        200, bytes(out), {"OData-Version": "4.0"}, content_type=f"multipart/mixed; boundary={batch}"
    )


def _http_part(response: Response, content_id: str | None) -> bytes:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id:
        head += f"Content-ID: {content_id}\r\n"
    status = f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}\r\n"
    headers = ""
    if response.body:
        headers += f"Content-Type: {response.content_type}; odata.metadata=minimal\r\n"
    for name, value in response.headers.items():
        headers += f"{name}: {value}\r\n"
    return (head + "\r\n" + status + headers + "\r\n").encode() + (response.body or b"")
