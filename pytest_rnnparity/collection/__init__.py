"""pytest nodes: spec files, their items, records of their verdicts, and the fixture."""
