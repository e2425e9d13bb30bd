"""The trace benchmark: `bench/run` (see bench/README.md)."""
