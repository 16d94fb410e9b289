"""Benchmarks: the project's commands side by side with their baselines (`make bench`)."""
