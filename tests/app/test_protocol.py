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


def test_each_op_keeps_the_fields_it_needs():
    assert parse_request({"op": "stats", "id": 1, "module": "ignored"}.get) == Request(id=1, op="stats")
    assert parse_request({"op": "metrics", "id": 2}.get) == Request(id=2, op="metrics")
    assert parse_request({"op": "flags", "id": 3, "flags": {"a": True}}.get) == Request(id=3, op="flags", flags={"a": True})
    head, body, region = object(), object(), object()
    assert parse_request({"op": "fetch", "id": 4, "head": head, "body": body}.get) == Request(id=4, op="fetch", head=head, body=body)
    assert parse_request({"op": "connect", "id": 5, "module": "m", "shared": region}.get) == Request(
        id=5, op="connect", module="m", shared=region)


@pytest.mark.parametrize("message", [
    {"op": "fetch", "id": 1},
    {"op": "connect", "id": 1, "module": "m"},
    {"op": "connect", "id": 1, "module": 3, "shared": object()},
])
def test_a_fetch_or_connect_without_its_fields_is_a_bad_request(message):
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


def _init(**fields):
    import json

    from fakes import MANIFEST_URL, manifest_data

    message = {"manifestURL": MANIFEST_URL, "manifest": {"status": 200, "statusText": "OK", "text": json.dumps(manifest_data())},
               "modulesJSON": "", "routesJSON": "", "warm": [], "userId": "u1", "userAgent": "ua", "flags": {}, "maxMessageBytes": 1024}
    message.update(fields)
    return message.get


def test_init_gives_the_manifest_and_the_page_options():
    from edgebox._protocol import parse_init

    init = parse_init(_init(warm=["heartbeat"], flags={"risk-v2": True}))
    assert init.manifest.get("heartbeat") is not None
    assert (init.warm, init.user_id, init.user_agent, init.flags, init.max_message_bytes) == (("heartbeat",), "u1", "ua", {"risk-v2": True}, 1024)
    assert parse_init(_init(maxMessageBytes=None)).max_message_bytes == 64 << 20


@pytest.mark.parametrize("fields, error, words", [
    ({"manifest": {"status": 404, "statusText": "Not Found", "text": ""}}, "LoadError", "404"),
    ({"manifest": {"status": 200, "text": "{nope"}}, "ConfigError", "not JSON"),
    ({"warm": ["nope"]}, "ConfigError", "warm: no module 'nope'"),
    ({"warm": "heartbeat"}, "ConfigError", "warm: expected a list"),
    ({"flags": ["x"]}, "ConfigError", "flags"),
    ({"routesJSON": "[{"}, "ConfigError", "not JSON"),
])
def test_a_bad_init_is_a_typed_error_naming_the_field(fields, error, words):
    import edgebox
    from edgebox._protocol import parse_init

    with pytest.raises(getattr(edgebox, error), match=words):
        parse_init(_init(**fields))
