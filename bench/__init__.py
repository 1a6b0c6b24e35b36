"""Benchmarks: `make bench` (see bench/suite.py)."""
