"""Converter for surreal: being written (see data/sources/__init__.py)."""
