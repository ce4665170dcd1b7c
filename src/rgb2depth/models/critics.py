"""The critics of seed 000 (Appendix B, Tables 4 and 5)."""
