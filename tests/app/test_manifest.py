import pytest

from fakes import MANIFEST_URL, MODULE_URL, manifest_data
from edgebox import ConfigError, Manifest


def test_parses_modules_and_resolves_urls_against_the_manifest():
    manifest = Manifest.parse(manifest_data(), url=MANIFEST_URL)
    spec = manifest.get("heartbeat")
    assert spec.url == MODULE_URL
    assert spec.abi == "js"
    assert spec.policy.env == {"HEARTBEAT_KEY": "k"}
    assert manifest.get("missing") is None


def test_override_replaces_fields_of_a_known_module():
    manifest = Manifest.parse(
        manifest_data(), url=MANIFEST_URL, overrides={"heartbeat": {"url": "http://other.test/h.wasm"}}
    )
    spec = manifest.get("heartbeat")
    assert spec.url == "http://other.test/h.wasm"
    assert spec.sha256 == manifest_data()["modules"][0]["sha256"]  # still checked against the signed hash


def test_override_adds_a_module():
    manifest = Manifest.parse(
        manifest_data(), url=MANIFEST_URL,
        overrides={"extra": {"url": "http://box.test/x.wasm", "sha256": "a" * 64}},
    )
    assert manifest.get("extra").abi == "js"
    assert set(manifest.modules) == {"heartbeat", "extra"}


def test_added_module_without_a_hash_is_refused():
    with pytest.raises(ConfigError, match=r"modules\.extra\.sha256"):
        Manifest.parse(manifest_data(), url=MANIFEST_URL, overrides={"extra": {"url": "http://box.test/x.wasm"}})


@pytest.mark.parametrize(
    "fields, where",
    [
        ({"abi": "wasm64"}, r"\.abi"),
        ({"sha256": "ABC"}, r"\.sha256"),
        ({"url": ""}, r"\.url"),
        ({"size": -1}, r"\.size"),
        ({"policy": {"env": {"K": 1}}}, r"policy\.env"),
        ({"policy": {"args": "x"}}, r"policy\.args"),
        ({"policy": {"nets": []}}, r"policy: unknown field"),
        ({"colour": "red"}, r"unknown field"),
    ],
)
def test_invalid_fields_are_named(fields, where):
    with pytest.raises(ConfigError, match=where):
        Manifest.parse(manifest_data(**fields), url=MANIFEST_URL)


@pytest.mark.parametrize("data", [[], {"format": 2, "modules": []}, {"format": 1, "modules": {}}])
def test_malformed_manifests_are_config_errors(data):
    with pytest.raises(ConfigError):
        Manifest.parse(data, url=MANIFEST_URL)
