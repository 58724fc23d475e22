"""Fixtures for tests and benchmarks: tiny models built from configs (no weights, no network)."""
