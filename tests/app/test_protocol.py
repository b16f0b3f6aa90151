import pytest

from edgebox import BadRequestError, NotFoundError
from edgebox._protocol import Op, Request, parse_request, reply_error, reply_ok


def test_parse_call_request_keeps_args_untouched():
    args = object()
    message = {"op": "call", "id": 3, "module": "m", "fn": "f", "args": args}
    request = parse_request(message.get)
    assert request == Request(id=3, op="call", module="m", fn="f", args=args)
    assert request.args is args


@pytest.mark.parametrize(
    "message",
    [
        {"op": "call", "id": "3", "module": "m", "fn": "f"},
        {"op": "call", "id": True, "module": "m", "fn": "f"},
        {"op": "explode", "id": 3},
        {"op": "call", "id": 3, "module": 1, "fn": "f"},
    ],
)
def test_malformed_requests_are_bad_requests(message):
    with pytest.raises(BadRequestError):
        parse_request(message.get)


def test_replies_name_their_request():
    assert reply_ok(4, "v") == {"op": Op.REPLY, "id": 4, "ok": True, "value": "v"}
    error = reply_error(5, NotFoundError("gone"))
    assert error["id"] == 5 and error["ok"] is False
    assert error["error"]["code"] == "E_NOT_FOUND"


def test_a_call_may_say_how_long_it_already_waited():
    request = parse_request({"op": "call", "id": 1, "module": "m", "fn": "f", "args": [], "waitedMs": 1200.5}.get)
    assert request.waited_ms == 1200.5
    for odd in (None, "1200", True, -5):
        assert parse_request({"op": "call", "id": 1, "module": "m", "fn": "f", "waitedMs": odd}.get).waited_ms == 0
