"""Placeholder, filled by the export step: how this task's model is exported."""

EXPORT = None
