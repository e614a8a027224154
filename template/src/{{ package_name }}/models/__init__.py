"""LightningModules, one per task, and the backbone factory they share."""
