"""The contract suite: what every plugin of a kind promises, checked on the real thing.

Call one check per plugin from your tests, by registered name (preferred: that is how
workers find it) or by class::

    from rlinf_core.testing import check_reward

    def test_my_reward_honours_the_contract():
        check_reward("my-reward")

Each check builds the plugin exactly as the runner does (its ``config_class`` filled from
defaults or from ``config``, round-tripped through a plain dict as when it crosses to a Ray
worker), exercises every interface method on small inputs, and raises
:class:`ContractViolation` listing every broken promise at once. Exceptions raised by the
plugin itself propagate unchanged, with their traceback.

What is checked (see each function for details):

- every kind: a subclass of the interface; ``config_class`` a dataclass subclassing the
  section it configures, every field documented (``rlinf_core.config.doc``) and surviving
  the dict round trip; resolvable **by name** from a freshly built registry, in a fresh
  process too (``fresh_process=True``): workers look plugins up by name and never unpickle
  plugin classes;
- reward: a finite score per response, deterministic, independent of how the batch is split
  (the runner splits batches across reward ranks), empty batches, results that pickle
  without referring to plugin code, ``close()`` idempotent;
- task: valid examples (unique uids, token ids in the vocabulary, prompts within
  ``data.max_prompt_length``, non-empty answers), deterministic loading, full batches in a
  (seed, epoch)-determined order, a missing file is a user error naming it, its
  ``default_reward`` registered;
- algorithm: one finite advantage per trajectory, a finite differentiable scalar loss whose
  micro-batch parts add up to the minibatch loss (normalised by ``num_tokens``/``num_seqs``);
  the optional hooks typed right (``max_generation_batches``, ``keep_group``) and, when
  ``needs_token_advantages``, one finite ``token_advantages`` value per response token;
- rollout / train backend: the interface is complete; with ``model_path`` (a tiny
  checkpoint) a real round: generation shapes, log-probs, seeded reproducibility,
  ``request.sampling`` honoured, ``update_weights`` taking effect; log-probs equal to an
  independent Hugging Face forward, an update that changes the weights, weights out with
  Hugging Face names, a checkpoint that loads back, and exact resumption through
  ``save_state``/``load_state``;
- flow: a root schema with a ``flow`` field defaulting to its name, every field documented, a
  recipe that validates as ``rlinf run`` validates it and survives the dict sent to workers,
  well-formed edges (the run itself is the plugin's own end-to-end test).

One module per plugin kind (``reward``, ``task``, ``algorithm``, ``rollout``, ``train``, ``flow``) over
the machinery in ``common``; each check is a sequence of named sub-checks.

Follows hatch's and pytest's practice of testing every plugin against its interface, and
datasette's rule that hooks are documented and tested.
"""

from rlinf_core.testing.contracts.algorithm import check_algorithm
from rlinf_core.testing.contracts.common import CONTRACT_CORPUS, ContractViolation
from rlinf_core.testing.contracts.flow import check_flow
from rlinf_core.testing.contracts.reward import DEFAULT_REWARD_SAMPLES, check_reward
from rlinf_core.testing.contracts.rollout import check_rollout_backend
from rlinf_core.testing.contracts.task import check_task
from rlinf_core.testing.contracts.train import check_train_backend

__all__ = [
    "CONTRACT_CORPUS",
    "DEFAULT_REWARD_SAMPLES",
    "ContractViolation",
    "check_algorithm",
    "check_flow",
    "check_reward",
    "check_rollout_backend",
    "check_task",
    "check_train_backend",
]
