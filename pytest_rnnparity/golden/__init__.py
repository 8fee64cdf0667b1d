"""Golden files: the canonical text format, the golden of a run, drift and orphans."""
