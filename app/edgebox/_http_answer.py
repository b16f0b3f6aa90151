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
  names": ``set-cookie``, ``set-cookie2``; and ``clear-site-data``) is refused:
  a browser never takes cookies from a handler running in the page, and at
  the edge these would reach every route of the origin.
- A name in ``EDGEBOX_HEADERS`` (``x-edgebox-version``, ``x-edgebox-where``,
  ``traceparent``) is refused: EdgeBox sets those itself (the release, the
  loader or the edge, the tracer), and a guest must not be able to forge them.

- A body keeps its ``Content-Encoding``: the host never decodes one (a small
  answer must not become a large host allocation). The page decodes ``gzip``,
  ``x-gzip`` and ``deflate`` as ``fetch`` would, with ``DecompressionStream``
  (web/edgebox.js); at the edge the client does, as from any server. ``br``
  and ``zstd``, which ``fetch`` decodes but the page's ``DecompressionStream``
  cannot, are refused.
- At most ``MAX_INFORMATIONAL`` (100) informational responses, and at most
  ``MAX_CHUNKS`` (4096) chunks or one per 256 bytes of the answer, whichever
  is more: each is an event to parse, and a body of one-byte chunks would
  hold the host's event loop for seconds.

Values are decoded as Latin-1 (a Fetch ``ByteString``). Names are compared
case-insensitively; headers keep their order and the server's spelling.
"""

from __future__ import annotations

import h11

from ._errors import GuestError
from ._exchange import EdgeResponse

__all__ = [
    "EDGEBOX_HEADERS",
    "FORBIDDEN_RESPONSE_HEADERS",
    "MAX_CHUNKS",
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "MAX_INFORMATIONAL",
    "MAX_STATUS",
    "MIN_STATUS",
    "NULL_BODY_STATUSES",
    "AnswerReader",
    "parse_answer",
]

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100
MAX_INFORMATIONAL = 100
MAX_CHUNKS = 4096
UNDECODABLE_CODINGS = frozenset({"br", "zstd"})
MIN_STATUS, MAX_STATUS = 200, 599
# Fetch: a null body status (101 is never final here: see parse_answer).
NULL_BODY_STATUSES = frozenset({101, 103, 204, 205, 304})
# Fetch: forbidden response-header names.
FORBIDDEN_RESPONSE_HEADERS = frozenset({"set-cookie", "set-cookie2", "clear-site-data"})
# Set by EdgeBox on every box.fetch response (release: x-edgebox-version; loader or edge: x-edgebox-where;
# tracer: traceparent).
EDGEBOX_HEADERS = frozenset({"x-edgebox-version", "x-edgebox-where", "traceparent"})


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


class AnswerReader:
    """One HTTP/1.1 answer read as it arrives: ``feed`` it the bytes in order,
    then ``end``. ``response`` is the final response's head once it has been
    read (an ``EdgeResponse`` whose body is ``None``), and ``take_body`` the
    body bytes read since it was last called. Every rule above holds; a broken
    one raises ``GuestError`` naming it."""

    def __init__(self, method: str = "GET") -> None:
        # h11 reads responses as a client that sent the request: it needs the method (HEAD has no body).
        self._connection = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._connection.send(h11.Request(method=method, target="/", headers=[("Host", "edgebox")]))
        self._connection.send(h11.EndOfMessage())
        self._method = method
        self._fed = 0
        self._informational = 0
        self._chunks = 0
        self._body: list[bytes] = []
        self.response: EdgeResponse | None = None
        self.complete = False

    @property
    def has_body(self) -> bool:
        """Whether the response (once read) carries a body: not for HEAD or a null-body status."""
        return self.response is not None and self._method != "HEAD" and self.response.status not in NULL_BODY_STATUSES

    def feed(self, data: bytes) -> None:
        if self.complete or not data:  # h11 reads empty data as the end of the bytes
            return  # what comes after the answer is no answer's: a server writes nothing there
        self._fed += len(data)
        self._connection.receive_data(bytes(data))
        self._read()

    def end(self) -> None:
        """The end of the bytes: it ends a body framed by the connection's close."""
        if self._fed == 0:
            raise _fail("the answer is empty, not an HTTP response")
        if not self.complete:
            self._connection.receive_data(b"")
            self._read()
        if not self.complete:
            raise _fail("not a valid HTTP/1.1 response (it ends early)")

    def take_body(self) -> bytes:
        body, self._body = b"".join(self._body), []
        return body

    def _read(self) -> None:
        try:
            while not self.complete:
                event = self._connection.next_event()
                if event is h11.NEED_DATA:
                    return
                self._event(event)
        except h11.RemoteProtocolError as error:
            raise _fail(f"not a valid HTTP/1.1 response ({error})") from None

    def _event(self, event: object) -> None:
        if isinstance(event, h11.InformationalResponse):
            self._informational += 1
            if self._informational > MAX_INFORMATIONAL:
                raise _fail(f"more than {MAX_INFORMATIONAL} informational responses")
            _headers(event.headers.raw_items())
        elif isinstance(event, h11.Response):
            self.response = self._final(event)
        elif isinstance(event, h11.Data):
            self._chunks += 1
            most = max(MAX_CHUNKS, self._fed // 256)
            if self._chunks > most:
                raise _fail(f"more than {most} chunks (one per 256 bytes at most, or {MAX_CHUNKS})")
            if self.has_body:
                self._body.append(event.data)
        elif isinstance(event, h11.EndOfMessage):
            self.complete = True
        else:  # h11 raises for bytes that end early; anything else is not one response
            raise _fail(f"not a valid HTTP/1.1 response (h11 read {type(event).__name__})")

    def _final(self, event: h11.Response) -> EdgeResponse:
        status, headers = event.status_code, _headers(event.headers.raw_items())
        if not MIN_STATUS <= status <= MAX_STATUS:
            raise _fail(f"status {status} is outside {MIN_STATUS}..{MAX_STATUS}, the range a Response accepts")
        if self._method != "HEAD" and status not in NULL_BODY_STATUSES:
            codings = {c.strip().lower() for name, value in headers if name.lower() == "content-encoding"
                       for c in value.split(",")}
            if codings & UNDECODABLE_CODINGS:
                raise _fail(f"Content-Encoding {', '.join(sorted(codings & UNDECODABLE_CODINGS))} cannot be decoded "
                            "in the page; use gzip")
        return EdgeResponse(status, headers, None, event.reason.decode("latin-1"))


def parse_answer(raw: bytes, method: str = "GET") -> EdgeResponse:
    """The HTTP/1.1 response bytes ``raw`` that answer a ``method`` request, as an
    ``EdgeResponse`` (status, headers, body bytes, or ``None`` for no body);
    ``GuestError`` naming the problem if they break a rule above."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise _fail(f"the answer is a {type(raw).__name__}, not the bytes of an HTTP response")
    reader = AnswerReader(method)
    reader.feed(raw)
    reader.end()
    response = reader.response
    assert response is not None  # complete: the final response was read
    if reader.has_body:
        response.body = reader.take_body()
    return response
