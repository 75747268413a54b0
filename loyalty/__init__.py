"""Loyalty and appreciation programme engine: rules in YAML, points kept like money."""
