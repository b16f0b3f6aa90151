import pytest

from edgebox import ConfigError, DeniedError, Policy
from edgebox._policy import canonical_url

ORIGIN = "http://127.0.0.1:8000/"


def test_default_policy_grants_nothing():
    policy = Policy.parse(None, "p")
    grant = policy.grant()
    assert grant == {"net": False, "cryptoRandom": False, "cryptoSubtle": [], "files": {}, "env": {}, "args": [],
                     "logBytes": 64 * 1024, "memoryBytes": 256 * 1024 * 1024}
    with pytest.raises(DeniedError, match="no network access"):
        policy.net.check("/api/", "GET", ORIGIN)


@pytest.mark.parametrize(
    "url, canonical",
    [
        ("/api/x", "http://127.0.0.1:8000/api/x"),
        ("HTTP://LOCALHOST:80/a/./b/../c", "http://localhost/a/c"),
        ("https://h.test:443/x/", "https://h.test/x/"),
        ("/a/b/../../../../etc", "http://127.0.0.1:8000/etc"),
        ("/q?x=1#frag", "http://127.0.0.1:8000/q?x=1"),
    ],
)
def test_canonical_url(url, canonical):
    assert canonical_url(url, ORIGIN) == canonical


@pytest.mark.parametrize("url", ["http://u:p@h.test/", "/a\\b", "/a/%2E%2E/b", "/a%2fb", "ftp://h.test/", "javascript:alert(1)",
                                 "http://h.test:99999/"])
def test_ambiguous_or_foreign_urls_are_refused(url):
    with pytest.raises(DeniedError):
        canonical_url(url, ORIGIN)


def test_net_prefixes_methods_and_origins():
    net = Policy.parse({"net": {"allow": ["/api/", "https://partner.test/v1/"], "methods": ["get", "post"]}}, "p").net
    assert net.check("/api/orders?id=1", "POST", ORIGIN) == "http://127.0.0.1:8000/api/orders?id=1"
    assert net.check("https://partner.test/v1/x", "GET", ORIGIN) == "https://partner.test/v1/x"
    for url, method in [("/apix", "GET"), ("/api/x", "PUT"), ("https://partner.test/v2/", "GET"),
                        ("http://partner.test/v1/x", "GET"), ("http://127.0.0.1:8001/api/", "GET"), ("/api/../x", "GET")]:
        with pytest.raises(DeniedError):
            net.check(url, method, ORIGIN)


def test_files_env_args_limits_and_crypto():
    policy = Policy.parse({
        "fs": {"files": {"/etc/rules.json": "{}", "/bin/blob": {"base64": "AAEC"}}},
        "env": {"K": "v"}, "args": ["-x"], "crypto": {"random": True, "subtle": ["SHA-256"]},
        "limits": {"timeout_ms": 100, "memory_mb": 64, "log_kb": 1},
    }, "p")
    assert policy.files == {"/etc/rules.json": b"{}", "/bin/blob": b"\x00\x01\x02"}
    assert (policy.limits.timeout_ms, policy.limits.memory_mb, policy.limits.log_kb) == (100, 64, 1)
    grant = policy.grant()
    assert grant["cryptoRandom"] is True and grant["cryptoSubtle"] == ["SHA-256"] and grant["logBytes"] == 1024
    assert grant["env"] == {"K": "v"} and grant["args"] == ["-x"]


@pytest.mark.parametrize(
    "data, where",
    [
        ({"nett": {}}, "unknown field"),
        ({"net": {"allow": ["ftp://x/"]}}, r"p\.net\.allow"),
        ({"net": {"allow": ["/a/"], "methods": ["BREW"]}}, r"p\.net\.methods"),
        ({"net": {"allow": ["/a/"], "credentials": "include"}}, r"p\.net\.credentials"),
        ({"crypto": {"subtle": ["ROT13"]}}, r"p\.crypto\.subtle"),
        ({"crypto": {"random": "yes"}}, r"p\.crypto\.random"),
        ({"fs": {"files": {"relative": "x"}}}, r"p\.fs\.files"),
        ({"fs": {"files": {"/a/../b": "x"}}}, r"p\.fs\.files"),
        ({"fs": {"files": {"/b": {"base64": "!!"}}}}, "invalid base64"),
        ({"limits": {"timeout_ms": 0}}, r"p\.limits\.timeout_ms"),
        ({"limits": {"memory_mb": 100000}}, r"p\.limits\.memory_mb"),
        ({"env": {"K": 1}}, r"p\.env"),
        ({"args": "x"}, r"p\.args"),
    ],
)
def test_invalid_policies_name_the_field(data, where):
    with pytest.raises(ConfigError, match=where):
        Policy.parse(data, "p")


def test_env_and_args_must_fit_the_runtime_block():
    import pytest
    from edgebox import ConfigError, Policy

    assert Policy.parse({"env": {"K": "v" * 4000}}, "p").env["K"] == "v" * 4000
    with pytest.raises(ConfigError, match="env and args take .* at most 8192"):
        Policy.parse({"env": {"K": "v" * 12000}}, "p")
    with pytest.raises(ConfigError, match="fs.files"):
        Policy.parse({"args": ["x"] * 1000}, "p")
