"""Settings and run lists of the resl items (none yet: ReSL's training is not built; tab03 is a config table)."""
