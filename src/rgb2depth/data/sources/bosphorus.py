"""Converter for bosphorus: being written (see data/sources/__init__.py)."""
