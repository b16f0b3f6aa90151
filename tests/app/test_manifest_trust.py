"""Signed manifests: the JWS around the signature check, and the boot refusing before reading a field."""

import json

import pytest

from edgebox import ConfigError, SignatureError, TrustedKeys
from edgebox._manifest_trust import fetch_manifest, jwk_thumbprint
from edgebox._protocol import open_init
from fakes import MANIFEST_URL, FakePlatform, FakeSigner, manifest_data

PAYLOAD = json.dumps(manifest_data(), indent=1).encode()
KEY = FakeSigner(b"owner")


def test_the_kid_is_the_rfc_7638_thumbprint():
    # RFC 8037 appendix A.3: the thumbprint of the key of A.2.
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert list(TrustedKeys.parse([jwk]).keys) == ["kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"]


@pytest.mark.parametrize("keys", [[], {}, [{"kty": "RSA"}], [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}],
                                  [{"kty": "OKP", "crv": "Ed25519", "x": "not base64url!"}]])
def test_malformed_trusted_keys_are_a_config_error(keys):
    with pytest.raises(ConfigError):
        TrustedKeys.parse(keys)


def test_a_signed_manifest_is_accepted_and_names_its_key(run):
    trust = TrustedKeys.parse([FakeSigner(b"other").jwk, KEY.jwk])
    assert run(trust.verify(PAYLOAD, KEY.sign(PAYLOAD), FakeSigner.check_async, url=MANIFEST_URL)) == jwk_thumbprint(KEY.jwk)


def _refused(run, payload, jws, match):
    trust = TrustedKeys.parse([KEY.jwk])
    with pytest.raises(SignatureError, match=match):
        run(trust.verify(payload, jws, FakeSigner.check_async, url=MANIFEST_URL))


def test_a_policy_field_changed_after_signing_is_refused(run):
    data = manifest_data()
    jws = KEY.sign(json.dumps(data, indent=1).encode())
    data["modules"][0]["policy"]["net"] = {"allow": ["https://evil.example/"]}
    _refused(run, json.dumps(data, indent=1).encode(), jws, "does not match its bytes")


def test_another_key_a_missing_or_malformed_signature_is_refused(run):
    _refused(run, PAYLOAD, FakeSigner(b"stranger").sign(PAYLOAD), "does not trust")
    _refused(run, PAYLOAD, None, "no signature")
    _refused(run, PAYLOAD, "", "compact serialization")
    _refused(run, PAYLOAD, "a.b", "compact serialization")
    _refused(run, PAYLOAD, "!!..AAAA", "base64url")
    attached = KEY.sign(PAYLOAD).replace("..", ".eyJ9.")
    _refused(run, PAYLOAD, attached, "carries a payload")
    kid = jwk_thumbprint(KEY.jwk)
    _refused(run, PAYLOAD, KEY.sign(PAYLOAD, {"alg": "none", "kid": kid}), "alg")
    _refused(run, PAYLOAD, KEY.sign(PAYLOAD, {"alg": "EdDSA", "kid": kid, "crit": ["b64"], "b64": False}), "critical")
    short = KEY.sign(PAYLOAD).rsplit(".", 1)[0] + ".AAAA"
    _refused(run, PAYLOAD, short, "64 bytes")


def test_the_boot_verifies_before_it_reads_the_manifest(run):
    read = []
    response = {"status": 200, "text": PAYLOAD.decode(), "signature": FakeSigner(b"stranger").sign(PAYLOAD)}
    fields = {"manifestURL": MANIFEST_URL, "manifest": response, "trustJSON": json.dumps([KEY.jwk])}

    def get(name):
        read.append(name)
        return fields.get(name)

    with pytest.raises(SignatureError):
        run(open_init(get, FakeSigner.check_async))
    assert set(read) == {"manifestURL", "manifest", "trustJSON"}  # no module, route, warm or flag read
    response["signature"] = KEY.sign(PAYLOAD)
    init = run(open_init(get, FakeSigner.check_async))
    assert init.trust is not None and init.manifest.get("heartbeat").version == ""


def test_an_update_fetches_the_signature_and_refuses_a_tampered_manifest(run):
    platform = FakePlatform({MANIFEST_URL: PAYLOAD, MANIFEST_URL + ".jws": KEY.sign(PAYLOAD).encode()}, {})
    trust = TrustedKeys.parse([KEY.jwk])
    assert run(fetch_manifest(platform, MANIFEST_URL, trust)).get("heartbeat") is not None
    platform.files[MANIFEST_URL] = PAYLOAD.replace(b'"k"', b'"x"')
    with pytest.raises(SignatureError):
        run(fetch_manifest(platform, MANIFEST_URL, trust))
    del platform.files[MANIFEST_URL + ".jws"]
    platform.files[MANIFEST_URL] = PAYLOAD
    with pytest.raises(SignatureError, match="no signature"):
        run(fetch_manifest(platform, MANIFEST_URL, trust))
