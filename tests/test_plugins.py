"""Plugin discovery and registry errors, with a plugin package installed through pip."""

import textwrap

import pytest

from rlinf_core.errors import PluginError, UnknownPluginError
from rlinf_core.plugins import load_plugins


def write(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_entry_point_plugin_is_discovered(plugin_site):
    registry = load_plugins(env={})
    info = {p.name: p for p in registry.plugins}["testplugin"]
    assert info.package == "rlinf-testplugin"
    assert info.version == "0.0.1"
    assert info.source == "entry point"
    assert info.hooks == ["register_algorithms", "register_commands", "register_rewards"]
    assert info.registered == {"algorithms": ["mean-baseline"], "rewards": ["exact"]}
    reward_cls = registry.get("rewards", "exact")
    assert reward_cls.__name__ == "ExactReward"


def test_builtin_trackers_register_through_the_hook(plugin_site):
    registry = load_plugins(env={})
    builtin = registry.plugins[0]
    assert builtin.source == "builtin"
    assert builtin.registered["trackers"] == ["mlflow", "tensorboard", "jsonl", "console"]


def test_rlinf_plugins_env_selects_and_disable_skips(plugin_site):
    only = load_plugins(env={"RLINF_PLUGINS": "testplugin"})
    assert "exact" in only.names("rewards")
    skipped = load_plugins(env={"RLINF_DISABLE_PLUGINS": "rlinf-testplugin"})
    assert "exact" not in skipped.names("rewards")
    assert "mlflow" in skipped.names("trackers")  # built-ins stay


def test_env_naming_an_uninstalled_plugin_is_an_error(plugin_site):
    with pytest.raises(PluginError, match=r"RLINF_PLUGINS names 'testplugn'.*Did you mean 'testplugin'"):
        load_plugins(env={"RLINF_PLUGINS": "testplugn"})


def test_user_module_file_registers_a_reward(tmp_path, plugin_site):
    path = write(
        tmp_path,
        "my_reward.py",
        """
        from rlinf_core import Reward, RewardResult, hookimpl

        class LengthReward(Reward):
            def score(self, responses, answers):
                return RewardResult(scores=[float(len(r)) for r in responses])

        @hookimpl
        def register_rewards(register):
            register("length", LengthReward)
        """,
    )
    registry = load_plugins(modules=[path], env={})
    assert registry.get("rewards", "length").__name__ == "LengthReward"
    via_env = load_plugins(env={"RLINF_PLUGIN_MODULES": path})
    assert "length" in via_env.names("rewards")


def test_duplicate_names_name_both_plugins(tmp_path, plugin_site):
    path = write(
        tmp_path,
        "dup_reward.py",
        """
        from rlinf_core import Reward, RewardResult, hookimpl

        class Other(Reward):
            def score(self, responses, answers):
                return RewardResult(scores=[0.0] * len(responses))

        @hookimpl
        def register_rewards(register):
            register("exact", Other)
        """,
    )
    with pytest.raises(PluginError, match=r"'exact': 'testplugin' and 'rlinf_user_plugin_dup_reward'"):
        load_plugins(modules=[path], env={})


def test_unknown_plugin_lists_available_and_closest(plugin_site):
    registry = load_plugins(env={})
    with pytest.raises(UnknownPluginError) as err:
        registry.get("rewards", "exakt", field_name="reward.name")
    msg = str(err.value)
    assert "Unknown reward 'exakt' (config field `reward.name`)" in msg
    assert "Available: " in msg and "exact" in msg.split("Available: ")[1]
    assert "Did you mean 'exact'?" in msg


def test_misspelled_hook_is_an_error(tmp_path, plugin_site):
    path = write(
        tmp_path,
        "typo.py",
        """
        from rlinf_core import hookimpl

        @hookimpl
        def register_reward(register):
            pass
        """,
    )
    with pytest.raises(PluginError, match=r"'register_reward', which is not an rlinf hook. Did you mean 'register_rewards'"):
        load_plugins(modules=[path], env={})


def test_undecorated_hook_is_an_error(tmp_path, plugin_site):
    path = write(tmp_path, "nodeco.py", "def register_rewards(register):\n    pass\n")
    with pytest.raises(PluginError, match="without the @hookimpl decorator"):
        load_plugins(modules=[path], env={})


def test_wrong_hook_argument_is_an_error(tmp_path, plugin_site):
    path = write(
        tmp_path,
        "badarg.py",
        """
        from rlinf_core import hookimpl

        @hookimpl
        def register_rewards(reg):
            pass
        """,
    )
    with pytest.raises(PluginError, match="invalid hook implementation"):
        load_plugins(modules=[path], env={})


def test_registering_a_non_interface_class_is_an_error(tmp_path, plugin_site):
    path = write(
        tmp_path,
        "notreward.py",
        """
        from rlinf_core import hookimpl

        def score(responses, answers):
            return [0.0]

        @hookimpl
        def register_rewards(register):
            register("fn", score)
        """,
    )
    with pytest.raises(PluginError, match=r"not a subclass of rlinf_core.interfaces.reward.Reward"):
        load_plugins(modules=[path], env={})


def test_missing_module_file_is_an_error(plugin_site):
    with pytest.raises(PluginError, match="does not exist"):
        load_plugins(modules=["/nonexistent/my_plugin.py"], env={})


def test_a_class_registered_by_reference_is_imported_when_first_looked_up(tmp_path, plugin_site, monkeypatch):
    import sys

    pkg = tmp_path / "lazyref"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "heavy.py").write_text(textwrap.dedent("""
        from rlinf_core import Reward, RewardResult

        class Heavy(Reward):
            def score(self, responses, answers):
                return RewardResult(scores=[0.0] * len(responses))

        def not_a_reward():
            pass
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    path = write(tmp_path, "refs.py", """
        from rlinf_core import hookimpl

        @hookimpl
        def register_rewards(register):
            register("heavy", "lazyref.heavy:Heavy")
            register("gone", "lazyref.missing:Gone")
            register("fn", "lazyref.heavy:not_a_reward")
        """)
    registry = load_plugins(modules=[path], env={})
    assert {"heavy", "gone", "fn"} <= set(registry.names("rewards"))
    assert "lazyref.heavy" not in sys.modules  # nothing imported until a lookup
    assert registry.get("rewards", "heavy").__name__ == "Heavy" and "lazyref.heavy" in sys.modules
    with pytest.raises(PluginError, match=r"registered reward 'gone' as 'lazyref.missing:Gone', which cannot be imported"):
        registry.get("rewards", "gone")
    with pytest.raises(PluginError, match=r"'fn' as <function not_a_reward.*not a subclass"):
        registry.get("rewards", "fn")


def test_a_malformed_reference_is_an_error_at_registration(tmp_path, plugin_site):
    path = write(tmp_path, "badref.py", """
        from rlinf_core import hookimpl

        @hookimpl
        def register_rewards(register):
            register("x", "lazyref.heavy.Heavy")
        """)
    with pytest.raises(PluginError, match=r"a reference is 'module:Class'"):
        load_plugins(modules=[path], env={})
