"""DataModules, one per on-disk format, and writers of small sample data sets."""
