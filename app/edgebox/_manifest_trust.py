"""Whether a manifest is the one its owner signed, decided before any field of it is read.

A signed build (``build.py build --sign KEY``, ``buildtools/signing.py``) serves
``manifest.json.jws`` beside ``manifest.json``: a JWS in compact serialization
with a detached payload (RFC 7515 appendix F: ``HEADER..SIGNATURE``, the payload
being the exact bytes of manifest.json), ``alg`` ``EdDSA`` (Ed25519, RFC 8037),
``kid`` the RFC 7638 thumbprint of the signing key's public JWK. A page that
passes ``EdgeBox.start({trust: {keys: [jwk, ...]}})`` accepts a manifest only
if one of those keys, picked by ``kid``, verifies that signature; anything else
is ``SignatureError`` (``E_SIGNATURE``) and nothing from that manifest runs.

The signature check itself is the platform's (``Platform.verify_ed25519``:
WebCrypto's native Ed25519 in the browser); everything around it is here.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

from ._errors import ConfigError, NotFoundError, SignatureError
from ._manifest import Manifest

__all__ = ["TrustedKeys", "Verifier", "fetch_manifest", "jwk_thumbprint"]

# (public JWK, signing input, signature) -> whether the signature is valid.
Verifier = Callable[[Mapping[str, str], bytes, bytes], Awaitable[bool]]

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_MAX_JWS = 4096  # a header with a kid and a 64-byte signature is under 200 characters
_ALG = "EdDSA"


def _b64url_decode(text: str, what: str) -> bytes:
    if not _B64URL.match(text) or len(text) % 4 == 1:
        raise SignatureError(f"{what} is not base64url (RFC 7515 section 2)")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SignatureError(f"{what} is not base64url (RFC 7515 section 2)") from None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: Mapping[str, str]) -> str:
    """RFC 7638 thumbprint of an OKP key: sha256 over ``{"crv","kty","x"}`` in that order, no whitespace, base64url."""
    canonical = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


@dataclass(frozen=True)
class TrustedKeys:
    """The public keys a page trusts, by RFC 7638 thumbprint."""

    keys: Mapping[str, Mapping[str, str]]

    @classmethod
    def parse(cls, value: Any, where: str = "trust.keys") -> "TrustedKeys | None":
        """``[{"kty": "OKP", "crv": "Ed25519", "x": base64url of 32 bytes}, ...]`` (other
        members, ``kid`` included, are ignored: the thumbprint names a key); None for
        no trust option. A malformed key is ``ConfigError``."""
        if value is None:
            return None
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where}: expected a non-empty list of Ed25519 public keys as JWKs")
        keys = {}
        for i, jwk in enumerate(value):
            if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("x"), str):
                raise ConfigError(f'{where}[{i}]: expected {{"kty": "OKP", "crv": "Ed25519", "x": ...}} (RFC 8037), '
                                  "as `build.py keygen` prints it")
            try:
                raw = _b64url_decode(jwk["x"], f"{where}[{i}].x")
            except SignatureError as error:
                raise ConfigError(error.message) from None
            if len(raw) != 32:
                raise ConfigError(f"{where}[{i}].x: an Ed25519 public key is 32 bytes, this one {len(raw)}")
            public = {"kty": "OKP", "crv": "Ed25519", "x": jwk["x"]}
            keys[jwk_thumbprint(public)] = public
        return cls(keys)

    async def verify(self, payload: bytes, jws: str | None, verifier: Verifier, *, url: str) -> str:
        """Check ``jws`` (the text served at ``url`` + ``.jws``, None if there was
        none) over ``payload`` (the manifest's exact bytes); return the ``kid``
        that verified it. Raises ``SignatureError`` naming what was wrong: a
        missing or malformed JWS, an ``alg`` other than EdDSA, a ``crit``
        header (no extension is understood), an unknown ``kid``, a signature
        that does not verify."""
        where = f"manifest {url}"
        if jws is None:
            raise SignatureError(f"{where}: no signature at {url}.jws, and this page trusts only signed manifests "
                                 "(sign with `build.py build --sign KEY`)")
        text = jws.strip(" \t\r\n")
        if len(text) > _MAX_JWS:
            raise SignatureError(f"{where}: its signature is {len(text)} characters, over {_MAX_JWS}: not a JWS of EdgeBox's")
        parts = text.split(".")
        if len(parts) != 3:
            raise SignatureError(f"{where}: its signature is not a JWS in compact serialization (HEADER..SIGNATURE)")
        header_part, payload_part, signature_part = parts
        if payload_part:
            raise SignatureError(f"{where}: its JWS carries a payload; EdgeBox's is detached (RFC 7515 appendix F)")
        try:
            header = json.loads(_b64url_decode(header_part, f"{where}: the JWS header"))
        except (ValueError, UnicodeDecodeError):
            raise SignatureError(f"{where}: the JWS header is not JSON") from None
        if not isinstance(header, dict):
            raise SignatureError(f"{where}: the JWS header is not a JSON object")
        if header.get("alg") != _ALG:
            raise SignatureError(f"{where}: the JWS alg is {str(header.get('alg'))[:40]!r}; only {_ALG} (Ed25519, RFC 8037) is accepted")
        if "crit" in header:
            raise SignatureError(f"{where}: the JWS names critical extensions {str(header['crit'])[:80]}; none is understood")
        kid = header.get("kid")
        key = self.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise SignatureError(f"{where}: signed with key {str(kid)[:60]!r}, which this page does not trust "
                                 f"(trusted: {', '.join(sorted(self.keys))})")
        signature = _b64url_decode(signature_part, f"{where}: the JWS signature")
        if len(signature) != 64:
            raise SignatureError(f"{where}: an Ed25519 signature is 64 bytes, this one {len(signature)}")
        signing_input = f"{header_part}.{_b64url(payload)}".encode("ascii")
        if not await verifier(key, signing_input, signature):
            raise SignatureError(f"{where}: the signature does not match its bytes (key {kid}): "
                                 "the manifest was changed after it was signed, or signed by another key")
        return kid


async def _none() -> None:
    return None


async def fetch_manifest(platform: Any, url: str, trust: TrustedKeys | None, *, overrides: Mapping[str, Any] | None = None,
                         routes: list[Any] | None = None) -> Manifest:
    """Fetch ``url`` (and with ``trust`` its ``.jws``, verified before the bytes
    are parsed) and parse it with the page's ``overrides`` and ``routes``, as
    the boot did. ``SignatureError``, ``LoadError``/``NotFoundError`` (the
    manifest did not load), ``ConfigError`` (it is not a valid manifest)."""
    # Both at once: an update's switch waits for them.
    data, signature = await asyncio.gather(platform.fetch_document(url),
                                           platform.fetch_document(url + ".jws") if trust is not None else _none())
    if data is None:
        raise NotFoundError(f"manifest {url} answered 404")
    if trust is not None:
        await trust.verify(data, None if signature is None else signature.decode("ascii", "replace"), platform.verify_ed25519, url=url)
    try:
        decoded = json.loads(data)
    except ValueError as error:
        raise ConfigError(f"manifest {url}: not JSON: {error}") from None
    return Manifest.parse(decoded, url=url, overrides=overrides, routes=routes)
