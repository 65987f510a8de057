"""The DeepSpeed config derived from rlinf's fields, and the errors that name the field."""

import pytest

from rlinf_core.errors import ConfigError
from rlinf_deepspeed import DeepSpeedActorConfig, ZeroConfig
from rlinf_deepspeed.config import deepspeed_config


def actor(**zero):
    cfg = DeepSpeedActorConfig(micro_batch_size=3, deepspeed=ZeroConfig(**zero))
    cfg.optim.clip_grad = 0.8
    return cfg


def test_derived_from_rlinfs_own_fields():
    ds = deepspeed_config(actor(zero_stage=3, offload_optimizer=True, offload_params=True, reduce_bucket_mb=2,
                                extra={"communication_data_type": "fp32"}))
    assert ds["train_micro_batch_size_per_gpu"] == 3 and ds["gradient_accumulation_steps"] == 1
    assert ds["managed_gradient_accumulation"] is False  # rlinf decides where a minibatch ends
    assert ds["gradient_clipping"] == 0.8
    assert ds["zero_optimization"] == {"stage": 3, "reduce_bucket_size": 2 * 2**20 // 4, "allgather_bucket_size": 2 * 2**20 // 4,
                                       "offload_optimizer": {"device": "cpu"}, "offload_param": {"device": "cpu"}}
    assert ds["bf16"] == {"enabled": False} and ds["fp16"] == {"enabled": False}
    assert ds["communication_data_type"] == "fp32"
    a = actor()
    a.model.precision = "bf16"
    assert deepspeed_config(a)["bf16"] == {"enabled": True}


@pytest.mark.parametrize("zero, message", [
    ({"zero_stage": 2, "offload_params": True}, r"`actor.deepspeed.offload_params` needs ZeRO stage 3 \(`actor.deepspeed.zero_stage` is 2\)"),
    ({"extra": {"gradient_clipping": 1.0}}, r"`actor.deepspeed.extra.gradient_clipping` is derived by rlinf from actor.optim.clip_grad"),
    ({"extra": {"zero_optimization": {}}}, r"`actor.deepspeed.extra.zero_optimization` is derived"),
])
def test_bad_settings_name_the_field(zero, message):
    with pytest.raises(ConfigError, match=message):
        deepspeed_config(actor(**zero))
