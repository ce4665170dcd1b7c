"""Converter for texas: being written (see data/sources/__init__.py)."""
