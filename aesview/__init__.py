"""aesview: photo culling with an aesthetic GAP-CNN and its activation maps."""

__version__ = "0.1.0"
