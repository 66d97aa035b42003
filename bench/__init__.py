"""Benchmarks (not tests): each workload prints its figures beside a baseline measured in the same run."""
