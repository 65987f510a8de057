"""Testing helpers for rlinf plugin authors: a contract suite and pytest fixtures.

- :mod:`rlinf_core.testing.contracts`: ``check_reward``, ``check_task``,
  ``check_algorithm``, ``check_rollout_backend``, ``check_train_backend``: call one from a
  test with your plugin's registered name (or class); it raises
  :class:`ContractViolation` listing every broken promise of the interface.
- :mod:`rlinf_core.testing.batches`, :mod:`~rlinf_core.testing.rollouts`,
  :mod:`~rlinf_core.testing.groups`: random trajectory batches for train backends, a request
  and the trainer's log-probs for rollout backends, a loaded group of actor ranks on real Ray.
- :mod:`rlinf_core.testing.fixtures`: a pytest plugin (``pytest_plugins =
  ["rlinf_core.testing.fixtures"]`` in your root ``conftest.py``) with ``tiny_tokenizer``,
  ``tiny_checkpoint``, ``rlinf_registry`` and ``rlinf_cache``.

The built-in plugins (grpo, hf, torch, math, math-tiny's sft) pass the same suite
(``tests/test_contracts.py``), and so do the packages ``rlinf new-task`` writes.
"""

from rlinf_core.testing.contracts import (
    DEFAULT_REWARD_SAMPLES,
    ContractViolation,
    check_algorithm,
    check_reward,
    check_rollout_backend,
    check_task,
    check_train_backend,
)

__all__ = [
    "DEFAULT_REWARD_SAMPLES",
    "ContractViolation",
    "check_algorithm",
    "check_reward",
    "check_rollout_backend",
    "check_task",
    "check_train_backend",
]
