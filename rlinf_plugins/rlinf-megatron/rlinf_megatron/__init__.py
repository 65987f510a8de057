"""rlinf-megatron: Megatron-Core for rlinf. So far the CPU-testable foundation of the `megatron`
train backend: Hugging Face Qwen2 <-> GPTModel weight conversion for any tensor/pipeline layout
(:mod:`rlinf_megatron.convert`), the parallel settings and their checks, and the translation of a
checkpoint's config into Megatron-Core's (:mod:`rlinf_megatron.config`). No train backend is
registered yet (README)."""
