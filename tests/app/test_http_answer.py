"""What a guest may answer over HTTP: parse_answer's contract (the whole path is in test_http.py;
the same handlers against a real net/http server in tests/web/test_http_fidelity.py)."""

import gzip
import zlib

import pytest

from edgebox import GuestError
from edgebox._http_answer import (EDGEBOX_HEADERS, FORBIDDEN_RESPONSE_HEADERS, MAX_DECODED_BYTES, MAX_HEAD_BYTES,
                                  MAX_HEADERS, parse_answer)
from fakes import http_bytes


def refused(raw, method="GET") -> str:
    with pytest.raises(GuestError) as caught:
        parse_answer(raw, method)
    assert caught.value.code == "E_GUEST"
    return caught.value.message


def test_a_good_answer_keeps_status_headers_in_order_and_the_body():
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("X-A", "1"), ("x-a", "2"), ("x-empty", ""),
               ("x-latin1", "caf\u00e9 \u00ff"), ("x-odd!#$%&'*+-.^_`|~", "v")]
    response = parse_answer(http_bytes(201, headers, b"made", reason="Created"))
    assert response.status == 201 and response.body == b"made"
    assert response.headers == [*headers, ("Content-Length", "4")]


def test_values_lose_leading_and_trailing_whitespace():
    response = parse_answer(b"HTTP/1.1 200 OK\r\nx-a:  \t padded value \t \r\nx-c: in  side\r\nContent-Length: 0\r\n\r\n")
    assert response.headers == [("x-a", "padded value"), ("x-c", "in  side"), ("Content-Length", "0")]


def test_informational_responses_are_dropped_as_fetch_drops_them():
    raw = (b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
           b"HTTP/1.1 100 Continue\r\n\r\n" + http_bytes(200, [("Link", "</a.css>; rel=preload")], b"after hints"))
    response = parse_answer(raw)
    assert (response.status, response.body) == (200, b"after hints")
    assert response.headers == [("Link", "</a.css>; rel=preload"), ("Content-Length", "11")]


def test_a_chunked_body_is_joined_and_its_trailers_dropped():
    raw = (b"HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n")
    response = parse_answer(raw)
    assert response.body == b"hello world"
    assert response.header("x-sum") is None and response.header("transfer-encoding") == "chunked"


def test_a_body_framed_by_the_end_of_the_bytes_is_read_to_the_end():
    assert parse_answer(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end").body == b"to the end"


@pytest.mark.parametrize("status", [204, 205, 304])
def test_null_body_statuses_have_no_body(status):
    assert parse_answer(http_bytes(status, [("Content-Length", "0")])).body is None


def test_a_head_request_has_no_body_whatever_content_length_says():
    response = parse_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", "HEAD")
    assert response.body is None and response.header("content-length") == "1000"


@pytest.mark.parametrize("coding, encode", [
    ("gzip", gzip.compress),
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, which browsers take too
    ("gzip, deflate", lambda data: zlib.compress(gzip.compress(data))),
])
def test_a_body_fetch_would_decode_is_decoded_and_keeps_its_header(coding, encode):
    response = parse_answer(http_bytes(200, [("Content-Encoding", coding)], encode(b"compressed hello " * 50)))
    assert response.body == b"compressed hello " * 50
    assert response.header("content-encoding") == coding


def test_a_coding_fetch_does_not_know_passes_through():
    assert parse_answer(http_bytes(200, [("Content-Encoding", "x-mine")], b"as is")).body == b"as is"


@pytest.mark.parametrize("coding", ["br", "zstd"])
def test_codings_that_cannot_be_decoded_here_are_refused(coding):
    assert f"Content-Encoding {coding} cannot be decoded" in refused(http_bytes(200, [("Content-Encoding", coding)], b"x"))


def test_a_bad_or_truncated_gzip_body_is_refused():
    assert "not valid gzip data" in refused(http_bytes(200, [("Content-Encoding", "gzip")], b"not gzip"))
    assert "not valid gzip data" in refused(http_bytes(200, [("Content-Encoding", "gzip")], gzip.compress(b"x" * 100)[:-12]))


def test_a_decompression_bomb_is_refused_without_decoding_it_all():
    bomb = gzip.compress(b"\0" * (MAX_DECODED_BYTES + 1))
    assert f"decodes to more than {MAX_DECODED_BYTES >> 20} MiB" in refused(http_bytes(200, [("Content-Encoding", "gzip")], bomb))


@pytest.mark.parametrize("status", [200, 404, 599])
def test_statuses_in_200_to_599_pass(status):
    assert parse_answer(http_bytes(status)).status == status


@pytest.mark.parametrize("status", [600, 999])
def test_statuses_a_response_cannot_take_are_refused(status):
    assert f"status {status} is outside 200..599" in refused(http_bytes(status))


@pytest.mark.parametrize("raw, problem", [
    (b"", "the answer is empty"),
    (b"HTTP/1.1 200 OK\r\n", "peer unexpectedly closed connection"),
    (b"not http at all\r\n\r\n", "not a valid HTTP/1.1 response"),
    (b"HTTP/1.1 200 OK\r\nbad name: v\r\n\r\n", "not a valid HTTP/1.1 response"),
    (b"HTTP/1.1 200 OK\r\nx-a: a\0b\r\n\r\n", "not a valid HTTP/1.1 response"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "without sending complete message body"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "incomplete chunked read"),
    (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", "not a valid HTTP/1.1 response"),
    ({"status": 200}, "the answer is a dict, not the bytes"),
])
def test_what_is_not_one_valid_response_is_refused(raw, problem):
    assert problem in refused(raw)


def test_a_head_over_64_kib_or_100_headers_is_refused():
    assert MAX_HEAD_BYTES == 64 * 1024
    assert "the head is over 65536 bytes" in refused(http_bytes(200, [("x-a", "v" * MAX_HEAD_BYTES)]))
    assert parse_answer(http_bytes(200, [("x-a", "v" * (MAX_HEAD_BYTES - 100))])).status == 200
    many = [(f"x-{i}", "v") for i in range(MAX_HEADERS)]
    assert f"more than the {MAX_HEADERS} EdgeBox takes" in refused(http_bytes(200, many))
    assert parse_answer(http_bytes(200, many[:-1])).status == 200


@pytest.mark.parametrize("name", sorted(FORBIDDEN_RESPONSE_HEADERS | EDGEBOX_HEADERS))
def test_headers_a_handler_may_not_set_are_refused_in_any_case(name):
    assert "may not set it" in refused(http_bytes(200, [(name.upper(), "v")]))


def test_the_status_text_is_the_servers_reason_phrase_or_the_standard_one():
    from edgebox._exchange import EdgeResponse

    assert parse_answer(b"HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n").status_text == "I'm a teapot"
    assert parse_answer(b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n").status_text == ""  # the server sent none
    assert EdgeResponse(502, []).status_text == "Bad Gateway"  # one EdgeBox makes
    assert EdgeResponse(299, []).status_text == ""
