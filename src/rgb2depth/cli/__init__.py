"""Command-line interface: one module per sub-command, no logic of its own."""
