"""The public surface of the edgebox_testing package, pinned (as tests/app pins edgebox's)."""

import edgebox_testing


def test_all_is_exactly_the_public_surface():
    assert sorted(edgebox_testing.__all__) == ["Box", "CHROMIUM_ARGS", "CompileError", "EdgeBoxFixture", "ExpectedError",
                                               "Metrics", "Module", "ProjectError", "Response"]
    assert all(hasattr(edgebox_testing, name) for name in edgebox_testing.__all__)
    assert not [name for name in vars(edgebox_testing) if not name.startswith("_") and name not in edgebox_testing.__all__
                and not isinstance(vars(edgebox_testing)[name], type(edgebox_testing))]


def test_metrics_read_the_exposition_with_the_prometheus_parser():
    metrics = edgebox_testing.Metrics(
        '# TYPE edgebox_requests_total counter\n'
        'edgebox_requests_total{module="a",version="",route="/a/",status="200"} 2\n'
        'edgebox_requests_total{module="a",version="",route="/a/",status="404"} 1\n'
        'edgebox_requests_total{module="b",version="",route="/b/",status="200"} 5\n')
    assert set(metrics.families) == {"edgebox_requests"}
    assert metrics.value("edgebox_requests_total", module="a") == 3
    assert metrics.value("edgebox_requests_total", status="200") == 7
    assert metrics.value("edgebox_requests_total", module="c") == 0.0
