"""Test stand-in for SGLang (tests/fake_vllm): not the real sglang."""
