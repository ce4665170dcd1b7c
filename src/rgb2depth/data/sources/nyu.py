"""Converter for nyu: being written (see data/sources/__init__.py)."""
