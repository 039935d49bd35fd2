"""Benchmarks: one script per bar, each printing its figures and ending with one summary line."""
