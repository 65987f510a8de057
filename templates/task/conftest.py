"""rlinf's pytest fixtures (tiny_tokenizer, tiny_checkpoint, rlinf_registry, rlinf_cache)."""

pytest_plugins = ["rlinf_core.testing.fixtures"]
