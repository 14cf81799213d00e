"""Reading Prometheus text the way a scraper does, for the metrics tests (not a test module)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector


def parse(text: str) -> dict[str, Metric]:
    """The metric families of an exposition, by name."""
    return {family.name: family for family in text_string_to_metric_families(text)}


def scrape_collector(collector: Collector) -> dict[str, Metric]:
    """Expose ``collector`` as /metrics would and parse it back."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return parse(generate_latest(registry).decode())


def sample(families: dict[str, Metric], name: str, **labels: str) -> float:
    """The value of the one sample called ``name`` whose labels include ``labels``."""
    values = [
        s.value
        for family in families.values()
        for s in family.samples
        if s.name == name and all(s.labels.get(key) == value for key, value in labels.items())
    ]
    assert len(values) == 1, f"{len(values)} samples of {name}{labels}"
    return values[0]
