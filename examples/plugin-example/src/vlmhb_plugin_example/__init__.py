"""Example VLMHyperBench plugin: metric `word_f1` and dataset format `textfolder`.

Nothing here is imported until a config names one of them: the entry points in pyproject.toml tell
VLMHyperBench where each name lives.
"""
