"""The two halves of each wire boundary (Python in app/, JavaScript in web/) must agree."""

import re

import build
from edgebox import ERROR_CLASSES
from edgebox._guest_protocol import GuestOp
from edgebox._protocol import Op

WEB = build.ROOT / "web"


def js_ops(file: str, name: str) -> dict[str, str]:
    body = re.search(rf"export const {name} = Object\.freeze\(\{{(.*?)\}}\)", (WEB / file).read_text(), re.S).group(1)
    return dict(re.findall(r"(\w+):\s*\"([\w.-]+)\"", body))


def py_ops(cls) -> dict[str, str]:
    return {key: value for key, value in vars(cls).items() if key.isupper()}


def test_page_protocol_matches():
    assert js_ops("protocol.js", "Op") == py_ops(Op)


def test_guest_protocol_matches():
    assert js_ops("guest-protocol.js", "GuestOp") == py_ops(GuestOp)


def js_list(file: str, name: str) -> list[str]:
    source = (WEB / file).read_text()
    body = re.search(rf"export const {name} = Object\.freeze\(\[(.*?)\]", source, re.S).group(1)
    items = re.findall(r'"([\w.-]+)"', body)
    spread = re.findall(r"\.\.\.(\w+)", body)
    return sorted(items + [item for other in spread for item in js_list(file, other)])


def js_numbers(file: str, name: str) -> dict[str, int]:
    body = re.search(rf"export const {name} = Object\.freeze\(\{{(.*?)\}}\)", (WEB / file).read_text(), re.S).group(1)
    return {key: int(value) for key, value in re.findall(r"(\w+):\s*(\d+)", body)}


def test_the_codes_a_guest_may_answer_with_match():
    from edgebox._guest_protocol import AUDIT_CODES, GUEST_CODES, LOAD_CODES, REPLY_CODES

    assert js_list("guest-protocol.js", "GUEST_CODES") == sorted(GUEST_CODES)
    assert js_list("guest-protocol.js", "REPLY_CODES") == sorted(REPLY_CODES)
    assert js_list("guest-protocol.js", "AUDIT_CODES") == sorted(AUDIT_CODES)
    assert js_list("guest-protocol.js", "LOAD_CODES") == sorted(LOAD_CODES)
    # A guest's codes are never the codes of a death, which only the host gives.
    from edgebox._errors import FATAL_CODES

    assert not (REPLY_CODES & FATAL_CODES)


def test_the_watch_layout_matches():
    from edgebox._guest_protocol import MAX_DEPTH, Via, Watch

    assert js_numbers("guest-protocol.js", "Watch") == py_ops(Watch)
    assert js_numbers("guest-protocol.js", "Via") == py_ops(Via)
    assert int(re.search(r"export const MAX_DEPTH = (\d+);", (WEB / "guest-protocol.js").read_text()).group(1)) == MAX_DEPTH


def test_the_fatal_classes_match():
    from edgebox._errors import FATAL_CODES

    js = re.findall(r'define\("\w+", "(E_\w+)", \{ fatal: true \}\)', (WEB / "errors.js").read_text())
    assert sorted(js) == sorted(FATAL_CODES)


def test_error_classes_match():
    js = dict(re.findall(r'define\("(\w+)", "(E_\w+)"', (WEB / "errors.js").read_text()))
    py = {cls.__name__: code for code, cls in ERROR_CLASSES.items() if code != "E_INTERNAL"}
    assert js == py
