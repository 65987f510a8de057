"""What the rollout and train backend checks share: the interface is complete, the config
carries a model path (or the check stops after the interface), the checkpoint's own weights."""

from __future__ import annotations

import dataclasses
import inspect
from typing import TYPE_CHECKING, Any, Dict, Optional

from rlinf_core.testing.contracts.common import Report, check_by_name, plugin_config

if TYPE_CHECKING:
    import torch


def _check_complete(rep: Report, cls: type) -> None:
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    rep.check(not missing, f"abstract methods left unimplemented: {', '.join(missing)}")
    params = list(inspect.signature(cls.__init__).parameters)
    rep.check(
        params[:2] == ["self", "config"] and {"rank", "world_size"} <= set(params),
        f"__init__ must accept (config, rank=0, world_size=1) as the workers call it, has {params[1:]}",
    )


def model_state(path: str) -> Dict[str, "torch.Tensor"]:
    """The checkpoint's weights under their Hugging Face names."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path).state_dict()


def backend_config(
    rep: Report, kind: str, name: Optional[str], cls: type, registry: Any, config: Any,
    model_path: Optional[str], fresh_process: bool,
) -> Any:
    """The backend's config with ``model_path`` applied, after the interface checks; None when
    there is no model to run (an interface-only check, finished with the by-name check)."""
    cfg = plugin_config(rep, kind, cls, config)
    if model_path is not None:
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, model_path=str(model_path)))
    _check_complete(rep, cls)
    rep.stop_if_any()
    if not cfg.model.model_path:
        check_by_name(rep, kind, name, cls, registry, fresh_process)
        rep.stop_if_any()
        return None
    return cfg
