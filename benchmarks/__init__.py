"""Benchmarks of the webhook ingest path and the worker (`python -m benchmarks.ingest`)."""
