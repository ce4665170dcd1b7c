"""The DenseNet-121 encoder-decoder of seed 003."""
