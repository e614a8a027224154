"""Placeholder, filled by the analysis step: this task's data-set analysis."""

analyze = None
