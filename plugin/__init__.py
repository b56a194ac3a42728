"""Shop Segments: customer profiles, segments, tags and triggers for online shops."""

__version__ = "0.1.0"
