"""Placeholder, filled by the demo step: how this task's model is demoed."""

DEMO = None
