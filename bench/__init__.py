"""Benchmarks: journeys at scale against the SDK floor, webhook to start, replay throughput,
records, codec, lab and report costs, each a `python -m bench.<name>` (docs/performance.md)."""
