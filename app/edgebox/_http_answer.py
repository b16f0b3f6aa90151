"""What a guest may answer over HTTP.

A guest's net/http handler is served by Go's own ``net/http`` server inside
the guest (sdk/http.go ServeEnvelope), which answers with the HTTP/1.1
response bytes a client would read off the wire: informational (1xx)
responses, then the final one, framed by ``Content-Length``, chunked encoding
(with trailers) or the end of the bytes. ``parse_answer`` reads them with
h11, a well-kept HTTP/1.1 parser, and returns what a browser's ``fetch``
would make of them, or ``GuestError`` naming the problem (box.fetch then
answers 502 ``E_GUEST``).

The rules, and where they come from:

- The bytes are one HTTP/1.1 response as h11 reads it (RFC 9112): header
  names are tokens, values hold no NUL, CR or LF, the framing is consistent
  and complete. Each response's headers are at most ``MAX_HEAD_BYTES``
  (64 KiB) and ``MAX_HEADERS`` (100): EdgeBox's own limits.
- Informational responses (``103 Early Hints``, say) are read and dropped, as
  ``fetch`` drops them; trailers too (``fetch`` exposes none).
- The final status is in 200..599: the range a Fetch ``Response`` takes.
- A body is dropped for ``HEAD`` and for 204 and 304 (RFC 9110: they have
  none; h11 does this) and for 205, which Fetch makes a null-body status.
- A name in ``FORBIDDEN_RESPONSE_HEADERS`` (Fetch's "forbidden response-header
  names": ``set-cookie``, ``set-cookie2``) is refused: a browser never takes
  cookies from a handler running in the page.
- A name in ``EDGEBOX_HEADERS`` (``x-edgebox-version``, ``traceparent``) is
  refused: EdgeBox sets those itself (the release and the tracer middleware),
  and a guest must not be able to forge them.

- A body with ``Content-Encoding`` ``gzip``, ``x-gzip`` or ``deflate`` (zlib or
  raw, as browsers take it) is decoded, as ``fetch`` decodes it, to at most
  ``MAX_DECODED_BYTES`` (64 MiB; more is refused: a small guest answer must
  not become a large host allocation); the header stays, as in ``fetch``.
  ``br`` and ``zstd``, which ``fetch`` decodes but neither Python's standard
  library nor the page's ``DecompressionStream`` can, are refused; any other
  coding passes through undecoded, as ``fetch`` passes it.

Values are decoded as Latin-1 (a Fetch ``ByteString``). Names are compared
case-insensitively; headers keep their order and the server's spelling.
"""

from __future__ import annotations

import zlib

import h11

from ._errors import GuestError
from ._exchange import EdgeResponse

__all__ = [
    "EDGEBOX_HEADERS",
    "FORBIDDEN_RESPONSE_HEADERS",
    "MAX_DECODED_BYTES",
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "MAX_STATUS",
    "MIN_STATUS",
    "NULL_BODY_STATUSES",
    "parse_answer",
]

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100
MAX_DECODED_BYTES = 64 << 20
MIN_STATUS, MAX_STATUS = 200, 599
# Fetch: a null body status (101 is never final here: see parse_answer).
NULL_BODY_STATUSES = frozenset({101, 103, 204, 205, 304})
# Fetch: forbidden response-header names.
FORBIDDEN_RESPONSE_HEADERS = frozenset({"set-cookie", "set-cookie2"})
# Set by EdgeBox on every box.fetch response (release: x-edgebox-version; tracer: traceparent).
EDGEBOX_HEADERS = frozenset({"x-edgebox-version", "traceparent"})


def _fail(problem: str) -> GuestError:
    return GuestError(f"bad HTTP answer: {problem}")


def _headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    if len(raw) > MAX_HEADERS:
        raise _fail(f"{len(raw)} headers, more than the {MAX_HEADERS} EdgeBox takes")
    if sum(len(name) + len(value) + 4 for name, value in raw) > MAX_HEAD_BYTES:
        raise _fail(f"the head is over {MAX_HEAD_BYTES} bytes (64 KiB), the most EdgeBox takes")
    headers = []
    for name, value in raw:
        text = name.decode("ascii")
        lower = text.lower()
        if lower in FORBIDDEN_RESPONSE_HEADERS:
            raise _fail(f"header {text!r} is a forbidden response header; a handler may not set it")
        if lower in EDGEBOX_HEADERS:
            raise _fail(f"header {text!r} is set by EdgeBox; a handler may not set it")
        headers.append((text, value.decode("latin-1")))
    return headers


def _decode(body: bytes, codings: str) -> bytes:
    # Content-Encoding lists codings in the order they were applied: undo them last first.
    for coding in reversed([c.strip().lower() for c in codings.split(",") if c.strip()]):
        if coding in ("br", "zstd"):
            raise _fail(f"Content-Encoding {coding} cannot be decoded in EdgeBox; use gzip")
        if coding not in ("gzip", "x-gzip", "deflate"):
            return body  # fetch leaves a coding it does not know as it is
        attempts = (16 + zlib.MAX_WBITS,) if coding != "deflate" else (zlib.MAX_WBITS, -zlib.MAX_WBITS)
        for wbits in attempts:
            decoder = zlib.decompressobj(wbits)
            try:
                decoded = decoder.decompress(body, MAX_DECODED_BYTES + 1)
            except zlib.error as error:
                problem = error
                continue
            if len(decoded) > MAX_DECODED_BYTES or decoder.unconsumed_tail:
                raise _fail(f"the body decodes to more than {MAX_DECODED_BYTES >> 20} MiB (Content-Encoding {coding})")
            if not decoder.eof:
                problem = "the compressed data ends early"
                continue
            body = decoded
            break
        else:
            raise _fail(f"the body is not valid {coding} data ({problem})")
    return body


def parse_answer(raw: bytes, method: str = "GET") -> EdgeResponse:
    """The HTTP/1.1 response bytes ``raw`` that answer a ``method`` request, as an
    ``EdgeResponse`` (status, headers, body bytes, or ``None`` for no body);
    ``GuestError`` naming the problem if they break a rule above."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise _fail(f"the answer is a {type(raw).__name__}, not the bytes of an HTTP response")
    if not raw:
        raise _fail("the answer is empty, not an HTTP response")
    # h11 reads responses as a client that sent the request: it needs the method (HEAD has no body).
    connection = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
    connection.send(h11.Request(method=method, target="/", headers=[("Host", "edgebox")]))
    connection.send(h11.EndOfMessage())
    connection.receive_data(bytes(raw))
    connection.receive_data(b"")  # the end of the bytes: ends a body framed by the connection's close
    status, reason, headers, chunks = None, "", [], []
    try:
        while True:
            event = connection.next_event()
            if isinstance(event, h11.InformationalResponse):
                _headers(event.headers.raw_items())
            elif isinstance(event, h11.Response):
                status, headers = event.status_code, _headers(event.headers.raw_items())
                reason = event.reason.decode("latin-1")
            elif isinstance(event, h11.Data):
                chunks.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                break
            else:  # h11 raises for bytes that end early; anything else is not one response
                raise _fail(f"not a valid HTTP/1.1 response (h11 read {type(event).__name__})")
    except h11.RemoteProtocolError as error:
        raise _fail(f"not a valid HTTP/1.1 response ({error})") from None
    if not MIN_STATUS <= status <= MAX_STATUS:
        raise _fail(f"status {status} is outside {MIN_STATUS}..{MAX_STATUS}, the range a Response accepts")
    if method == "HEAD" or status in NULL_BODY_STATUSES:
        return EdgeResponse(status, headers, None, reason)
    body = b"".join(chunks)
    codings = ", ".join(value for name, value in headers if name.lower() == "content-encoding")
    return EdgeResponse(status, headers, _decode(body, codings) if codings and body else body, reason)
