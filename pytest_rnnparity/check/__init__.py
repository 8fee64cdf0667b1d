"""Verdicts, no pytest: tolerances, comparisons, parity, candidates, diagnosis, torch,
execution paths, and running the reference beside Keras."""
