"""The pix2pix networks of seed 002."""
