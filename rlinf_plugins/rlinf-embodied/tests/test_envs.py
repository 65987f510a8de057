"""The Fetch environment batch on the real simulator: shapes, seeding, bad ids; and the policy."""

import numpy as np
import pytest
import torch

from rlinf_core.errors import ConfigError
from rlinf_embodied.envs import make_env_batch
from rlinf_embodied.policy import ActorCritic, RunningNorm, load_checkpoint


def rollout(seeds, steps=10):
    batch = make_env_batch("FetchReachDense-v4", len(seeds), horizon=50)
    rng = np.random.default_rng(0)
    out = [batch.reset(seeds)]
    for _ in range(steps):
        out.append(batch.step(rng.uniform(-1, 1, (len(seeds), batch.action_size))))
    batch.close()
    return batch, out


def test_reset_and_step_shapes_and_success_flags():
    batch, out = rollout([1, 2, 3])
    assert (batch.obs_size, batch.action_size) == (16, 4)  # 10 state + 3 achieved + 3 desired; dx dy dz grip
    assert out[0].obs.shape == (3, 16) and out[0].obs.dtype == np.float32
    assert out[1].reward.shape == (3,) and (out[1].reward <= 0).all()  # dense reward: minus the distance
    assert out[1].success.shape == (3,) and set(np.unique(out[1].success)) <= {0.0, 1.0}
    assert out[1].goal_xyz.shape == (3, 3) and not out[1].terminated.any()


def test_the_same_seeds_give_the_same_trajectories_and_other_seeds_others():
    _, a = rollout([5, 6])
    _, b = rollout([5, 6])
    _, c = rollout([7, 6])
    assert all(np.array_equal(x.obs, y.obs) and np.array_equal(x.reward, y.reward) for x, y in zip(a, b))
    assert not np.array_equal(a[0].obs[0], c[0].obs[0]) and np.array_equal(a[0].obs[1], c[0].obs[1])


def test_an_unknown_or_unsupported_env_id_is_a_config_error_naming_the_field():
    with pytest.raises(ConfigError, match="`env.id` 'FetchReachh-v4'.*FetchReachDense-v4"):
        make_env_batch("FetchReachh-v4", 1, 50)
    with pytest.raises(ConfigError, match="`env.id` 'CartPole-v1'"):
        make_env_batch("CartPole-v1", 1, 50)
    with pytest.raises(ConfigError, match="LIBERO"):
        make_env_batch("libero:spatial/0", 1, 50)


def test_running_norm_equals_the_statistics_of_everything_seen():
    norm, data = RunningNorm(3), torch.randn(100, 3, dtype=torch.float64) * 4 + 2
    norm.update(data[:30])
    norm.update(data[30:])
    assert torch.allclose(norm.mean, data.mean(0), atol=1e-4)
    assert torch.allclose(norm.var, data.var(0, unbiased=False), rtol=1e-4)


def test_actions_are_the_mean_plus_std_times_the_given_noise():
    model = ActorCritic(16, 4, [8], init_log_std=-1.0)
    obs, noise = torch.randn(5, 16), torch.randn(5, 4)
    mean, _, _ = model.act(obs, noise, deterministic=True)
    sampled, logp, value = model.act(obs, noise, deterministic=False)
    assert torch.allclose(sampled, mean + np.exp(-1.0) * noise, atol=1e-6)
    expected = torch.distributions.Normal(mean, torch.full_like(mean, np.exp(-1.0))).log_prob(sampled).sum(-1)
    assert torch.allclose(logp, expected, atol=1e-5) and value.shape == (5,)


def test_a_checkpoint_loads_exactly_and_one_of_other_sizes_is_a_config_error_naming_the_field(tmp_path):
    saved = ActorCritic(16, 4, [8], init_log_std=-1.0)
    saved.norm.update(torch.randn(20, 16))
    path = tmp_path / "policy.pt"
    torch.save({"model": saved.state_dict(), "optimizer": {}}, path)
    loaded = ActorCritic(16, 4, [8], init_log_std=0.0)
    load_checkpoint(loaded, str(path))
    obs = torch.randn(3, 16)
    assert torch.equal(loaded.distribution(obs).mean, saved.distribution(obs).mean)
    with pytest.raises(ConfigError, match="`policy.checkpoint`.*17 and 4"):
        load_checkpoint(ActorCritic(17, 4, [8], 0.0), str(path))
    with pytest.raises(ConfigError, match="`policy.hidden_sizes`=\\[9\\]"):
        load_checkpoint(ActorCritic(16, 4, [9], 0.0), str(path))
    with pytest.raises(ConfigError, match="not a file"):
        load_checkpoint(loaded, str(tmp_path / "missing.pt"))
