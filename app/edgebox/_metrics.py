"""Prometheus text exposition of what the box does. Dashboards depend on these
names and labels: keep them.

    edgebox_requests_total{module,version,route,status}        counter
    edgebox_request_duration_seconds{module,version,route}      histogram
    edgebox_denials_total{module,capability}                    counter
    edgebox_panics_total{module}                                counter
    edgebox_timeouts_total{module}                              counter
    edgebox_restarts_total{module}                              counter
    edgebox_updates_total{module,result}                        counter (result: ok, refused)
    edgebox_rollbacks_total{module}                             counter
    edgebox_module_info{module,version,sha256}                  gauge, 1 for the version serving
"""

from __future__ import annotations

from collections import defaultdict

__all__ = ["Metrics", "BUCKETS"]

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_COUNTERS = {
    "edgebox_requests_total": ("Requests answered by box.fetch, by module, version, route and status.", ("module", "version", "route", "status")),
    "edgebox_denials_total": ("Capabilities a guest asked for and its policy did not grant.", ("module", "capability")),
    "edgebox_panics_total": ("Unrecovered guest panics.", ("module",)),
    "edgebox_timeouts_total": ("Calls stopped at the module's timeout_ms.", ("module",)),
    "edgebox_restarts_total": ("Guest instances replaced after a panic, limit, timeout or crash.", ("module",)),
    "edgebox_updates_total": ("Live updates of a module: switched to (ok) or refused.", ("module", "result")),
    "edgebox_rollbacks_total": ("Switches back to a module's version before, automatic or by box.rollback.", ("module",)),
}
_INFO = ("edgebox_module_info", "The version of each module that serves its calls (value 1).", ("module", "version", "sha256"))
_HISTOGRAM = "edgebox_request_duration_seconds"


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r'\"')


def _labels(names: tuple[str, ...], values: tuple[str, ...], le: str | None = None) -> str:
    parts = [f'{name}="{_escape(str(value))}"' for name, value in zip(names, values, strict=True)]
    if le is not None:
        parts.append(f'le="{le}"')
    return "{" + ",".join(parts) + "}" if parts else ""


class Metrics:
    def __init__(self) -> None:
        self._counters: dict[str, dict[tuple[str, ...], float]] = {name: defaultdict(float) for name in _COUNTERS}
        self._histogram: dict[tuple[str, ...], list[float]] = {}  # labels -> [count per bucket..., +Inf, sum]
        self._info: dict[str, tuple[str, str]] = {}  # module -> (version, sha256) serving now

    def serving(self, module: str, version: str, sha256: str) -> None:
        """``edgebox_module_info``: ``module`` now serves this version (the series of the one before goes)."""
        self._info[module] = (version, sha256)

    def inc(self, name: str, *labels: str, amount: float = 1) -> None:
        self._counters[name][tuple(labels)] += amount

    def observe(self, module: str, version: str, route: str, seconds: float) -> None:
        series = self._histogram.setdefault((module, version, route), [0.0] * (len(BUCKETS) + 2))
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                series[i] += 1
        series[len(BUCKETS)] += 1
        series[-1] += seconds

    def value(self, name: str, *labels: str) -> float:
        return self._counters[name].get(tuple(labels), 0.0)

    def render(self) -> str:
        lines = []
        for name, (help_text, label_names) in _COUNTERS.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
            for labels, value in sorted(self._counters[name].items()):
                lines.append(f"{name}{_labels(label_names, labels)} {value:g}")
        name, help_text, label_names = _INFO
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for module, (version, sha256) in sorted(self._info.items()):
            lines.append(f"{name}{_labels(label_names, (module, version, sha256))} 1")
        lines += [f"# HELP {_HISTOGRAM} Time from a request reaching the host to its response.", f"# TYPE {_HISTOGRAM} histogram"]
        names = ("module", "version", "route")
        for labels, series in sorted(self._histogram.items()):
            for i, bound in enumerate(BUCKETS):
                lines.append(f"{_HISTOGRAM}_bucket{_labels(names, labels, f'{bound:g}')} {series[i]:g}")
            lines.append(f"{_HISTOGRAM}_bucket{_labels(names, labels, '+Inf')} {series[len(BUCKETS)]:g}")
            lines.append(f"{_HISTOGRAM}_count{_labels(names, labels)} {series[len(BUCKETS)]:g}")
            lines.append(f"{_HISTOGRAM}_sum{_labels(names, labels)} {series[-1]:.6f}")
        return "\n".join(lines) + "\n"
