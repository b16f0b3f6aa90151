def bench_edge(): raise SystemExit("todo")
