"""Testing helpers for rlinf plugin authors: a contract suite and pytest fixtures.

- :mod:`rlinf_core.testing.contracts`: ``check_reward``, ``check_task``, ``check_flow``,
  ``check_algorithm``, ``check_rollout_backend``, ``check_train_backend``: call one from a
  test with your plugin's registered name (or class); it raises
  :class:`ContractViolation` listing every broken promise of the interface.
- :mod:`rlinf_core.testing.batches`, :mod:`~rlinf_core.testing.rollouts`,
  :mod:`~rlinf_core.testing.groups`: random trajectory batches for train backends, a request
  and the trainer's log-probs for rollout backends, a loaded group of actor ranks on real Ray.
- :mod:`rlinf_core.testing.algorithms`: ``ClippedPolicyGradient``, a probe algorithm (PPO's
  clipped loss with switches for KL, entropy, token advantages, early stop, truncation masks)
  that drives a train backend's tests, and ``check_train_backend``'s step, without an algorithm
  plugin; registered as ``probe_clipped_pg`` when a config loads
  ``plugins.modules=[rlinf_core.testing.algorithms]``.
- :mod:`rlinf_core.testing.cli`: the ``rlinf`` CLI in a subprocess (``run_cli``, ``start_cli``,
  ``wait_for_path``) and a short test run's data and overrides (``addition_rows``,
  ``short_run_overrides``, ``metrics_by_step``).
- :mod:`rlinf_core.testing.fixtures`: a pytest plugin (``pytest_plugins =
  ["rlinf_core.testing.fixtures"]`` in your root ``conftest.py``) with ``tiny_tokenizer``,
  ``tiny_checkpoint``, ``rlinf_registry`` and ``rlinf_cache``.

The built-in plugins (grpo, hf, torch, math, math-tiny's sft) pass the same suite
(``tests/test_contracts.py``), and so do the packages ``rlinf new-task`` writes.
"""

from rlinf_core.testing import contracts
from rlinf_core.testing.contracts import *  # noqa: F401,F403 (the contract suite's public names)

__all__ = list(contracts.__all__)
