"""Everything a person reads: parity failures, ports, diagnosis, drift, the CI summary,
explain, plots and test vectors. Pure functions, tested verbatim."""
