"""A simulated careful annotator that works a project through Label Studio (benchmarks, tests)."""
