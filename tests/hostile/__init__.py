"""Hostile and broken input (issue 10): small generated cases, exact outcomes asserted."""
