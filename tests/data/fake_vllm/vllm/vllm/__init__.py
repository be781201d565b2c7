"""Test stand-in for vLLM (tests/fake_vllm): not the real vllm."""
