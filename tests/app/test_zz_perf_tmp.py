import time, cProfile, pstats, io
from test_http import edge, request  # noqa: F401

def test_perf(run, edge):
    req = lambda: request(headers=[("content-type", "application/json")])
    for _ in range(200): run(edge.http.handle(req()))
    n = 2000
    t = time.perf_counter()
    async def many():
        for _ in range(n): await edge.http.handle(req())
    run(many())
    print(f"\nper request: {(time.perf_counter() - t) / n * 1e6:.0f} us")
    pr = cProfile.Profile(); pr.enable(); run(many()); pr.disable()
    s = io.StringIO(); pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(25); print(s.getvalue()[:6000])
