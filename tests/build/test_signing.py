"""buildtools/signing.py: keys and detached JWS, checked with real Ed25519 (cryptography) by the host's reader."""

import asyncio
import base64
import json
import stat

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import buildtools as build
from buildtools.signing import generate_key, load_private_key, public_jwk, sign_detached, signature_path, thumbprint
from edgebox import SignatureError, TrustedKeys


async def ed25519(jwk, message, signature):
    """What WebCrypto does in the browser, with cryptography."""
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, message)
        return True
    except InvalidSignature:
        return False


def test_keygen_writes_a_private_pem_and_returns_the_public_jwk(tmp_path):
    out = tmp_path / ".keys" / "edgebox.pem"
    jwk = generate_key(out)
    assert set(jwk) == {"kty", "crv", "x"} and jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519"
    assert out.read_text().startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert public_jwk(load_private_key(out)) == jwk
    with pytest.raises(ValueError, match="exists"):
        generate_key(out)
    with pytest.raises(ValueError, match="dist/"):
        generate_key(build.DIST / "edgebox" / "key.pem")


def test_the_jws_is_detached_eddsa_with_the_thumbprint_as_kid_and_verifies(tmp_path):
    key_file = tmp_path / "k.pem"
    jwk = generate_key(key_file)
    payload = json.dumps({"format": 1, "modules": []}, indent=1).encode()
    jws = sign_detached(payload, load_private_key(key_file))
    header, body, signature = jws.split(".")
    assert body == ""  # RFC 7515 appendix F
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "EdDSA", "kid": thumbprint(jwk)}
    trust = TrustedKeys.parse([jwk])
    assert asyncio.run(trust.verify(payload, jws, ed25519, url="m.json")) == thumbprint(jwk)
    with pytest.raises(SignatureError, match="does not match"):
        asyncio.run(trust.verify(payload.replace(b"[]", b"[ ]"), jws, ed25519, url="m.json"))
    other = generate_key(tmp_path / "other.pem")
    with pytest.raises(SignatureError, match="does not trust"):
        asyncio.run(TrustedKeys.parse([other]).verify(payload, jws, ed25519, url="m.json"))
    assert signature_path(build.DIST / "edgebox" / "manifest.json").name == "manifest.json.jws"


def test_the_thumbprint_is_rfc_7638s():
    # RFC 8037 appendix A.3.
    assert thumbprint({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}) \
        == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_a_key_in_dist_or_not_a_key_is_refused_before_the_manifest_changes(tmp_path, monkeypatch):
    from buildtools import dist

    written = []
    monkeypatch.setattr(dist, "write_if_changed", lambda path, data: written.append(path))
    (tmp_path / "not-a-key.pem").write_text("hello")
    for key, problem in [(build.DIST / "edgebox" / "key.pem", "dist/"), (tmp_path / "not-a-key.pem", "private key"),
                         (tmp_path / "missing.pem", "cannot read")]:
        with pytest.raises(ValueError, match=problem):
            dist.write_manifest({"modules": {}}, key)
    assert written == []
