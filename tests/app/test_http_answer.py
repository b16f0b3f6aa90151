"""What a guest may answer over HTTP: parse_answer's contract (the whole path is in test_http.py)."""

import json

import pytest

from edgebox import GuestError
from edgebox._http_answer import (EDGEBOX_HEADERS, FORBIDDEN_RESPONSE_HEADERS, MAX_HEAD_BYTES, MAX_HEADERS,
                                  parse_answer)


def head(status=200, headers=(), **extra):
    return json.dumps({"status": status, "headers": [list(h) for h in headers], **extra}, ensure_ascii=False)  # as Go writes it


def refused(text) -> str:
    with pytest.raises(GuestError) as caught:
        parse_answer(text, b"")
    assert caught.value.code == "E_GUEST"
    return caught.value.message


def test_a_good_answer_keeps_status_headers_in_order_and_the_body_untouched():
    body = object()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("X-A", "1"), ("x-a", "2"), ("x-empty", ""),
               ("x-latin1", "caf\u00e9 \u00ff"), ("x-odd!#$%&'*+-.^_`|~", "v")]
    response = parse_answer(head(201, headers), body)
    assert response.status == 201 and response.body is body
    assert response.headers == headers


def test_values_lose_leading_and_trailing_http_whitespace_as_headers_would():
    response = parse_answer(head(headers=[("x-a", " \t padded value \t "), ("x-b", "\t"), ("x-c", "in  side")]), None)
    assert response.headers == [("x-a", "padded value"), ("x-b", ""), ("x-c", "in  side")]


@pytest.mark.parametrize("status", [200, 204, 304, 404, 599])
def test_statuses_in_200_to_599_pass(status):
    assert parse_answer(head(status), None).status == status


@pytest.mark.parametrize("text", [json.dumps({"status": 200}), json.dumps({"status": 200, "headers": None})])
def test_no_headers_or_null_headers_mean_none(text):
    # Go encodes a nil [][2]string as null.
    assert parse_answer(text, None).headers == []


def test_unknown_keys_in_the_head_are_ignored():
    assert parse_answer(head(200, extra_field=1), None).status == 200


def test_the_limits_are_inclusive():
    assert len(parse_answer(head(headers=[(f"x-{i}", "v") for i in range(MAX_HEADERS)]), None).headers) == MAX_HEADERS
    text = head()
    exactly = text + " " * (MAX_HEAD_BYTES - len(text))  # JSON allows trailing whitespace
    assert parse_answer(exactly, None).status == 200
    assert "over 65536 bytes (64 KiB)" in refused(exactly + " ")


def test_the_head_limit_counts_utf8_bytes_not_characters():
    text = head(headers=[("x-a", "\u00e9" * (MAX_HEAD_BYTES // 2))])
    assert len(text) < MAX_HEAD_BYTES < len(text.encode())
    assert "64 KiB" in refused(text)


@pytest.mark.parametrize("text, problem", [
    ("not json", "not JSON"),
    ("", "not JSON"),
    ('{"status": 200', "not JSON"),
    ("[" * 5000 + "]" * 5000, "nested deeper than 8"),  # refused before the parser sees it
    ('{"status": 200, "headers": [], "x": [[[[[[[["]]]]]]]]"]]]]]]]]}', "nested deeper than 8"),
    ("[]", "is a JSON list, not an object"),
    ('"200"', "is a JSON str, not an object"),
    ("null", "is a JSON NoneType, not an object"),
    ('{"headers": []}', "has no status"),
    (head("200"), 'status "200" is not an integer'),
    (head(True), "status true is not an integer"),
    (head(200.0), "status 200.0 is not an integer"),
    (head(None), "status null is not an integer"),
    ('{"status": NaN}', "status NaN is not an integer"),
    (head(999), "status 999 is outside 200..599"),
    (head(600), "status 600 is outside 200..599"),
    (head(199), "status 199 is outside 200..599"),
    (head(101), "status 101 is outside 200..599"),
    (head(0), "status 0 is outside 200..599"),
    (head(-200), "status -200 is outside 200..599"),
    (json.dumps({"status": 200, "headers": {"x-a": "1"}}), "headers is a JSON dict, not a list"),
    (json.dumps({"status": 200, "headers": "x-a: 1"}), "headers is a JSON str, not a list"),
    (json.dumps({"status": 200, "headers": [["x-a", "1", "2"]]}), 'headers[0] is ["x-a", "1", "2"], not a [name, value] pair'),
    (json.dumps({"status": 200, "headers": [["x-a"]]}), "headers[0] is [\"x-a\"], not a [name, value] pair"),
    (json.dumps({"status": 200, "headers": [["x-a", 1]]}), 'headers[0] is ["x-a", 1], not a [name, value] pair of strings'),
    (json.dumps({"status": 200, "headers": [["ok", "1"], {"x-a": "1"}]}), "headers[1] is"),
    (json.dumps({"status": 200, "headers": [["ok", "1"], "x-a"]}), "headers[1] is"),
    (head(headers=[("", "v")]), "header name '' (headers[0]) is not an RFC 9110 token"),
    (head(headers=[("bad name", "v")]), "header name 'bad name' (headers[0]) is not an RFC 9110 token"),
    (head(headers=[("x-a:", "v")]), "not an RFC 9110 token"),
    (head(headers=[("x-a\n", "v")]), "not an RFC 9110 token"),  # a regex "$" would let this through
    (head(headers=[("x-a\r\nset-cookie", "v")]), "not an RFC 9110 token"),
    (head(headers=[("x-\u00e9", "v")]), "not an RFC 9110 token"),
    (head(headers=[("(x)", "v")]), "not an RFC 9110 token"),
    (head(headers=[("x-a", "1\r\nset-cookie: a=b")]), "header 'x-a' (headers[0]) has a value with NUL, CR or LF"),
    (head(headers=[("x-a", "1\n")]), "has a value with NUL, CR or LF"),
    (head(headers=[("x-a", "\r")]), "has a value with NUL, CR or LF"),
    (head(headers=[("x-a", "a\x00b")]), "has a value with NUL, CR or LF"),
    (head(headers=[("x-a", "\u20ac5")]), "header 'x-a' (headers[0]) has a value with a character above U+00FF"),
    (head(headers=[("x-a", "\u0100")]), "above U+00FF (not a ByteString)"),
    (head(headers=[("x-a", "\U0001f600")]), "above U+00FF"),
    (head(headers=[("x-ok", "1"), ("Set-Cookie", "a=b")]),
     "header 'Set-Cookie' (headers[1]) is a forbidden response header"),
    (head(headers=[("set-cookie", "a=b")]), "forbidden response header"),
    (head(headers=[("SET-COOKIE2", "a=b")]), "forbidden response header"),
    (head(headers=[("X-EdgeBox-Version", "evil")]), "header 'X-EdgeBox-Version' (headers[0]) is set by EdgeBox"),
    (head(headers=[("traceparent", "00-" + "1" * 32 + "-" + "2" * 16 + "-01")]), "header 'traceparent' (headers[0]) is set by EdgeBox"),
    (head(headers=[("x-a", "v")] * (MAX_HEADERS + 1)), "101 headers, more than the 100"),
    (head(headers=[("x-a", "v" * MAX_HEAD_BYTES)]), "over 65536 bytes (64 KiB)"),
])
def test_a_bad_answer_is_a_guest_error_naming_the_problem(text, problem):
    message = refused(text)
    assert message.startswith("bad HTTP answer: ")
    assert problem in message


@pytest.mark.parametrize("value", [None, b'{"status": 200}', 200, {"status": 200}])
def test_a_head_that_is_not_a_string_is_refused(value):
    assert "not a JSON string" in refused(value)


def test_long_names_and_values_are_shortened_in_the_message():
    message = refused(head(headers=[("x-a", "\n" + "v" * 10_000)]))
    assert len(message) < 200 and message.endswith("...")


def test_the_lists_are_lower_case_constants():
    assert FORBIDDEN_RESPONSE_HEADERS == {"set-cookie", "set-cookie2"}
    assert EDGEBOX_HEADERS == {"x-edgebox-version", "traceparent"}
