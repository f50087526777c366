"""Benchmarks: each script runs on its own; bench/run.py runs them all into one table."""
