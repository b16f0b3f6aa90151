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


def test_the_codes_a_guest_may_answer_with_match():
    from edgebox._guest_protocol import GUEST_DEATH_CODES, GUEST_ERROR_CODES

    page = set(re.findall(r'"(E_\w+)"', re.search(r"const GUEST_CODES = new Set\(\[(.*?)\]\)", (WEB / "edgebox.js").read_text()).group(1)))
    # Directly, a guest may also report how it died; through the host that becomes the host's own error.
    assert page == GUEST_ERROR_CODES | GUEST_DEATH_CODES


def test_error_classes_match():
    js = dict(re.findall(r'define\("(\w+)", "(E_\w+)"\)', (WEB / "errors.js").read_text()))
    py = {cls.__name__: code for code, cls in ERROR_CLASSES.items() if code != "E_INTERNAL"}
    assert js == py
