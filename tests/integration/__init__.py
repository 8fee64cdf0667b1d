"""Whole pytest runs through pytester; a package so the tests can import conftest helpers."""
