"""Config loading: plugin schemas, overrides, validation messages and derived sizes."""

from pathlib import Path

import pytest

from rlinf_core.config import derive_sizes, load_config, section
from rlinf_core.errors import ConfigError, UnknownPluginError

MODULE = str(Path(__file__).resolve().parent / "plugin_modules" / "tiny_components.py")

RECIPE = f"""
cluster:
  num_cpus_per_node: 2
  component_placement: "actor,rollout,reward: all"
runner:
  max_steps: 3
data:
  task: list
  rollout_batch_size: 4
rollout:
  backend: echo
  model:
    model_path: /models/tiny
actor:
  backend: noop
  global_batch_size: 16
  micro_batch_size: 4
algorithm:
  name: mean-baseline
  group_size: 8
reward:
  name: exact
plugins:
  modules: [{MODULE}]
"""


@pytest.fixture
def recipe(tmp_path, plugin_site):
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE)
    return str(path)


def message(exc_info):
    return str(exc_info.value)


def test_sections_take_their_plugins_schema(recipe):
    cfg = load_config(recipe)
    assert cfg.algorithm.baseline_decay == 0.9
    assert cfg.rollout.echo_times == 1
    assert cfg.actor.strategy == "ddp"
    assert cfg.data.operand_max == 9
    assert cfg.reward.correct == 1.0
    algo = section(cfg, "algorithm")
    assert type(algo).__name__ == "MeanBaselineConfig" and algo.group_size == 8


def test_overrides_and_interpolation(recipe):
    cfg = load_config(recipe, ["runner.max_steps=7", "rollout.temperature=0.7", "algorithm.baseline_decay=0.5"])
    assert cfg.runner.max_steps == 7
    assert cfg.rollout.temperature == 0.7
    assert cfg.algorithm.baseline_decay == 0.5
    assert cfg.actor.model.model_path == "/models/tiny"  # defaults to the rollout's model
    assert cfg.runner.output_dir == "results/rlinf"


def test_unknown_field_suggests_the_closest(recipe):
    with pytest.raises(ConfigError) as err:
        load_config(recipe, ["runner.max_step=3"])
    assert "Unknown config field `runner.max_step`. Did you mean `runner.max_steps`?" in message(err)


def test_unknown_plugin_field_suggests_the_closest(recipe):
    with pytest.raises(ConfigError) as err:
        load_config(recipe, ["algorithm.baseline_decy=0.3"])
    assert "Did you mean `algorithm.baseline_decay`?" in message(err)


def test_unknown_section_suggests_the_closest(recipe):
    with pytest.raises(ConfigError, match=r"Unknown config section `runnr`. Did you mean 'runner'\?"):
        load_config(recipe, ["runnr.max_steps=3"])


def test_bad_type_names_field_and_value(recipe):
    with pytest.raises(ConfigError) as err:
        load_config(recipe, ["runner.max_steps=abc"])
    assert "Invalid value for `runner.max_steps`: 'abc'" in message(err)
    assert "Integer" in message(err)


@pytest.mark.parametrize(
    "override, expected",
    [
        ("runner.max_steps=0", "Invalid value for `runner.max_steps`: 0. It must be >= 1."),
        ("rollout.top_p=1.5", "Invalid value for `rollout.top_p`: 1.5. It must be <= 1.0."),
        ("rollout.model.precision=fp8", "Invalid value for `rollout.model.precision`: 'fp8'. Allowed: 'fp32', 'bf16', 'fp16'."),
        ("actor.strategy=zero3", "Invalid value for `actor.strategy`: 'zero3'. Allowed: 'ddp', 'fsdp2'."),
        ("algorithm.baseline_decay=2", "Invalid value for `algorithm.baseline_decay`: 2.0. It must be <= 1.0."),
    ],
)
def test_constraints_name_field_value_and_allowed(recipe, override, expected):
    with pytest.raises(ConfigError) as err:
        load_config(recipe, [override])
    assert expected in message(err)


def test_unknown_plugin_names_the_field(recipe):
    with pytest.raises(UnknownPluginError) as err:
        load_config(recipe, ["algorithm.name=mean-baseln"])
    assert "(config field `algorithm.name`)" in message(err)
    assert "Did you mean 'mean-baseline'?" in message(err)


def test_override_without_equals(recipe):
    with pytest.raises(ConfigError, match="is not of the form key=value"):
        load_config(recipe, ["runner.max_steps"])


def test_missing_and_malformed_recipe_files(tmp_path, plugin_site):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("runner:\n  max_steps: [1,\n")
    with pytest.raises(ConfigError, match=r"bad.yaml' is not valid YAML \(line 3, column 1\)"):
        load_config(str(bad))


def test_plugin_module_path_is_relative_to_the_recipe(tmp_path, plugin_site):
    plugin_dir = tmp_path / "proj"
    plugin_dir.mkdir()
    (plugin_dir / "tiny.py").write_text(Path(MODULE).read_text())
    recipe = plugin_dir / "r.yaml"
    recipe.write_text(RECIPE.replace(MODULE, "tiny.py"))
    cfg = load_config(str(recipe))
    assert cfg.plugins.modules == [str(plugin_dir / "tiny.py")]


def test_derived_sizes(recipe):
    cfg = load_config(recipe)
    sizes = derive_sizes(cfg)
    assert sizes.prompts_per_step == 4
    assert sizes.rollouts_per_step == 32
    assert sizes.minibatches_per_epoch == 2
    assert sizes.actor_ranks == 2  # one rank per CPU, 2 CPUs
    assert sizes.sequences_per_actor_rank == 8
    assert sizes.grad_accumulation_steps == 2
    assert sizes.placement_mode == "collocated"
    two_epochs = derive_sizes(load_config(recipe, ["actor.num_epochs=2"]))
    assert two_epochs.minibatches_per_step == 4


def test_derived_sizes_that_do_not_divide_name_the_fields(recipe):
    with pytest.raises(ConfigError) as err:
        derive_sizes(load_config(recipe, ["actor.global_batch_size=12"]))
    assert "`actor.global_batch_size`=12 must divide the rollouts per step" in message(err)
    assert "`data.rollout_batch_size` x `algorithm.group_size` = 4 x 8 = 32" in message(err)
    with pytest.raises(ConfigError, match=r"`actor.micro_batch_size`=3 must divide"):
        derive_sizes(load_config(recipe, ["actor.micro_batch_size=3"]))
