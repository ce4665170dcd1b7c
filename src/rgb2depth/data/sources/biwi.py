"""Converter for biwi: being written (see data/sources/__init__.py)."""
