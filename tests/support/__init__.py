"""Support for the tests and the benchmarks under bench/: nothing of the product imports it.

synthetic_server   an OpenAI-compatible streaming server of known timings and scripted faults
fault_servers      synthetic servers as processes, small datasets of real images, the CLI as a subprocess
"""
