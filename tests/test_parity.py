"""The two halves of each wire boundary (Python in app/, JavaScript in web/) must agree."""

import json
import re
import subprocess

import buildtools as build
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


def test_the_init_message_matches_what_the_page_sends_and_python_reads():
    from edgebox._protocol import INIT_FIELDS, parse_init

    assert js_list("protocol.js", "INIT_FIELDS") == sorted(INIT_FIELDS)
    sent = re.search(r"op: Op\.INIT,(.*?)\}\);", (WEB / "edgebox.js").read_text(), re.S).group(1)
    page = {part.split(":")[0].strip() for part in sent.split(",") if part.strip()}
    # The worker keeps lockName and shared and adds the manifest it fetched.
    assert (page - {"lockName", "shared"}) | {"manifest"} == set(INIT_FIELDS)
    read = []
    manifest = {"status": 200, "text": '{"format": 1, "modules": []}'}
    parse_init(lambda key: read.append(key) or (manifest if key == "manifest" else None))
    assert sorted(set(read)) == sorted(INIT_FIELDS)


def test_the_null_body_statuses_match():
    from edgebox._http_answer import NULL_BODY_STATUSES

    body = re.search(r"export const NULL_BODY_STATUSES = Object\.freeze\(\[(.*?)\]\)", (WEB / "protocol.js").read_text()).group(1)
    assert sorted(int(n) for n in body.split(",")) == sorted(NULL_BODY_STATUSES)


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
    from edgebox._guest_protocol import MAX_ARGS, MAX_DEPTH, MAX_VALUES, Via, Watch

    assert js_numbers("guest-protocol.js", "Watch") == py_ops(Watch)
    assert js_numbers("guest-protocol.js", "Via") == py_ops(Via)
    source = (WEB / "guest-protocol.js").read_text()
    assert int(re.search(r"export const MAX_DEPTH = (\d+);", source).group(1)) == MAX_DEPTH
    assert int(re.search(r"export const MAX_VALUES = ([\d_]+);", source).group(1).replace("_", "")) == MAX_VALUES
    assert int(re.search(r"export const MAX_ARGS = (\d+);", source).group(1)) == MAX_ARGS


def test_the_fatal_classes_match():
    from edgebox._errors import FATAL_CODES

    js = re.findall(r'define\("\w+", "(E_\w+)", \{ fatal: true \}\)', (WEB / "errors.js").read_text())
    assert sorted(js) == sorted(FATAL_CODES)


def test_error_classes_match():
    js = dict(re.findall(r'define\("(\w+)", "(E_\w+)"', (WEB / "errors.js").read_text()))
    py = {cls.__name__: code for code, cls in ERROR_CLASSES.items() if code != "E_INTERNAL"}
    assert js == py


GO_SDK = build.ROOT / "sdk"
GO_ABI = GO_SDK / "internal" / "abi"


def go_constants(file) -> dict[str, str]:
    """Go `Name = "value"` and `Name byte = 'c'` constants of one SDK file."""
    source = file.read_text()
    found = dict(re.findall(r'^\s*(?:const\s+)?(\w+)(?:\s+\w+)?\s*=\s*"([^"]*)"', source, re.M))
    found.update({name: str(ord(char)) for name, char in re.findall(r"^\s*(\w+)\s+byte\s*=\s*'(.)'", source, re.M)})
    return found


def test_the_wasi_imports_match():
    from edgebox._abi import WASI_BASE, WASI_FILES, WASI_SOCKETS

    assert js_list("wasi.js", "WASI_BASE") == sorted(WASI_BASE)
    assert js_list("wasi.js", "WASI_FILES") == sorted(WASI_FILES)
    assert js_list("wasi.js", "WASI_SOCKETS") == sorted(WASI_SOCKETS)
    # The edge's WASI (app/edgebox_edge/_wasi.py, under wasmtime) grants the same calls.
    from edgebox_edge._wasi import _SIGNATURES

    assert sorted(_SIGNATURES) == sorted(WASI_BASE | WASI_FILES | WASI_SOCKETS)


def test_the_edge_calls_the_sdks_exports():
    from edgebox_edge._guest import SDK_SIGNATURES

    assert sorted(SDK_SIGNATURES) == js_list("guest-protocol.js", "SDK_EXPORTS")


def test_the_http_export_matches_in_three_languages():
    from edgebox._guest_protocol import HTTP_EXPORT

    js = re.search(r'export const HTTP_EXPORT = "([^"]+)"', (WEB / "guest-protocol.js").read_text()).group(1)
    assert js == HTTP_EXPORT == go_constants(GO_ABI / "abi.go")["HTTPExport"]


def test_the_envelope_tags_match_in_three_languages():
    from edgebox._guest_protocol import Envelope

    js = {key: int(value, 16) for key, value in re.findall(
        r"(\w+): 0x([0-9a-f]+)", re.search(r"export const Envelope = Object\.freeze\(\{(.*?)\}\)", (WEB / "guest-protocol.js").read_text(), re.S).group(1))}
    go = go_constants(GO_ABI / "abi.go")
    assert js == py_ops(Envelope) == {"JSON": int(go["TagJSON"]), "BYTES": int(go["TagBytes"]), "ERROR": int(go["TagError"])}


def test_the_guest_codes_match_in_three_languages():
    from edgebox._guest_protocol import GUEST_CODES

    go = {value for name, value in go_constants(GO_SDK / "edgebox.go").items() if name.startswith("Code")}
    assert go == set(GUEST_CODES)


def test_the_sdk_exports_match():
    go = re.findall(r"//go:wasmexport (\w+)", (GO_ABI / "wasip1.go").read_text())
    assert js_list("guest-protocol.js", "SDK_EXPORTS") == sorted(go)


def test_the_sdk_globals_under_goos_js_match():
    js = js_ops("guest-protocol.js", "SDK_GLOBALS")
    go = go_constants(GO_ABI / "abi.go")
    assert js == {"CALL": go["JSCall"], "EXPORTS": go["JSExports"]}


def test_the_sdk_import_for_streamed_answers_matches_in_three_languages_and_the_edge():
    from edgebox._abi import provided_imports
    from edgebox._guest_protocol import PART_MS, SDK_HTTP_PART, SDK_IMPORT_MODULE
    from edgebox import Policy

    js = js_ops("guest-protocol.js", "SDK_IMPORTS")
    go = go_constants(GO_ABI / "abi.go")
    wasmimport = re.findall(r"//go:wasmimport (\w+) (\w+)", (GO_ABI / "wasip1.go").read_text())
    assert js == {"MODULE": SDK_IMPORT_MODULE, "HTTP_PART": SDK_HTTP_PART} == {"MODULE": go["ImportModule"], "HTTP_PART": go["HTTPPart"]}
    assert wasmimport == [(SDK_IMPORT_MODULE, SDK_HTTP_PART)]
    assert f"{SDK_IMPORT_MODULE}.{SDK_HTTP_PART}" in provided_imports("wasip1", Policy(), frozenset())
    assert int(re.search(r"export const PART_MS = (\d+);", (WEB / "guest-protocol.js").read_text()).group(1)) == PART_MS


def test_the_grant_keys_match():
    from edgebox import Policy

    assert js_list("guest-protocol.js", "GRANT_KEYS") == sorted(Policy().grant())


def test_the_handler_panic_report_matches_in_three_languages():
    from edgebox._guest_protocol import HANDLER_PANICKED

    js = re.search(r'export const HANDLER_PANICKED = "([^"]+)"', (WEB / "guest-protocol.js").read_text()).group(1)
    assert js == HANDLER_PANICKED == go_constants(GO_ABI / "abi.go")["HandlerPanicked"]


def test_go_frames_cross_the_error_wire_the_same_way_in_both_languages():
    from edgebox import EdgeBoxError, PanicError

    frames = [{"function": "main.(*scale).apply", "file": "edgebox.dev/m/main.go", "line": 19},
              {"function": "main.main", "file": "edgebox.dev/m/main.go", "line": 30}]
    cases = [PanicError("boom", stack="s", frames=frames).to_wire(), PanicError("plain").to_wire(),
             {"code": "E_PANIC", "message": "m", "stack": "", "frames": [frames[0], {"function": 1}, "x"]}]
    script = ("import { EdgeBoxError } from './web/errors.js';"
              "const cases = JSON.parse(process.argv[1]);"
              "console.log(JSON.stringify(cases.map((w) => { const e = EdgeBoxError.fromWire(w);"
              " const wire = e.toWire(); return { name: e.name, frames: e.frames, wireFrames: wire.frames ?? null }; })));")
    result = subprocess.run(["node", "--input-type=module", "-e", script, json.dumps(cases)], cwd=build.ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for wire, js in zip(cases, json.loads(result.stdout)):
        python = EdgeBoxError.from_wire(wire)
        assert js["name"] == type(python).__name__
        assert js["frames"] == python.frames
        assert js["wireFrames"] == python.to_wire().get("frames")
