"""What a guest may answer over HTTP.

A guest's net/http handler answers with a JSON head ``{"status": int,
"headers": [[name, value], ...]}`` and a body (sdk/http.go ServeEnvelope).
The page turns that into ``new Response(body, {status, headers})``, which
throws a raw RangeError or TypeError on an answer the browser refuses, and
would hand the page headers no handler should set. So the host checks every
answer first (``parse_answer``) and refuses a bad one with ``GuestError``,
naming the problem; box.fetch then answers 502 ``E_GUEST``.

The rules, and where they come from:

- The head is a JSON object of at most ``MAX_HEAD_BYTES`` (64 KiB, UTF-8)
  with at most ``MAX_HEADERS`` (100) headers: EdgeBox's own limits.
- ``status`` is an integer (not a bool, not a float) in 200..599: the range
  the Fetch ``Response`` constructor accepts (anything else is a RangeError).
- ``headers`` is a list of ``[name, value]`` pairs of strings; absent or
  ``null`` means none (Go encodes a nil slice as ``null``).
- A name is an RFC 9110 token (section 5.6.2), ``TOKEN`` below: the Fetch
  ``Headers`` object refuses any other name with a TypeError.
- A value is a Fetch/WebIDL ``ByteString`` (no character above U+00FF) and
  holds no NUL, CR or LF (Fetch "header value"); EdgeBox refuses CR and LF
  anywhere in it, even at the ends where ``Headers`` would strip them, since
  they mean a handler is splicing headers. Leading and trailing HTTP
  whitespace (space, tab) is stripped from what is returned, as ``Headers``
  normalizes it.
- A name in ``FORBIDDEN_RESPONSE_HEADERS`` (Fetch's "forbidden response-header
  names": ``set-cookie``, ``set-cookie2``) is refused: a browser never takes
  cookies from a handler running in the page.
- A name in ``EDGEBOX_HEADERS`` (``x-edgebox-version``, ``traceparent``) is
  refused: EdgeBox sets those itself (the release and the tracer middleware),
  and a guest must not be able to forge them.

Names are compared case-insensitively. A good answer keeps its headers in
order, with names as the guest spelled them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._errors import GuestError
from ._exchange import EdgeResponse

__all__ = [
    "EDGEBOX_HEADERS",
    "FORBIDDEN_RESPONSE_HEADERS",
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "MAX_STATUS",
    "MIN_STATUS",
    "TOKEN",
    "parse_answer",
]

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100
MIN_STATUS, MAX_STATUS = 200, 599

# RFC 9110 section 5.6.2: token = 1*tchar. Used with fullmatch (a "$" would let a trailing "\n" through).
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Fetch: forbidden response-header names.
FORBIDDEN_RESPONSE_HEADERS = frozenset({"set-cookie", "set-cookie2"})
# Set by EdgeBox on every box.fetch response (release: x-edgebox-version; tracer: traceparent).
EDGEBOX_HEADERS = frozenset({"x-edgebox-version", "traceparent"})

_NUL_CR_LF = re.compile(r"[\x00\r\n]")
# Strings and everything but brackets, removed before the nesting is counted.
_NOT_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[^\[\]{}]+')
MAX_HEAD_DEPTH = 8  # {"headers": [[name, value]]} needs 3
_NOT_BYTE = re.compile(r"[^\x00-\xff]")
_HTTP_WHITESPACE = " \t"


def _show(value: str, limit: int = 60) -> str:
    return _cut(repr(value), limit)


def _show_json(value: Any, limit: int = 60) -> str:
    try:
        return _cut(json.dumps(value, ensure_ascii=True), limit)
    except (ValueError, RecursionError):
        return f"a deeply nested JSON {type(value).__name__}"


def _depth(text: str) -> int:
    depth = deepest = 0
    for bracket in _NOT_BRACKETS.sub("", text):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fail(problem: str) -> GuestError:
    return GuestError(f"bad HTTP answer: {problem}")


def parse_answer(head: str, body: Any) -> EdgeResponse:
    """The guest's answer as an ``EdgeResponse`` the page can build a ``Response``
    from; ``GuestError`` naming the problem if it breaks a rule above. ``body`` is
    passed through untouched."""
    if not isinstance(head, str):
        raise _fail(f"the head is a {type(head).__name__}, not a JSON string")
    if len(head) > MAX_HEAD_BYTES or len(head.encode("utf-8", "surrogatepass")) > MAX_HEAD_BYTES:
        raise _fail(f"the head is over {MAX_HEAD_BYTES} bytes (64 KiB), the most EdgeBox takes")
    if _depth(head) > MAX_HEAD_DEPTH:
        # Counted before parsing: under Pyodide a deep parse overflows the JavaScript
        # stack, a fatal error for the whole host, not a RecursionError.
        raise _fail(f"the head is nested deeper than {MAX_HEAD_DEPTH} levels")
    try:
        answer = json.loads(head)
    except (ValueError, RecursionError) as error:
        raise _fail(f"the head is not JSON ({error})") from None
    if not isinstance(answer, dict):
        raise _fail(f"the head is a JSON {type(answer).__name__}, not an object {{status, headers}}")

    if "status" not in answer:
        raise _fail("the head has no status")
    status = answer["status"]
    if type(status) is not int:  # bool is an int subclass; float is not
        raise _fail(f"status {_show_json(status)} is not an integer")
    if not MIN_STATUS <= status <= MAX_STATUS:
        raise _fail(f"status {status} is outside {MIN_STATUS}..{MAX_STATUS}, the range a Response accepts")

    pairs = answer.get("headers")
    if pairs is None:
        pairs = []
    if not isinstance(pairs, list):
        raise _fail(f"headers is a JSON {type(pairs).__name__}, not a list of [name, value] pairs")
    if len(pairs) > MAX_HEADERS:
        raise _fail(f"{len(pairs)} headers, more than the {MAX_HEADERS} EdgeBox takes")

    headers: list[tuple[str, str]] = []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)):
            raise _fail(f"headers[{i}] is {_show_json(pair)}, not a [name, value] pair of strings")
        name, value = pair
        if not TOKEN.fullmatch(name):
            raise _fail(f"header name {_show(name)} (headers[{i}]) is not an RFC 9110 token")
        lower = name.lower()
        if lower in FORBIDDEN_RESPONSE_HEADERS:
            raise _fail(f"header {name!r} (headers[{i}]) is a forbidden response header; a handler may not set it")
        if lower in EDGEBOX_HEADERS:
            raise _fail(f"header {name!r} (headers[{i}]) is set by EdgeBox; a handler may not set it")
        if _NUL_CR_LF.search(value):
            raise _fail(f"header {name!r} (headers[{i}]) has a value with NUL, CR or LF: {_show(value)}")
        if _NOT_BYTE.search(value):
            raise _fail(f"header {name!r} (headers[{i}]) has a value with a character above U+00FF"
                        f" (not a ByteString): {_show(value)}")
        headers.append((name, value.strip(_HTTP_WHITESPACE)))
    return EdgeResponse(status, headers, body)
