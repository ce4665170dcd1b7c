"""Converter for pandora: being written (see data/sources/__init__.py)."""
