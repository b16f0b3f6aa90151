"""box.metrics() read with the Prometheus client's own text parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


class Metrics:
    """A scrape of a box: ``families`` by family name (``edgebox_requests`` for the
    counter whose samples are ``edgebox_requests_total``), ``text`` as exposed.
    Names and labels are the README's contract (Edge HTTP handlers: Metrics)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families = {family.name: family for family in text_string_to_metric_families(text)}

    def samples(self, name: str, **labels: str) -> list[Sample]:
        """The samples named ``name`` (``edgebox_denials_total``, ``..._bucket``) whose labels include ``labels``."""
        return [sample for family in self.families.values() for sample in family.samples
                if sample.name == name and all(sample.labels.get(k) == str(v) for k, v in labels.items())]

    def value(self, name: str, **labels: str) -> float:
        """The sum of those samples' values; 0.0 when none is exposed (a counter not yet counted)."""
        return sum(sample.value for sample in self.samples(name, **labels))

    def __repr__(self) -> str:
        return f"Metrics({sorted(self.families)})"
