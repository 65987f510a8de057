"""Run as a script: build Megatron-Core GPTModels on CPU (gloo) for one TP x PP layout, load each
rank's converted shard into its model strictly, and save what the model then holds.

    python mcore_shards.py WORKDIR TP PP

WORKDIR holds ``hf.pt`` ({"config": ..., "state": ...}); writes ``shard_{tp}_{pp}.pt`` per rank.
"""

import os
import socket
import sys

import torch
import torch.multiprocessing as mp


def rank_main(rank: int, world: int, port: int, workdir: str, tp: int, pp: int) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    from megatron.core import parallel_state as ps
    from megatron.core.models.gpt.gpt_layer_specs import get_gpt_layer_local_spec
    from megatron.core.models.gpt.gpt_model import GPTModel
    from megatron.core.transformer.transformer_config import TransformerConfig

    from rlinf_megatron.config import MegatronParallelConfig, gpt_model_kwargs, transformer_config_kwargs
    from rlinf_megatron.convert import hf_to_megatron
    from rlinf_megatron.shapes import ModelShape

    ps.initialize_model_parallel(tensor_model_parallel_size=tp, pipeline_model_parallel_size=pp)
    hf = torch.load(os.path.join(workdir, "hf.pt"), weights_only=False)
    parallel = MegatronParallelConfig(tensor_parallel_size=tp, pipeline_parallel_size=pp, transformer_engine=False)
    kw = transformer_config_kwargs(hf["config"], parallel, "fp32")
    kw.update(activation_func=torch.nn.functional.silu, params_dtype=torch.float32, use_cpu_initialization=True,
              pipeline_dtype=torch.float32)
    tp_rank, pp_rank = ps.get_tensor_model_parallel_rank(), ps.get_pipeline_model_parallel_rank()
    model = GPTModel(config=TransformerConfig(**kw), transformer_layer_spec=get_gpt_layer_local_spec(normalization="RMSNorm"),
                     pre_process=pp_rank == 0, post_process=pp_rank == pp - 1, **gpt_model_kwargs(hf["config"], parallel))
    shard = hf_to_megatron(hf["state"], ModelShape.from_hf_config(hf["config"]), parallel.layout(), tp_rank, pp_rank)
    missing, unexpected = model.load_state_dict(shard, strict=False)  # sizes are checked strictly either way
    missing = [k for k in missing if not k.endswith("_extra_state")]
    assert not missing and not unexpected, (missing, unexpected)
    held = {k: v.detach().clone() for k, v in model.state_dict().items() if isinstance(v, torch.Tensor)}
    torch.save(held, os.path.join(workdir, f"shard_{tp_rank}_{pp_rank}.pt"))
    dist.barrier()


if __name__ == "__main__":
    workdir, tp, pp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(rank_main, args=(tp * pp, port, workdir, tp, pp), nprocs=tp * pp)
