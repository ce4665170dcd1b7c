"""rgb2depth: depth from a single photo.

Train monocular depth models on your own data (paired or unpaired), evaluate them
with the field's metrics, and deploy them.
"""

from __future__ import annotations

__version__ = "0.1.0"
