"""Shared domain code of VLMHyperBench: settings, the CSV catalog, dataset readers, the results store."""

__version__ = "0.1.0"
