"""Prometheus metrics, in a registry of the runtime's own (nothing is built at import time)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector


class _QueueDepth(Collector):
    def __init__(self, read: Callable[[], list[tuple[int, int, int]]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "wagate_queue_depth", "Messages waiting in the outbox", labels=["phone_number_id", "priority"]
        )
        for number_id, priority, depth in self._read():
            family.add_metric([str(number_id), str(priority)], depth)
        yield family


class _GroupCommits(Collector):
    def __init__(self, read: Callable[[], tuple[int, int]]) -> None:
        self._read = read

    def collect(self) -> Iterator[CounterMetricFamily]:
        commits, jobs = self._read()
        yield CounterMetricFamily("wagate_db_commits", "Group commits of the database writer", value=commits)
        yield CounterMetricFamily("wagate_db_jobs", "Writes committed by the database writer", value=jobs)


class _SimulatorRefusals(Collector):
    def __init__(self, read: Callable[[], dict[str, int]]) -> None:
        self._read = read

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "wagate_simulator_refusals",
            "Sends the simulated network refused (or failed) by a policy or rate rule of its own",
            labels=["rule"],
        )
        for rule, count in sorted(self._read().items()):
            family.add_metric([rule], count)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.accepted = Counter(
            "wagate_messages_accepted", "Messages accepted by the send API", registry=self.registry
        )
        self.sent = Counter(
            "wagate_messages_sent", "Messages handed to an upstream", ["upstream"], registry=self.registry
        )
        self.failed = Counter(
            "wagate_messages_failed", "Messages that ended failed", ["code"], registry=self.registry
        )
        self.retried = Counter(
            "wagate_send_retries", "Sends scheduled again after an error", ["code"], registry=self.registry
        )
        self.in_doubt = Counter(
            "wagate_sends_in_doubt", "Sends whose outcome was unknown", registry=self.registry
        )
        self.webhooks_refused = Counter(
            "wagate_meta_webhooks_refused", "Meta webhooks refused: bad signature", registry=self.registry
        )
        self.events_ingested = Counter(
            "wagate_events_ingested",
            "Upstream webhook envelopes ingested",
            ["source"],
            registry=self.registry,
        )
        self.quality = Gauge(
            "wagate_quality_rating",
            "An organization's quality rating: 0 GREEN, 1 YELLOW, 2 RED",
            ["org_id"],
            registry=self.registry,
        )
        self.quality_drops = Counter(
            "wagate_quality_drops",
            "Times an organization's quality rating dropped, by the level it dropped to",
            ["level"],
            registry=self.registry,
        )
        self.policy_refusals = Counter(
            "wagate_policy_refusals",
            "Messages wagate refused for a policy reason before any upstream saw them",
            ["code", "stage"],  # stage: request (an HTTP error) | dispatch (a failed status)
            registry=self.registry,
        )
        self.templates_paused = Counter(
            "wagate_templates_paused",
            "Templates paused or disabled after a low quality rating",
            ["status"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "wagate_event_consumer_lag",
            "Events recorded after a consumer's cursor (0: it has handled everything)",
            ["consumer"],
            registry=self.registry,
        )
        self.consumer_retries = Gauge(
            "wagate_event_consumer_retries",
            "Events a consumer failed on and is retrying (or gave up)",
            ["consumer"],
            registry=self.registry,
        )
        self.consumer_failures = Counter(
            "wagate_event_consumer_failures",
            "Attempts of a consumer on an event that raised",
            ["consumer"],
            registry=self.registry,
        )
        self.dispatch_latency = Histogram(
            "wagate_dispatch_latency_seconds",
            "From acceptance to the upstream's acknowledgement",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry,
        )

    def watch_database(self, read: Callable[[], tuple[int, int]]) -> None:
        self.registry.register(_GroupCommits(read))

    def watch_simulator(self, read: Callable[[], dict[str, int]]) -> None:
        """Expose the simulator's refusals by rule, read at scrape time."""
        self.registry.register(_SimulatorRefusals(read))

    def watch_queue(self, read: Callable[[], list[tuple[int, int, int]]]) -> None:
        self.registry.register(_QueueDepth(read))

    def render(self) -> bytes:
        return generate_latest(self.registry)
