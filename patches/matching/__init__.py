"""Findings: which installed package versions and offered Windows updates an advisory names."""
