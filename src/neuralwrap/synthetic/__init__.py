"""Procedural test scenes and images with ground truth (lands with the rerender issues)."""
