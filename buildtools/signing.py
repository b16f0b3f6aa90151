"""Manifest signing: Ed25519 keys and a JWS with a detached payload.

    python3 build.py keygen --out .keys/edgebox.pem     # PKCS#8 PEM; prints the public key as a JWK
    python3 build.py build --sign .keys/edgebox.pem     # or EDGEBOX_SIGNING_KEY=path

The signature of ``dist/edgebox/manifest.json`` is ``manifest.json.jws``: a JWS
in compact serialization (RFC 7515 section 7.1) whose payload part is empty,
the payload being the exact bytes of manifest.json (RFC 7515 appendix F).
The protected header is ``{"alg": "EdDSA", "kid": THUMBPRINT}``: ``EdDSA`` over
Ed25519 per RFC 8037 section 3.1, ``kid`` the RFC 7638 thumbprint of the
public JWK (``{"kty": "OKP", "crv": "Ed25519", "x": ...}``, RFC 8037 section 2)
in base64url. The key operations are the ``cryptography`` package's; the
verifier is WebCrypto's native Ed25519 in the browser
(``app/edgebox/_manifest_trust.py`` reads the JWS)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .paths import DIST

# Imported where used: build.py imports this before setup has made the venv that holds cryptography.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["SIGNING_KEY_ENV", "generate_key", "load_private_key", "public_jwk", "sign_detached", "signature_path", "thumbprint"]

SIGNING_KEY_ENV = "EDGEBOX_SIGNING_KEY"


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def generate_key(out: Path) -> dict:
    """Write a new Ed25519 private key to ``out`` (PKCS#8 PEM, mode 0600) and
    return its public JWK. Refuses a path inside dist/ (which is served) and
    an existing file (a key is never silently replaced)."""
    out = _not_served(out)
    if out.exists():
        raise ValueError(f"{out} exists; remove it first to make a new key")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    out.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return public_jwk(key)


def _not_served(path: Path) -> Path:
    """``path`` resolved; ValueError if it lies in dist/, which is served to anyone."""
    path = Path(path).resolve()
    if path == DIST.resolve() or DIST.resolve() in path.parents:
        raise ValueError(f"{path}: a private key never goes into dist/, which is served; use .keys/")
    return path


def load_private_key(path: Path) -> "Ed25519PrivateKey":
    """The Ed25519 key of a PKCS#8 PEM file outside dist/; ValueError for anything else."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = _not_served(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as error:
        raise ValueError(f"{path}: cannot read a private key: {error.strerror}") from None
    except (ValueError, TypeError):
        raise ValueError(f"{path}: not a PKCS#8 PEM private key without a password (make one with `build.py keygen`)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key (make one with `build.py keygen`)")
    return key


def public_jwk(key: "Ed25519PrivateKey | Ed25519PublicKey") -> dict:
    """The public key as a JWK (RFC 8037 section 2), as WebCrypto's importKey("jwk") takes it."""
    from cryptography.hazmat.primitives import serialization

    public = key.public_key() if hasattr(key, "public_key") else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}


def thumbprint(jwk: dict) -> str:
    """RFC 7638: sha256 of the required members in lexicographic order, no whitespace; base64url."""
    canonical = json.dumps({name: jwk[name] for name in ("crv", "kty", "x")}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def sign_detached(payload: bytes, key: "Ed25519PrivateKey") -> str:
    """``HEADER..SIGNATURE``: a compact JWS over ``payload`` with the payload left out."""
    header = b64url(json.dumps({"alg": "EdDSA", "kid": thumbprint(public_jwk(key))}, separators=(",", ":")).encode())
    signature = key.sign(f"{header}.{b64url(payload)}".encode("ascii"))
    return f"{header}..{b64url(signature)}"


def signature_path(manifest: Path) -> Path:
    """Where a manifest's signature is served: its URL plus ``.jws``."""
    return manifest.with_name(manifest.name + ".jws")
