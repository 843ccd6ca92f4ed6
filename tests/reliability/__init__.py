"""Reliability tests (issue 5): fuzzing, convergence, crash safety, load, data safety."""
