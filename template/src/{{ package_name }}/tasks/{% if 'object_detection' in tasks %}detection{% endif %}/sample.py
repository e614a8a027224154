"""Placeholder, filled by the samples step: this task's sample data sets."""

SAMPLES = None
