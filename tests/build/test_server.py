"""build.py serve: precompressed answers, caching by URL kind, ETags and keep-alive."""

import brotli
import gzip
import http.client
import urllib.parse

import pytest

import buildtools as build
from buildtools.headers import CACHE_IMMUTABLE, accepted_encodings


def get(served: str, path: str, **headers):
    """(response, body) over a fresh HTTP/1.1 connection."""
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(served).netloc, timeout=30)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    return response, response.read()


@pytest.mark.parametrize("accept, coding", [("gzip, deflate, br, zstd", "br"), ("gzip", "gzip"), ("br;q=0, gzip;q=0.5", "gzip"),
                                            ("identity", None), ("*", "br"), ("*;q=0, gzip", "gzip")])
def test_the_best_accepted_encoding_is_sent_with_its_length(served, module_url, accept, coding):
    path = module_url("riskrules")
    raw = (build.DIST / path.lstrip("/")).read_bytes()
    response, body = get(served, path, **{"Accept-Encoding": accept})
    assert response.status == 200
    assert response.getheader("Content-Encoding") == coding
    assert response.getheader("Vary") == "Accept-Encoding"
    assert int(response.getheader("Content-Length")) == len(body)
    assert response.getheader("Content-Type") == "application/wasm"
    decoded = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[coding](body)
    assert decoded == raw
    if coding:
        assert len(body) < len(raw) * 0.35


def test_accept_encoding_is_read_with_its_weights():
    assert accepted_encodings(None) == set()
    assert accepted_encodings("GZIP;q=0.001, br;q=0") == {"gzip"}
    assert accepted_encodings("*;q=0.5, br;q=0") == {"gzip"}
    assert accepted_encodings("br;q=bad") == set()


@pytest.mark.parametrize("kind", ["module", "pyodide", "snapshot"])
def test_content_addressed_urls_are_immutable(served, module_url, kind):
    version = build.pyodide_version()
    runtime = (build.BOX / "runtime.json").read_text()
    path = {"module": module_url("heartbeat"), "pyodide": f"/edgebox/pyodide/{version}/pyodide.asm.wasm",
            "snapshot": "/edgebox/" + __import__("json").loads(runtime)["snapshot"]}[kind]
    response, _ = get(served, path, **{"Accept-Encoding": "br"})
    assert response.status == 200 and response.getheader("Cache-Control") == CACHE_IMMUTABLE


@pytest.mark.parametrize("path", ["/", "/blank.html", "/edgebox/manifest.json", "/edgebox/edgebox.js", "/edgebox/runtime.json"])
def test_pages_loader_and_manifest_are_revalidated_with_their_etag(served, path):
    response, body = get(served, path, **{"Accept-Encoding": "br"})
    etag = response.getheader("ETag")
    assert response.status == 200 and response.getheader("Cache-Control") == "no-cache" and etag
    again, rest = get(served, path, **{"Accept-Encoding": "br", "If-None-Match": etag})
    assert again.status == 304 and rest == b"" and again.getheader("ETag") == etag
    assert again.getheader("Cross-Origin-Embedder-Policy") == "require-corp"
    if response.getheader("Vary"):  # precompressed: each encoding is its own representation, with its own ETag
        other, _ = get(served, path, **{"Accept-Encoding": "gzip", "If-None-Match": etag})
        assert other.status == 200 and other.getheader("Content-Encoding") == "gzip"


def test_one_connection_carries_many_requests(served, module_url):
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(served).netloc, timeout=30)
    for path in ["/edgebox/edgebox.js", module_url("heartbeat"), "/edgebox/missing.js", "/blank.html"]:
        connection.request("GET", path, headers={"Accept-Encoding": "br"})
        response = connection.getresponse()
        response.read()
        assert response.version == 11
        assert response.status == (404 if "missing" in path else 200)
        if response.status == 200:
            assert not response.will_close, path
