"""Reproducible comparisons against the reference tools, measured in the same run."""
