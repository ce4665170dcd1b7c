"""The generators of seed 000 (Appendix B, Tables 6-8)."""
