"""Benchmarks: scripts (not tests) that print one JSON object of results."""
