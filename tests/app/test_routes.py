import pytest

from edgebox import ConfigError
from edgebox._routes import parse_routes

MODULES = {"riskrules", "riskrules-v2", "other"}
ROUTE = {
    "prefix": "/edge/orders/", "module": "riskrules", "middleware": ["logger", {"cors": {"origins": ["*"]}}],
    "release": {"default": "v1", "versions": {"v1": "riskrules", "v2": "riskrules-v2"},
                "rules": [{"version": "v2", "user_agent": "EdgeCanary"}, {"version": "v2", "flag": "risk-v2"},
                          {"version": "v2", "percent": 10}]},
}


def pick(route, user_agent="Mozilla/5.0", flags=None, user_id="u"):
    return route.pick(user_agent=user_agent, flags=flags or {}, user_id=user_id)


def test_rules_pick_by_user_agent_then_flag_then_percent():
    [route] = parse_routes([ROUTE], MODULES)
    stable = next(f"user-{i}" for i in range(1000) if pick(route, user_id=f"user-{i}")[0] == "v1")
    assert pick(route, user_id=stable) == ("v1", "riskrules")
    assert pick(route, user_agent="Mozilla/5.0 edgecanary/1.0", user_id=stable) == ("v2", "riskrules-v2")
    assert pick(route, flags={"risk-v2": True}, user_id=stable) == ("v2", "riskrules-v2")
    assert pick(route, flags={"risk-v2": False}, user_id=stable) == ("v1", "riskrules")


def test_percent_is_sticky_per_user_and_close_to_its_share():
    [route] = parse_routes([ROUTE], MODULES)
    versions = [pick(route, user_id=f"user-{i}")[0] for i in range(2000)]
    assert versions == [pick(route, user_id=f"user-{i}")[0] for i in range(2000)]
    share = versions.count("v2") / len(versions)
    assert 0.07 < share < 0.13, share


def test_longest_prefix_first_and_no_release_means_the_module():
    routes = parse_routes([{"prefix": "/edge/", "module": "other"}, ROUTE], MODULES)
    assert [r.prefix for r in routes] == ["/edge/orders/", "/edge/"]
    assert pick(routes[1]) == ("other", "other")


@pytest.mark.parametrize(
    "route, where",
    [
        ({"prefix": "edge", "module": "other"}, r"prefix"),
        ({"prefix": "/x/", "module": "missing"}, r"module"),
        ({"prefix": "/x/", "module": "other", "middleware": ["gzip"]}, r"middleware"),
        ({"prefix": "/x/", "release": {"default": "v3", "versions": {"v1": "other"}}}, r"release\.default"),
        ({"prefix": "/x/", "release": {"default": "v1", "versions": {"v1": "nope"}}}, r"versions\.v1"),
        ({"prefix": "/x/", "release": {"default": "v1", "versions": {"v1": "other"}, "rules": [{"version": "v1", "percent": 150}]}}, r"percent"),
        ({"prefix": "/x/", "release": {"default": "v1", "versions": {"v1": "other"}, "rules": [{"version": "v1"}]}}, r"conditions"),
        ({"prefix": "/x/", "release": {"default": "v1", "versions": {"v1": "other"}, "rules": [{"version": "v1", "user_agent": "("}]}}, r"regular"),
    ],
)
def test_invalid_routes_name_the_field(route, where):
    with pytest.raises(ConfigError, match=where):
        parse_routes([route], MODULES)
