"""Data for the registry: `trace-registry seed --demo` (see `service.seed.demo`)."""
