"""The face-verification Siamese network of seed 001 (Fig. 3)."""
