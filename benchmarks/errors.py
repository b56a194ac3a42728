"""The one error a benchmark raises when its own results are wrong."""


class BenchmarkError(RuntimeError):
    """A benchmark produced a wrong result (its numbers would be worthless)."""
