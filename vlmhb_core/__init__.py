"""The base every floor of VLMHyperBench stands on: errors, settings, the one generic registry, the console
and atomic writes. It imports nothing of the project."""
