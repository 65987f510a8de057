"""The registered family: names, paper defaults through the config loader, the contract suite."""

import pytest

from rlinf_core.config import load_config
from rlinf_core.testing import check_algorithm

NAMES = ["grpo", "dapo", "dr_grpo", "gspo", "rloo", "reinforce_pp"]


def test_every_algorithm_is_registered():
    from rlinf_core.plugins import load_plugins

    assert set(NAMES) <= set(load_plugins(env={}).names("algorithms"))


@pytest.mark.parametrize("name,expected", [
    ("grpo", {"clip_ratio_high": 0.2, "ratio_early_stop": 5.0, "loss_agg": "token-mean"}),
    ("dapo", {"clip_ratio_high": 0.28, "ratio_early_stop": 0.0, "dynamic_sampling": True, "max_response_length": 512}),
    ("dr_grpo", {"loss_agg": "seq-sum-norm", "max_response_length": 512}),
    ("gspo", {"clip_ratio_low": 3e-4, "clip_ratio_high": 4e-4, "loss_agg": "seq-mean"}),
    ("rloo", {"loss_agg": "seq-sum"}),
    ("reinforce_pp", {"reward_kl_beta": 1e-4, "ratio_early_stop": 0.0}),
])
def test_paper_defaults_through_the_loader(name, expected):
    cfg = load_config(None, [f"algorithm.name={name}"])
    assert {k: cfg.algorithm[k] for k in expected} == expected


@pytest.mark.parametrize("name", NAMES)
def test_contract(name):
    check_algorithm(name, fresh_process=name == "grpo")  # one fresh process: they share a plugin module


def test_contract_with_options():
    check_algorithm("grpo", config={"group_size": 4, "kl_beta": 0.1, "entropy_coef": 0.01, "normalize_advantages": True,
                                    "ratio_early_stop_scope": "microbatch"}, fresh_process=False)
    check_algorithm("dapo", config={"group_size": 4, "mask_truncated": True, "overlong_buffer_len": 100}, fresh_process=False)
    check_algorithm("reinforce_pp", config={"group_size": 4, "reward_kl_beta": 0.0}, fresh_process=False)
