"""Converter for celebamask: being written (see data/sources/__init__.py)."""
