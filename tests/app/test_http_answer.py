"""What a guest may answer over HTTP: parse_answer's contract (the whole path is in test_http.py;
the same handlers against a real net/http server in tests/web/test_http_fidelity.py)."""

import gzip

import pytest

from edgebox import GuestError
from edgebox._http_answer import EDGEBOX_HEADERS, FORBIDDEN_RESPONSE_HEADERS, MAX_HEAD_BYTES, MAX_HEADERS, parse_answer
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


@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "deflate", "gzip, deflate", "x-mine"])
def test_an_encoded_body_stays_encoded_for_the_page_or_the_client_to_decode(coding):
    packed = gzip.compress(b"compressed hello " * 50)
    response = parse_answer(http_bytes(200, [("Content-Encoding", coding)], packed))
    assert response.body == packed
    assert response.header("content-encoding") == coding


@pytest.mark.parametrize("coding", ["br", "zstd", "gzip, br"])
def test_codings_the_page_cannot_decode_are_refused(coding):
    assert "cannot be decoded in the page" in refused(http_bytes(200, [("Content-Encoding", coding)], b"x"))


def test_a_body_of_tiny_chunks_is_refused_before_it_is_all_parsed():
    tiny = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1\r\na\r\n" * 100_000 + b"0\r\n\r\n"
    assert "chunks (one per 256 bytes at most" in refused(tiny)
    flushed = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"100\r\n" + b"e" * 256 + b"\r\n" + b"0\r\n\r\n"
    many = flushed.replace(b"100\r\n" + b"e" * 256 + b"\r\n", (b"100\r\n" + b"e" * 256 + b"\r\n") * 5000)
    assert len(parse_answer(many).body) == 256 * 5000  # 5000 chunks of 256 bytes: a streamed answer


def test_informational_responses_are_bounded():
    raw = b"HTTP/1.1 103 Early Hints\r\n\r\n" * 101 + http_bytes(200)
    assert "more than 100 informational responses" in refused(raw)
    assert parse_answer(b"HTTP/1.1 103 Early Hints\r\n\r\n" * 100 + http_bytes(200)).status == 200


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
