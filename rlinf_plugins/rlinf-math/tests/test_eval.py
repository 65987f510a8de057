"""`rlinf eval`: choice shuffling, benchmark files in their published layouts, prompts, and the
command on the tiny model against a direct computation."""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from rlinf_core.errors import ConfigError
from rlinf_math.benchmarks import Problem, load_benchmark, shuffled_choices

REPO = Path(__file__).resolve().parents[3]


def test_choice_shuffling_is_deterministic_and_balanced():
    p = Problem("q1", "choice", "Which?", "right", ["right", "w1", "w2", "w3"])
    assert shuffled_choices(p, 0, 3) == shuffled_choices(p, 0, 3)
    letters = Counter(shuffled_choices(p, 0, s)[1] for s in range(2000))
    assert set(letters) == {"A", "B", "C", "D"}
    assert all(400 <= n <= 600 for n in letters.values()), letters  # ~500 each
    choices, letter = shuffled_choices(p, 1, 0)
    assert choices["ABCD".index(letter)] == "right"


def test_benchmark_files_and_their_errors(tmp_path):
    bench = load_benchmark(str(REPO / "cookbook" / "math-tiny" / "benchmarks" / "add2-choice.jsonl"))
    assert bench.problems[0].kind == "choice" and bench.problems[0].answer == bench.problems[0].choices[0]
    math = load_benchmark(str(REPO / "cookbook" / "math-tiny" / "benchmarks" / "add2-math.jsonl"))
    assert len(math.problems) == 64 and math.problems[0].kind == "math"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem": "1+1", "answer": "2"}\n{"question": "q", "choices": ["a", "b"], "answer": "C"}\n')
    with pytest.raises(ConfigError, match=r"bad.jsonl, line 2: `answer` 'C' is neither"):
        load_benchmark(str(bad))
    bad.write_text('{"prompt": "x"}\n')  # a boba row without solutions
    with pytest.raises(ConfigError, match=r"line 1: expected a math row"):
        load_benchmark(str(bad))



def test_public_benchmark_layouts_load_from_jsonl_and_parquet(tmp_path):
    """AIME24/AIME25 (both spellings), GPQA's release and AReaL-boba rows, in either file format."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    layouts = {
        "aime24": [{"id": 60, "problem": "Find x.", "solution": "...", "answer": "204", "url": "u", "year": "2024"}],
        "aime25": [{"question": "Find y.", "answer": "70"}],
        "gpqa": [{"Record ID": "rec1", "Question": "Which?", "Correct Answer": " right ", "Incorrect Answer 1": "w1",
                  "Incorrect Answer 2": "w2", "Incorrect Answer 3": "w3", "Subdomain": "physics"}],
        "boba": [{"prompt": "<｜User｜>Find z.<｜Assistant｜><think>\n", "task": "math", "query_id": "q7",
                  "solutions": ["\\boxed{3}"]}],
    }
    expected = {
        "aime24": Problem("60", "math", "Find x.", "204"),
        "aime25": Problem("aime25.jsonl:1", "math", "Find y.", "70"),
        "gpqa": Problem("rec1", "choice", "Which?", "right", ["right", "w1", "w2", "w3"]),
        "boba": Problem("q7", "math", "<｜User｜>Find z.<｜Assistant｜><think>\n", "\\boxed{3}", formatted=True),
    }
    for name, rows in layouts.items():
        jsonl = tmp_path / f"{name}.jsonl"
        jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
        parquet = tmp_path / f"{name}.parquet"
        pq.write_table(pa.Table.from_pylist(rows), parquet)
        assert load_benchmark(str(jsonl)).problems == [expected[name]], name
        from_parquet = load_benchmark(str(parquet)).problems[0]
        assert (from_parquet.kind, from_parquet.text, from_parquet.answer) == (expected[name].kind, expected[name].text,
                                                                            expected[name].answer), name
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist([{"problem": "a", "answer": "1"}, {"problem": "b", "answer": None}]), bad)
    with pytest.raises(ConfigError, match=r"bad.parquet, row 2: expected a math row"):
        load_benchmark(str(bad))
    gpqa = tmp_path / "gpqa-bad.jsonl"
    gpqa.write_text(json.dumps({"Question": "q", "Correct Answer": "a", "Incorrect Answer 1": "b"}) + "\n")
    with pytest.raises(ConfigError, match=r"gpqa-bad.jsonl, line 1: a GPQA row needs"):
        load_benchmark(str(gpqa))

EXACT_REWARD = '''
from rlinf_core import Reward, RewardResult, hookimpl

class ExactText(Reward):
    """Correct iff the response equals a gold string exactly (a grader with no judgement of its own)."""
    def score(self, responses, answers):
        ok = [1.0 if r.strip() in [a.strip() for a in golds] else 0.0 for r, golds in zip(responses, answers)]
        return RewardResult(scores=ok, components={"correct": ok})

@hookimpl
def register_rewards(register):
    register("exact-text", ExactText)
'''


def direct_greedy(model_path, prompts, max_new_tokens):
    """Greedy continuations computed directly with transformers, one prompt at a time."""
    import torch
    from transformers import AutoModelForCausalLM

    from rlinf_core.models import load_tokenizer

    tok = load_tokenizer(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path).eval()
    out = []
    for text in prompts:
        ids = torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            gen = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=max_new_tokens,
                                 eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
        out.append(tok.decode(gen[0, ids.shape[1]:], skip_special_tokens=True))
    return out


def test_rlinf_eval_equals_a_direct_computation(tiny_checkpoint, tmp_path):
    from rlinf_core.models import load_tokenizer

    tok = load_tokenizer(tiny_checkpoint)
    questions = [f"What is {a} + {b}?" for a, b in [(12, 30), (45, 17), (8, 91), (33, 33), (70, 5), (61, 29)]]
    rendered = [tok.apply_chat_template([{"role": "user", "content": q}], add_generation_prompt=True, tokenize=False) for q in questions]
    expected = direct_greedy(tiny_checkpoint, rendered, 10)
    # Half the golds are the model's own greedy answers, half cannot match: avg@1 must be exactly 0.5.
    bench = tmp_path / "probe.jsonl"
    with open(bench, "w") as fh:
        for i, (q, resp) in enumerate(zip(questions, expected)):
            fh.write(json.dumps({"id": f"p{i}", "problem": q, "answer": resp if i % 2 == 0 else "\u2400never"}) + "\n")
    module = tmp_path / "exact_reward.py"
    module.write_text(EXACT_REWARD)
    out = tmp_path / "eval"
    proc = subprocess.run(
        [sys.executable, "-m", "rlinf_core.cli", "eval", "--model", tiny_checkpoint, "--benchmark", str(bench),
         "--benchmark", str(REPO / "cookbook" / "math-tiny" / "benchmarks" / "add2-choice.jsonl"),
         "--max-new-tokens", "10", "--reward", "exact-text", "--output", str(out), "--batch-size", "4"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "RLINF_PLUGIN_MODULES": str(module)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "probe" / "probe.summary.json").read_text())
    assert summary["avg@1"] == 0.5 and summary["pass@1"] == 0.5
    rows = [json.loads(line) for line in (out / "probe" / "probe.jsonl").read_text().splitlines()]
    assert [r["responses"][0]["response"] for r in rows] == expected  # batched, left-padded == one by one
    assert (out / "add2-choice" / "add2-choice.summary.json").exists()
    assert "probe" in proc.stdout and "50.0" in proc.stdout  # the printed table


def test_sampled_eval_reports_pass_at_k(tiny_checkpoint, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "rlinf_core.cli", "eval", "--model", tiny_checkpoint, "--benchmark",
         str(REPO / "cookbook" / "math-tiny" / "benchmarks" / "add2-math.jsonl"), "--samples", "4", "--temperature", "1.0",
         "--max-new-tokens", "6", "--output", str(tmp_path / "k4")],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "k4" / "add2-math" / "add2-math.summary.json").read_text())
    assert {"avg@4", "pass@1", "pass@2", "pass@4"} <= set(summary)
    assert summary["problems"] == 64 and summary["samples_per_s"] > 0
    rows = [json.loads(line) for line in (tmp_path / "k4" / "add2-math" / "add2-math.jsonl").read_text().splitlines()]
    assert all(r["samples"] == 4 for r in rows)


# -- multiple choice answered without a letter: the note ------------------------------------
def test_a_choice_letter_is_any_valid_capital_standing_alone():
    from rlinf_math.choices import names_a_choice

    for text in ["B", "The answer is (B).", "\\boxed{B}", "A) 110", "Answer: D."]:
        assert names_a_choice(text, 4), text
    for text in ["\\boxed{110}", "Bob adds 7 + 8 = 15, write 5.", "Answer: E", "", "b"]:
        assert not names_a_choice(text, 4), text


class _CharTokenizer:
    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [ord(c) for c in text]}


def _evaluate(answer: str, path: str):
    from rlinf_math.choices import no_letter_note
    from rlinf_core.evaluation.evaluator import EvalSettings

    from rlinf_math.bench_eval import evaluate_benchmark

    bench = load_benchmark(path)
    summary = evaluate_benchmark(
        bench, _CharTokenizer(), EvalSettings(samples=2), "raw",
        generate=lambda ids, sampling, seed: [answer] * len(ids),
        score=lambda texts, golds: [t.strip() in ("(" + g[0] + ")", g[0]) for t, g in zip(texts, golds)],
    )
    return summary, no_letter_note(summary, 2)


def test_eval_notes_a_choice_benchmark_where_no_response_names_a_letter():
    choice = str(REPO / "cookbook" / "math-tiny" / "benchmarks" / "add2-choice.jsonl")
    summary, note = _evaluate("7 + 8 = 15. \\boxed{110}", choice)  # what the math-tiny model writes
    assert (summary["choice_responses"], summary["choice_responses_naming_a_letter"], summary["avg@2"]) == (64, 0, 0.0)
    assert note.startswith("note: add2-choice: none of its 64 multiple-choice responses names a choice letter")
    assert "\n" not in note
    summary, note = _evaluate("(A)", choice)  # letters named (some right, most wrong after shuffling): no note
    assert summary["choice_responses_naming_a_letter"] == 64 and note is None
    summary, note = _evaluate("\\boxed{110}", str(REPO / "cookbook" / "math-tiny" / "benchmarks" / "add2-math.jsonl"))
    assert "choice_responses" not in summary and note is None  # math: letters are beside the point


CONSTANT_BACKEND = '''
import torch

from rlinf_core import Ragged, RolloutBackend, TrajectoryBatch, hookimpl


class Constant(RolloutBackend):
    """Answers every prompt with the same number, as the math-tiny model answers a choice question."""
    def load(self):
        pass

    def generate(self, request):
        n = len(request.prompt_uids) * request.group_size
        ids = Ragged.from_list([[1] for _ in range(n)])
        return TrajectoryBatch(
            prompt_ids=Ragged.from_list([[1] for _ in range(n)]), response_ids=ids,
            response_logprobs=Ragged.from_list([torch.zeros(1) for _ in range(n)]),
            group_ids=torch.arange(n), prompt_uids=[str(i) for i in range(n)], answers=[[""]] * n,
            truncated=torch.zeros(n, dtype=torch.bool), response_texts=["\\\\boxed{110}"] * n,
        )

    def update_weights(self, state_dict):
        pass


@hookimpl
def register_rollout_backends(register):
    register("constant-110", Constant)
'''


def test_rlinf_eval_prints_a_note_when_no_choice_letter_was_answered(tiny_checkpoint, tmp_path):
    module = tmp_path / "constant_backend.py"
    module.write_text(CONSTANT_BACKEND)
    bench = REPO / "cookbook" / "math-tiny" / "benchmarks"
    proc = subprocess.run(
        [sys.executable, "-m", "rlinf_core.cli", "eval", "--model", tiny_checkpoint, "--backend", "constant-110",
         "--benchmark", str(bench / "add2-choice.jsonl"), "--benchmark", str(bench / "add2-math.jsonl")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "RLINF_PLUGIN_MODULES": str(module)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    notes = [line for line in proc.stdout.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: add2-choice: none of its 32 multiple-choice responses names a choice letter, so none can match the "
        "gold letter (the model answers in another form; see docs/evaluation.md)."
    ], proc.stdout


def test_a_boba_prompt_is_used_as_it_is_whatever_the_prompt_format():
    from rlinf_core.evaluation.evaluator import EvalSettings

    from rlinf_math.bench_eval import benchmark_items
    from rlinf_math.benchmarks import Benchmark

    boba = Problem("q", "math", "<｜User｜>1+1?<｜Assistant｜><think>\n", "\\boxed{2}", formatted=True)
    plain = Problem("p", "math", "1+1?", "2")
    items = benchmark_items(Benchmark("b", "b.jsonl", [boba, plain]), _CharTokenizer(), EvalSettings(), "r1-math")
    texts = ["".join(map(chr, it.prompt_ids)) for it in items]
    assert texts[0] == boba.text and items[0].golds == ["\\boxed{2}"]
    assert texts[1].startswith("<｜begin▁of▁sentence｜><｜User｜>1+1?\nPlease reason step by step")


# -- converting other layouts -----------------------------------------------------------------
def test_convert_a_csv_and_a_json_list_into_benchmark_rows(tmp_path):
    from rlinf_math.convert import FieldMap, convert

    src = tmp_path / "gpqa.csv"
    src.write_text('Q,Right,W1,W2,key\n"Which, really?",yes,no,maybe,a1\nSecond?,4,5,6,a2\n')
    out = tmp_path / "gpqa.jsonl"
    assert convert(str(src), str(out), FieldMap("Q", "Right", "key", ["Right", "W1", "W2"])) == 2
    bench = load_benchmark(str(out))
    assert [(p.uid, p.kind, p.text, p.answer, p.choices) for p in bench.problems] == [
        ("a1", "choice", "Which, really?", "yes", ["yes", "no", "maybe"]),
        ("a2", "choice", "Second?", "4", ["4", "5", "6"]),
    ]
    math = tmp_path / "m.json"
    math.write_text(json.dumps([{"q": "1+1?", "sol": 2}, {"q": "2+2?", "sol": "4"}]))
    convert(str(math), str(tmp_path / "m.jsonl"), FieldMap("q", "sol"))
    assert [(p.uid, p.text, p.answer) for p in load_benchmark(str(tmp_path / "m.jsonl")).problems] == [
        ("1", "1+1?", "2"), ("2", "2+2?", "4")]


def test_convert_names_a_bad_row_and_writes_nothing(tmp_path):
    from rlinf_math.convert import FieldMap, convert

    src = tmp_path / "in.jsonl"
    src.write_text('{"q": "a?", "sol": "1"}\n{"q": "b?"}\n')
    out = tmp_path / "out.jsonl"
    with pytest.raises(ConfigError, match=r"in.jsonl, line 2: no value in field 'sol'. Its fields are: q"):
        convert(str(src), str(out), FieldMap("q", "sol"))
    assert not out.exists() and not (tmp_path / "out.jsonl.partial").exists()
    src.write_text('{"q": "a?", "sol": "1", "id": "x"}\n{"q": "b?", "sol": "2", "id": "x"}\n')
    with pytest.raises(ConfigError, match="ids repeat"):
        convert(str(src), str(out), FieldMap("q", "sol", "id"))
    out.write_text("")
    with pytest.raises(ConfigError, match="exists"):
        convert(str(src), str(out), FieldMap("q", "sol"))


def test_rlinf_benchmark_convert_through_the_cli(tmp_path):
    src = tmp_path / "aime.jsonl"
    src.write_text(json.dumps({"Question": "What is 1+1?", "Solution": "2", "No": 7}) + "\n")
    out = tmp_path / "aime-ours.jsonl"
    env = {**os.environ, "RLINF_PLUGINS": "math"}
    proc = subprocess.run(
        [sys.executable, "-m", "rlinf_core.cli", "benchmark", "convert", str(src), str(out), "--problem", "Question",
         "--answer", "Solution", "--id", "No"], capture_output=True, text=True, timeout=180, env=env,
    )
    assert proc.returncode == 0 and "wrote 1 math rows" in proc.stdout, proc.stderr
    assert json.loads(out.read_text()) == {"id": "7", "problem": "What is 1+1?", "answer": "2"}
    again = subprocess.run(
        [sys.executable, "-m", "rlinf_core.cli", "benchmark", "convert", str(src), str(out), "--problem", "Question",
         "--answer", "Solution"], capture_output=True, text=True, timeout=180, env=env,
    )
    assert again.returncode == 2 and "exists" in again.stderr
