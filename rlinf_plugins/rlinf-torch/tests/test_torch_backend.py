"""The torch train backend on a tiny checkpoint: packing, log-probs, updates, early stop, checkpoints.

The steps are driven by rlinf_core.testing's probe algorithm (a clipped policy-gradient loss with
switches for every optional algorithm hook), so these tests need no algorithm plugin."""

import pytest
import torch

from rlinf_core import TrainSetup
from rlinf_core.testing.algorithms import ClippedPolicyGradient
from rlinf_torch import TorchActorConfig, TorchTrainBackend
from rlinf_torch.packing import pack
from rlinf_torch.schedule import lr_factor


def backend(tiny_checkpoint, temperature=1.0, lr=1e-3, keep_reference=False, **kw):
    cfg = TorchActorConfig(**{"micro_batch_size": 2, **kw})
    cfg.model.model_path = tiny_checkpoint
    cfg.optim.lr = lr
    b = TorchTrainBackend(cfg)
    b.load(TrainSetup(seed=0, temperature=temperature, total_optimizer_steps=10, keep_reference=keep_reference))
    return b


def test_pack_layout():
    p = pack([torch.tensor([1, 2]), torch.tensor([3])], [torch.tensor([4, 5, 6]), torch.tensor([7])])
    assert p.input_ids.tolist() == [[1, 2, 4, 5, 6, 3, 7]]
    assert p.position_ids.tolist() == [[0, 1, 2, 3, 4, 0, 1]]
    assert p.logit_index.tolist() == [1, 2, 3, 5]  # the position before each response token
    assert p.targets.tolist() == [4, 5, 6, 7]
    mask = p.attention_mask[0, 0]
    assert mask[5].tolist() == [False] * 5 + [True, False]  # sequence 2 sees only itself


def test_pack_into_rows_with_padding():
    prompts = [torch.tensor([1, 2]), torch.tensor([3]), torch.tensor([8, 8, 8])]
    responses = [torch.tensor([4, 5, 6]), torch.tensor([7]), torch.tensor([9])]
    p = pack(prompts, responses, row_tokens=6, pad_id=0)
    # first-fit decreasing: [seq0 (5)] leaves 1 token, [seq2 (4)] leaves 2, which seq1 (2) fills
    assert p.input_ids.tolist() == [[1, 2, 4, 5, 6, 0], [8, 8, 8, 9, 3, 7]]
    assert p.logit_index.tolist() == [1, 2, 3, 6 + 4, 6 + 2]  # original order: seq0, seq1, seq2
    assert p.targets.tolist() == [4, 5, 6, 7, 9]
    mask = p.attention_mask[:, 0]
    assert mask[0, 5].tolist() == [False] * 5 + [True]  # padding sees only itself
    assert not mask[0, :5, 5].any()  # and nothing sees padding
    assert mask[1, 5].tolist() == [False] * 4 + [True, True]  # seq1 sees only itself


def test_one_sequence_per_row_needs_no_mask():
    prompts = [torch.tensor([1, 2]), torch.tensor([3])]
    responses = [torch.tensor([4, 5, 6]), torch.tensor([7])]
    p = pack(prompts, responses, row_tokens=0, pad_id=0)
    assert p.input_ids.tolist() == [[1, 2, 4, 5, 6], [3, 7, 0, 0, 0]]  # right padding only
    assert p.position_ids.tolist()[1][:2] == [0, 1]
    assert p.attention_mask is None  # causal attention is exact: padding comes last
    assert p.logit_index.tolist() == [1, 2, 3, 5]


@pytest.mark.parametrize("row_tokens", [0, 512])
def test_packed_logprobs_equal_unpacked(tiny_checkpoint, make_batch, row_tokens):
    b = backend(tiny_checkpoint, temperature=0.8, pack_row_tokens=row_tokens)
    batch = make_batch()
    logps, ents = b.compute_logprobs(batch)
    model = b.model
    for i in range(len(batch)):
        ids = torch.cat([batch.prompt_ids[i], batch.response_ids[i]])[None]
        with torch.no_grad():
            logits = model(ids).logits[0] / 0.8
        p = len(batch.prompt_ids[i])
        ref = torch.log_softmax(logits, -1)[p - 1 : -1].gather(-1, batch.response_ids[i][:, None]).squeeze(-1)
        assert torch.allclose(logps[i], ref, atol=1e-5)
        assert (ents[i] > 0).all()


def test_train_step_moves_logprobs_toward_advantage(tiny_checkpoint, make_batch):
    b = backend(tiny_checkpoint)
    batch = make_batch()
    before = b.compute_logprobs(batch)[0]
    metrics = b.train_step(batch, ClippedPolicyGradient(), num_minibatches=1, recompute_logprobs=True)
    after = b.compute_logprobs(batch)[0]
    delta = [float((after[i] - before[i]).sum()) for i in range(len(batch))]
    assert delta[0] > 0 and delta[2] > 0  # positive advantage: more likely
    assert delta[1] < 0 and delta[3] < 0  # negative advantage: less likely
    assert metrics["train/optimizer_steps"] == 1.0
    assert metrics["train/ratio"] == pytest.approx(1.0, abs=1e-5)  # first update: same weights
    for key in ["train/policy_loss", "train/entropy_loss", "train/clip_fraction", "train/grad_norm", "train/lr", "train/ratio_max"]:
        assert key in metrics


def _with_logprobs(batch, logprobs):
    batch.response_logprobs = logprobs
    return batch


@pytest.mark.parametrize("num_minibatches,epochs", [(1, 1), (2, 1), (2, 2)])
def test_old_logprobs_from_the_first_forward_equal_a_separate_pass(tiny_checkpoint, make_batch, num_minibatches, epochs):
    """recompute_logprobs takes the first minibatch's old log-probs from its own forward; the
    updates equal those of a run handed exactly recomputed old log-probs up front."""
    reused, explicit = backend(tiny_checkpoint, num_epochs=epochs), backend(tiny_checkpoint, num_epochs=epochs)
    batch = make_batch(n=8, seed=3)
    exact = explicit.compute_logprobs(batch)[0]
    algo = ClippedPolicyGradient()
    m1 = reused.train_step(batch, algo, num_minibatches=num_minibatches, recompute_logprobs=True)
    m2 = explicit.train_step(_with_logprobs(make_batch(n=8, seed=3), exact), algo, num_minibatches=num_minibatches,
                             recompute_logprobs=False)
    for a, b in zip(reused.model.parameters(), explicit.model.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    for key in ("train/policy_loss", "train/ratio", "train/clip_fraction", "train/grad_norm"):
        assert m1[key] == pytest.approx(m2[key], abs=1e-5), key
    assert m1["train/rollout_logprob_diff_max"] > 0  # the batch's logprobs are zeros: a real gap is reported


def test_zero_advantage_rows_are_skipped_without_changing_the_update(tiny_checkpoint, make_batch):
    """Rows with advantage exactly 0 are not forwarded, yet two steps (the second with every
    advantage 0, where AdamW still moves on its momentum) give the weights of the full computation."""
    skipping, full = backend(tiny_checkpoint), backend(tiny_checkpoint)
    for step, adv in enumerate([(1.0, 0.0, -1.0, 0.0, 0.0, 2.0), (0.0,) * 6]):
        # inert_zero_advantage=False turns the zero-advantage shortcut off: the reference computation
        for b, algo in ((skipping, ClippedPolicyGradient()), (full, ClippedPolicyGradient(inert_zero_advantage=False))):
            batch = make_batch(n=6, seed=5 + step, advantages=adv)
            metrics = b.train_step(batch, algo, num_minibatches=2, recompute_logprobs=True)
            assert metrics["train/optimizer_steps"] == 2.0
            expected_skips = sum(a == 0.0 for a in adv) if b is skipping else 0
            assert metrics["train/skipped_zero_advantage_seqs"] == expected_skips
        for a, b in zip(skipping.model.parameters(), full.model.parameters()):
            # float noise from other summation orders stays ~1e-6; a wrong update (AdamW skipping its
            # momentum step when no gradient exists) moves weights by ~lr = 1e-3
            assert torch.allclose(a, b, atol=1e-5), (step, float((a - b).abs().max()))
    assert not all(torch.equal(a, b) for a, b in zip(skipping.model.parameters(), backend(tiny_checkpoint).model.parameters()))


class _Recorder(ClippedPolicyGradient):
    """The probe, recording the minibatch metrics its early-stop rule reads."""

    def __init__(self, **fields):
        super().__init__(**fields)
        self.seen = []

    def skip_update(self, minibatch_metrics):
        self.seen.append(dict(minibatch_metrics))
        return super().skip_update(minibatch_metrics)


@pytest.mark.parametrize("num_minibatches,epochs,recompute", [(2, 1, True), (1, 2, True), (2, 2, True), (2, 1, False)])
def test_zero_advantage_skip_keeps_metrics_and_early_stop(tiny_checkpoint, make_batch, num_minibatches, epochs, recompute):
    """Skipped zero-advantage rows still count in the loss metrics, so the early-stop decision is the
    full minibatch's. With lr 0.05 and advantages (0, 3, 0, 0), after the first update the second
    minibatch's mean ratio is ~2.31 over all its tokens but ~1.03 over the trained rows alone: a
    limit of 1.5 stops the full computation and, had the metrics covered the trained rows only (as
    before this fix), would not stop the skipping one. Later epochs and the rollout's old log-probs
    (no recomputation) take the no-grad forward of the skipped rows."""
    runs = []
    for inert in (True, False):
        b = backend(tiny_checkpoint, lr=0.05, num_epochs=epochs)
        algo = _Recorder(ratio_early_stop=1.5, inert_zero_advantage=inert)
        metrics = b.train_step(make_batch(n=8, seed=1, advantages=(0.0, 3.0, 0.0, 0.0)), algo, num_minibatches, recompute)
        runs.append((b, algo, metrics))
    (skipping, algo_s, m_s), (full, algo_f, m_f) = runs
    assert m_s["train/skipped_zero_advantage_seqs"] == 6 * epochs and m_f["train/skipped_zero_advantage_seqs"] == 0
    if (num_minibatches, epochs, recompute) == (2, 1, True):
        assert m_f["train/early_stopped_minibatches"] == 1.0  # the decision the skip used to flip
    assert [s["train/ratio"] for s in algo_s.seen] == pytest.approx([s["train/ratio"] for s in algo_f.seen], abs=1e-5)
    for key in ("train/ratio", "train/ratio_max", "train/clip_fraction", "train/policy_loss", "train/loss",
                "train/early_stopped_minibatches", "train/optimizer_steps", "train/grad_norm"):
        assert m_s[key] == pytest.approx(m_f[key], abs=1e-5), key
    for a, b in zip(skipping.model.parameters(), full.model.parameters()):
        # AdamW's first steps are ~lr * sign(g): entries whose gradient is near eps turn rounding-level
        # differences (other micro-batch cuts) into steps of up to ~1e-4; a different update moves them ~lr.
        assert torch.allclose(a, b, atol=1e-3), float((a - b).abs().max())


@pytest.mark.parametrize("share_prompts", [True, False])
def test_entropy_bonus_trains_through_the_entropy(tiny_checkpoint, make_batch, share_prompts):
    """With every advantage 0 only the entropy bonus has a gradient: its norm and direction are
    those of -(mean token entropy) computed by an independent Hugging Face forward."""
    b = backend(tiny_checkpoint, share_prompts=share_prompts)
    batch = make_batch(n=4, seed=2, advantages=(0.0,), share_prompts=2)
    start = [p.detach().clone() for p in b.model.parameters()]
    model = backend(tiny_checkpoint).model  # the same initial weights
    entropies = []
    for i in range(len(batch)):
        logp = torch.log_softmax(model(torch.cat([batch.prompt_ids[i], batch.response_ids[i]])[None]).logits[0], -1)
        p = len(batch.prompt_ids[i])
        entropies.append(-(logp.exp() * logp).sum(-1)[p - 1 : -1])
    grads = torch.autograd.grad(-torch.cat(entropies).mean(), list(model.parameters()))
    metrics = b.train_step(batch, ClippedPolicyGradient(entropy_coef=1.0), num_minibatches=1, recompute_logprobs=True)
    assert metrics["train/skipped_zero_advantage_seqs"] == 0  # the bonus makes a zero advantage not inert
    assert metrics["train/grad_norm"] == pytest.approx(float(torch.sqrt(sum((g * g).sum() for g in grads))), rel=1e-4)
    lr, wd = b.config.optim.lr, b.config.optim.weight_decay
    agree = total = 0
    for p0, p1, g in zip(start, b.model.parameters(), grads):
        step = p0 * (1 - lr * wd) - p1.detach()  # AdamW's first step: ~lr * sign(gradient)
        sure = g.abs() > 1e-5
        agree += int((torch.sign(step[sure]) == torch.sign(g[sure])).sum())
        total += int(sure.sum())
    assert total > 1000 and agree / total > 0.99


def test_masked_truncated_rows_get_no_gradient(tiny_checkpoint, make_batch):
    """Every row truncated and masked: the backend hands LossInputs.truncated to the loss."""
    b = backend(tiny_checkpoint)
    batch = make_batch(n=4, seed=4)
    batch.truncated = torch.ones(4, dtype=torch.bool)
    algo = ClippedPolicyGradient(mask_truncated=True)
    metrics = b.train_step(batch, algo, num_minibatches=1, recompute_logprobs=True)
    assert metrics["train/grad_norm"] == 0.0 and metrics["train/loss"] == 0.0


class _RecordingTokenAdvantages(ClippedPolicyGradient):
    def token_advantages(self, inputs):
        self.old = inputs.old_logprobs.clone()
        self.result = super().token_advantages(inputs)
        return self.result


@pytest.mark.parametrize("num_minibatches", [1, 2])
def test_token_advantages_see_every_old_logprob_up_front(tiny_checkpoint, make_batch, num_minibatches):
    """Token advantages (here with a KL-to-reference term, whitened) need every old log-prob before
    training: they are scored up front and equal a separate pass, and the update equals one handed
    those log-probs."""
    recomputed = backend(tiny_checkpoint, keep_reference=True)
    handed = backend(tiny_checkpoint, keep_reference=True)
    batch = make_batch(n=8, seed=3, advantages=(1.0, 0.0, 0.5, 0.0))
    exact = handed.compute_logprobs(batch)[0]
    algos = [_RecordingTokenAdvantages(token_advantages=True, reward_kl_beta=0.1) for _ in range(2)]
    recomputed.train_step(batch, algos[0], num_minibatches, recompute_logprobs=True)
    handed.train_step(_with_logprobs(make_batch(n=8, seed=3, advantages=(1.0, 0.0, 0.5, 0.0)), exact), algos[1],
                      num_minibatches, recompute_logprobs=False)
    assert torch.allclose(algos[0].old, exact.values, atol=1e-5)
    adv = algos[0].result
    assert float(adv.mean()) == pytest.approx(0.0, abs=1e-5) and float(adv.std(unbiased=False)) == pytest.approx(1.0, abs=1e-4)
    assert torch.allclose(adv, algos[1].result, atol=1e-4)
    for a, b in zip(recomputed.model.parameters(), handed.model.parameters()):
        assert torch.allclose(a, b, atol=1e-5)


def test_early_stop_skips_the_update(tiny_checkpoint, make_batch):
    b = backend(tiny_checkpoint)
    batch = make_batch()
    params = [p.detach().clone() for p in b.model.parameters()]
    # With a limit of 1e-9 every minibatch's mean ratio exceeds it, so no update may happen.
    metrics = b.train_step(batch, ClippedPolicyGradient(ratio_early_stop=1e-9), num_minibatches=2, recompute_logprobs=False)
    assert metrics["train/early_stopped_minibatches"] == 2.0
    assert metrics["train/optimizer_steps"] == 0.0
    assert all(torch.equal(a, p) for a, p in zip(params, b.model.parameters()))


def test_kl_reference_is_kept_frozen(tiny_checkpoint, make_batch):
    cfg = TorchActorConfig(micro_batch_size=2)
    cfg.model.model_path = tiny_checkpoint
    b = TorchTrainBackend(cfg)
    b.load(TrainSetup(seed=0, temperature=1.0, total_optimizer_steps=4, keep_reference=True))
    metrics = b.train_step(make_batch(), ClippedPolicyGradient(kl_beta=0.1), num_minibatches=1, recompute_logprobs=True)
    assert metrics["train/kl"] == pytest.approx(0.0, abs=1e-6)  # KL before the first update is zero
    assert not any(p.requires_grad for p in b.reference.parameters())


def test_checkpoint_loads_with_auto_classes(tiny_checkpoint, tmp_path, make_batch):
    from transformers import AutoModelForCausalLM

    from rlinf_core.models import load_tokenizer

    b = backend(tiny_checkpoint)
    b.save_checkpoint(str(tmp_path / "step_1"))
    model = AutoModelForCausalLM.from_pretrained(str(tmp_path / "step_1"))
    tok = load_tokenizer(str(tmp_path / "step_1"))
    assert tok.chat_template
    for (k, v) in b.state_dict_for_rollout().items():
        assert torch.equal(model.state_dict()[k], v)
    assert not (tmp_path / "step_1.tmp").exists()


def test_lr_schedule():
    assert [lr_factor(s, 2, 10, "constant", 0.0) for s in (0, 1, 2, 9)] == [0.5, 1.0, 1.0, 1.0]
    assert lr_factor(10, 0, 10, "linear", 0.1) == pytest.approx(0.1)
    assert lr_factor(5, 0, 10, "cosine", 0.0) == pytest.approx(0.5)


def test_shared_prompt_forward_equals_one_sequence_per_row(tiny_checkpoint, make_batch):
    """Prompts of different lengths, responses of 1 to 6 tokens: log-probs, entropies and
    gradients of the shared-prompt forward equal the plain per-row forward's."""
    from rlinf_core import distinct_rows
    from rlinf_torch.prefix import shared_prompt_forward

    b = backend(tiny_checkpoint, temperature=0.8, share_prompts=False)
    batch = make_batch(n=9, seed=11, share_prompts=3)
    prompts = [batch.prompt_ids[i] for i in range(9)]
    prompts[3:6] = [torch.cat([prompts[3], torch.tensor([9, 9])])] * 3  # the groups' prompts differ in length
    responses = [batch.response_ids[i] for i in range(9)]
    responses[1] = responses[1][:1]  # a one-token response: only the prompt pass predicts it
    assert len({len(p) for p in prompts}) > 1
    model = b.model
    plain_lp, plain_ent, lengths = b._forward(model, prompts, responses)
    weights = torch.linspace(-1, 1, len(plain_lp))
    plain_grads = torch.autograd.grad((plain_lp * weights).sum(), list(model.parameters()))
    lp, ent, shared_lengths = shared_prompt_forward(model, model, prompts, responses, distinct_rows(prompts), temperature=0.8,
                                                    pad_id=b.pad_id, device=b.device, keeps_logits=b.keeps_logits)
    grads = torch.autograd.grad((lp * weights).sum(), list(model.parameters()))
    assert shared_lengths.tolist() == lengths.tolist() == [len(r) for r in responses]
    assert torch.allclose(lp, plain_lp, atol=1e-5) and torch.allclose(ent, plain_ent, atol=1e-5)
    for g1, g2 in zip(grads, plain_grads):
        assert torch.allclose(g1, g2, atol=1e-5), float((g1 - g2).abs().max())


@pytest.mark.parametrize("micro_batch_size", [2, 8])
def test_shared_prompt_training_gives_the_same_weights(tiny_checkpoint, make_batch, micro_batch_size):
    """Two steps with groups straddling micro-batches (size 2) or whole (size 8): the same weights
    and metrics as without sharing, and the old log-probs agree with a separate pass."""
    shared = backend(tiny_checkpoint, micro_batch_size=micro_batch_size)
    plain = backend(tiny_checkpoint, micro_batch_size=micro_batch_size, share_prompts=False)
    assert shared.share_prompts and not plain.share_prompts
    algo = ClippedPolicyGradient()
    for step in range(2):
        ms = [b.train_step(make_batch(n=8, seed=20 + step, share_prompts=4, advantages=(1.0, -1.0, 0.5, -0.5)),
                           algo, num_minibatches=2, recompute_logprobs=True) for b in (shared, plain)]
        for key in ("train/policy_loss", "train/ratio", "train/entropy_loss", "train/grad_norm"):
            assert ms[0][key] == pytest.approx(ms[1][key], abs=1e-5), key
    for a, b in zip(shared.model.parameters(), plain.model.parameters()):
        # AdamW divides by sqrt(v): on entries whose gradient is near 0, rounding-level gradient
        # differences become step differences of up to ~2e-5 after four updates; a wrong
        # gradient (a dropped or doubled row) moves weights by ~lr = 1e-3.
        assert torch.allclose(a, b, atol=1e-4), float((a - b).abs().max())
    batch = make_batch(n=8, seed=30, share_prompts=4)
    for x, y in zip(shared.compute_logprobs(batch)[0].to_list(), plain.compute_logprobs(batch)[0].to_list()):
        assert torch.allclose(x, y, atol=1e-5)


def test_shared_prompt_gradients_are_bitwise_repeatable_under_load(tiny_checkpoint, cpu_hog):
    """Groups of unequal size, so a thread's share of the KV-cache expansion ends inside a group:
    the backward of advanced indexing with repeated indices (``keys[index]``) adds the copies'
    gradients with atomic adds across threads and differs between repetitions under load (seen
    in 153 of 300 repetitions of the bare op); the expansion must give the same bits every time."""
    from rlinf_core import distinct_rows
    from rlinf_torch.prefix import shared_prompt_forward

    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # the atomic path needs several threads
    b = backend(tiny_checkpoint)
    g = torch.Generator().manual_seed(5)
    sizes = (15, 18, 15)  # 48 rows x 40 prompt tokens x 32 KV channels: above torch's parallel grain
    prompts = [p for n in sizes for p in [torch.randint(4, 200, (40,), generator=g)] * n]
    responses = [torch.randint(4, 200, (int(torch.randint(1, 7, (1,), generator=g)),), generator=g) for _ in prompts]
    params = list(b.model.parameters())
    first = None
    for _ in range(20):
        lp, _, _ = shared_prompt_forward(b.model, b.model, prompts, responses, distinct_rows(prompts), temperature=1.0,
                                         pad_id=b.pad_id, device=b.device, keeps_logits=b.keeps_logits)
        grads = torch.autograd.grad((lp * torch.linspace(-1, 1, len(lp))).sum(), params)
        if first is None:
            first = grads
        for g0, g1 in zip(first, grads):
            assert torch.equal(g0, g1), float((g0 - g1).abs().max())
    torch.set_num_threads(threads)
