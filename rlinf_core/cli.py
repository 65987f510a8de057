"""The ``rlinf`` command line: run, prepare, plugins, config show, new-task, eval, plan, version (plus plugin commands).

A user error (bad config, unknown plugin, bad placement) prints one paragraph and exits 2;
``rlinf --debug ...`` shows the traceback instead.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, List, Optional, Tuple

import click

from rlinf_core import __version__
from rlinf_core.errors import ConfigError, RlinfUserError, WorkerError

CONTEXT = {"help_option_names": ["-h", "--help"]}


class _Group(click.Group):
    """Turns RlinfUserError into a clean message and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RlinfUserError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"Error: {exc}", err=True)
            click.echo("(run with `rlinf --debug ...` for the traceback)", err=True)
            ctx.exit(exc.exit_code)
        except WorkerError as exc:
            # A remote failure: its message already names group, rank and the remote traceback.
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)
        except RuntimeError as exc:
            from rlinf_core.runner import TrainingDiverged

            if not isinstance(exc, TrainingDiverged) or (ctx.obj and ctx.obj.get("debug")):
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings=CONTEXT)
@click.option("--debug", is_flag=True, help="Show full tracebacks for user errors.")
@click.version_option(__version__, "-V", "--version", prog_name="rlinf")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """rlinf: reinforcement-learning post-training of language models.

    Run a recipe: `rlinf run cookbook/math-tiny/grpo.yaml runner.max_steps=20`.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


@cli.command(context_settings=CONTEXT)
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.argument("overrides", nargs=-1)
def run(recipe: str, overrides: Tuple[str, ...]) -> None:
    """Train with RECIPE (a YAML file); OVERRIDES are key=value, e.g. runner.max_steps=5."""
    from rlinf_core.config import load_config
    from rlinf_core.runner import run_from_config

    cfg = load_config(recipe, overrides)
    run_from_config(cfg)


@cli.command(context_settings=CONTEXT)
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.argument("overrides", nargs=-1)
def prepare(recipe: str, overrides: Tuple[str, ...]) -> None:
    """Create what RECIPE needs (its `runner.prepare` preparer) without training."""
    from rlinf_core.config import load_config
    from rlinf_core.runner import prepare_assets

    cfg = load_config(recipe, overrides)
    if not cfg.runner.prepare:
        click.echo("This recipe names no preparer (runner.prepare): nothing to do.")
    elif prepare_assets(cfg):
        click.echo(f"Prepared with '{cfg.runner.prepare}'.")
    else:
        click.echo(f"Already prepared ('{cfg.runner.prepare}').")


@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--hook", "hook", default=None, help="Only plugins implementing this hook, e.g. register_rewards.")
def plugins(as_json: bool, hook: Optional[str]) -> None:
    """List installed plugins: name, version, hooks and what each registered."""
    from rlinf_core.errors import PluginError, did_you_mean
    from rlinf_core.plugins import HOOK_NAMES, get_registry

    if hook is not None and hook not in HOOK_NAMES:
        raise PluginError(f"Unknown hook '{hook}'.{did_you_mean(hook, HOOK_NAMES)} Hooks are: {', '.join(HOOK_NAMES)}.")
    registry = get_registry()
    rows = []
    for info in registry.plugins:
        if hook is not None and hook not in info.hooks:
            continue
        rows.append(
            {
                "name": info.name,
                "package": info.package,
                "version": info.version,
                "source": info.source,
                "hooks": info.hooks,
                "registered": info.registered,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No plugins" + (f" implement {hook}." if hook else " installed."))
        return
    for row in rows:
        version = f" {row['version']}" if row["version"] else ""
        package = f" ({row['package']}{version}, {row['source']})"
        click.echo(f"{row['name']}{package}")
        click.echo(f"  hooks: {', '.join(row['hooks']) or '-'}")
        for kind, names in sorted(row["registered"].items()):
            click.echo(f"  {kind}: {', '.join(names)}")


@cli.group(context_settings=CONTEXT)
def config() -> None:
    """Inspect recipes."""


def _echo_plugin_flow(cfg: Any, placement: Optional[Any]) -> None:
    import yaml

    from rlinf_core.config import to_container
    from rlinf_core.plugins import get_registry

    flow = get_registry(list(cfg.plugins.modules)).get("flows", str(cfg.flow), field_name="flow")
    click.echo("# resolved config")
    click.echo(yaml.safe_dump(to_container(cfg), sort_keys=False).rstrip())
    if placement is not None:
        click.echo("\n# placement")
        click.echo(yaml.safe_dump(placement.describe(), sort_keys=False).rstrip())
    click.echo(f"\n# flow: {cfg.flow}")
    for source, target, what in flow.edges:
        click.echo(f"{source} -> {target}: {what}")


@config.command("show", context_settings=CONTEXT)
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.argument("overrides", nargs=-1)
@click.option(
    "--fields", "show_fields", is_flag=True,
    help="Instead, document every field, section by section: type, default, this recipe's value, help.",
)
def config_show(recipe: str, overrides: Tuple[str, ...], show_fields: bool) -> None:
    """Print the resolved config of RECIPE with OVERRIDES, its placement and derived sizes
    (with --fields: every field's documentation instead)."""
    import yaml

    from rlinf_core.config import derive_sizes, load_config, to_container
    from rlinf_core.config.describe import format_fields
    from rlinf_core.cluster.ray_cluster import placement_for_cluster
    from rlinf_core.flow.step import flow_summary
    from rlinf_core.plan.auto import is_auto

    cfg = load_config(recipe, overrides)
    if show_fields:
        # The docs alone: the resolved config (~130 lines) would push them off the screen.
        click.echo(format_fields(cfg))
        return
    if "flow" in cfg:  # a plugin flow's recipe: its own sections, no language-model sizes
        _echo_plugin_flow(cfg, placement_for_cluster(cfg.cluster) if "cluster" in cfg else None)
        return
    placement = placement_for_cluster(cfg.cluster)
    sizes = derive_sizes(cfg, placement)
    click.echo("# resolved config")
    click.echo(yaml.safe_dump(to_container(cfg), sort_keys=False).rstrip())
    click.echo("\n# placement")
    if is_auto(cfg):
        click.echo("# cluster.component_placement: auto: chosen when the run starts (docs/planning.md);\n"
                   "# without runner.plan_profiles it starts as below (collocated) and re-plans after its first steps")
    click.echo(yaml.safe_dump(placement.describe(), sort_keys=False).rstrip())
    click.echo("\n# derived sizes")
    click.echo(yaml.safe_dump(sizes.as_dict(), sort_keys=False).rstrip())
    click.echo("\n# flow")
    click.echo(yaml.safe_dump(flow_summary(cfg, placement), sort_keys=False).rstrip())
    _echo_memory(cfg, placement)


@config.command("import", context_settings=CONTEXT)
@click.argument("rlinf_yaml", type=click.Path(dir_okay=False))
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the recipe here (it must not exist); without it the recipe goes to stdout.")
@click.option("--allow-unsupported", is_flag=True, help="Write the recipe without the settings rlinf cannot honour.")
def config_import(rlinf_yaml: str, output: Optional[str], allow_unsupported: bool) -> None:
    """Translate an RLinf math config (RLINF_YAML) into an rlinf recipe, and print where every key
    went: mapped, defaulted, ignored (no effect here) and unsupported (an error unless allowed)."""
    import yaml

    from rlinf_core.config.loader import read_yaml_mapping
    from rlinf_core.config.rlinf_compat import looks_like_rlinf, translate_or_raise

    raw = read_yaml_mapping(rlinf_yaml)
    if not looks_like_rlinf(raw):
        raise ConfigError(f"'{rlinf_yaml}' is not an RLinf config (no hydra/defaults, actor.training_backend, "
                          "rollout.rollout_backend, algorithm.n_minibatches or rollout.model_dir); rlinf runs it as it is.")
    translation = translate_or_raise(raw, rlinf_yaml, allow_unsupported)
    click.echo(translation.table(), err=True)
    text = f"# Translated from {rlinf_yaml} by `rlinf config import`.\n" + yaml.safe_dump(translation.recipe, sort_keys=False)
    if output is None:
        click.echo(text, nl=False)
        return
    if os.path.exists(output):
        raise ConfigError(f"--output '{output}' exists; choose another path (nothing was written).")
    with open(output, "x", encoding="utf-8") as fh:
        fh.write(text)
    click.echo(f"recipe written to {output}; check it with `rlinf config show {output}`", err=True)


def _echo_memory(cfg: Any, placement: Any) -> None:
    """The memory estimate per rank (rlinf_core/plan/memory.py), and whether the placement fits."""
    import yaml

    from rlinf_core.plan.fit import estimate_memory
    from rlinf_core.plugins import get_registry

    click.echo("\n# memory per rank (estimated from the checkpoint's config.json; rlinf_core/plan/memory.py)")
    fit = estimate_memory(cfg, placement, get_registry(list(cfg.plugins.modules)))
    if fit is None:
        click.echo("# not yet: the checkpoint has no config.json (the run's preparer writes it)")
        return
    click.echo(yaml.safe_dump(fit.describe(), sort_keys=False).rstrip())
    over = list(fit.over().items())
    for where, need in over[:3]:
        click.echo(f"# does not fit: {where} needs {need / 2**30:.1f} GiB; the run will refuse to start")
    if len(over) > 3:
        click.echo(f"# ... and {len(over) - 3} more devices that do not fit")


@cli.command("new-task", context_settings=CONTEXT)
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(["task", "reward", "algorithm"]),
    default="task",
    show_default=True,
    help="task: a dataset, prompt format and exact-match reward; reward: a reward trained with the math task; "
    "algorithm: a REINFORCE-style algorithm.",
)
@click.option(
    "--output-dir",
    "-o",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Folder in which the package folder rlinf-NAME is created.",
)
def new_task(name: str, kind: str, output_dir: str) -> None:
    """Write a pip-installable plugin package rlinf-NAME: a working example, a recipe, tests.

    NAME holds letters, digits and hyphens (e.g. countdown, my-task): it gives the package
    rlinf-NAME, the module rlinf_NAME and the registered plugin name. Existing files are
    never overwritten.
    """
    from rlinf_core.scaffold import next_steps, render

    click.echo(next_steps(render(name, kind, output_dir)))


@cli.command(context_settings=CONTEXT)
def version() -> None:
    """Print the versions of rlinf-core and its main dependencies."""
    import importlib.metadata as md

    click.echo(f"rlinf-core {__version__}")
    for dist in ("ray", "torch", "transformers", "mlflow", "omegaconf", "pluggy"):
        try:
            click.echo(f"{dist} {md.version(dist)}")
        except md.PackageNotFoundError:
            click.echo(f"{dist} (not installed)")
    click.echo(f"python {sys.version.split()[0]}")


def _add_core_commands() -> None:
    from rlinf_core.cluster.command import cluster
    from rlinf_core.plan.command import plan_command

    cli.add_command(cluster)
    cli.add_command(plan_command)


_add_core_commands()


def _add_plugin_commands() -> None:
    from rlinf_core.errors import PluginError
    from rlinf_core.plugins import get_registry

    try:
        get_registry().add_commands(cli)
    except PluginError:
        pass  # `rlinf plugins` and `rlinf run` report the broken plugin with the full message


def main(argv: Optional[List[str]] = None) -> None:
    _add_plugin_commands()
    cli.main(args=argv, prog_name="rlinf")


if __name__ == "__main__":
    main()
