"""Benchmarks and soak tests (``make bench``, ``make soak``); separate from the test suite.

Every figure is a ratio measured in one run on one machine, never an absolute threshold checked by a test.
"""
