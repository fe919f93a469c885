"""Emulators shipped for tests, the demo and benchmarks (public surface)."""
