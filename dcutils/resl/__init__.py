"""ReSL: reset-based self-labeling (SCAN pipeline). Only its settings module exists so far."""
