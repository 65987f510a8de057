"""The math task: reading jsonl/parquet, prompt formats, validation errors and batching."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlinf_core import ConfigError, Example
from rlinf_math.task import MathDataConfig, MathTask

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIALS = ["[UNK]", "<|pad|>", "<|im_start|>", "<|im_end|>", "<｜User｜>", "<｜Assistant｜>", "<think>"]


def _make_tokenizer(chat_template: Any) -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)]
    )
    corpus = ["what is 1 + 2 ?", "compute the sum of 3 and 4", "user assistant system", "a b c d e f g h"]
    tok.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=SPECIALS))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="<|pad|>",
        additional_special_tokens=SPECIALS[2:],
    )
    fast.chat_template = chat_template
    return fast


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return _make_tokenizer(CHAT_TEMPLATE)


@pytest.fixture(scope="module")
def plain_tokenizer() -> Any:
    return _make_tokenizer(None)


def _row(i: int, **extra: Any) -> Dict[str, Any]:
    row = {
        "prompt": f"<｜User｜>what is {i} + 2 ?<｜Assistant｜><think>\n",
        "task": "math",
        "query_id": f"q{i}",
        "solutions": [f"\\boxed{{{i + 2}}}"],
    }
    row.update(extra)
    return row


def _jsonl(path: Path, rows: List[Any]) -> str:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _task(tokenizer: Any, **overrides: Any) -> MathTask:
    return MathTask(MathDataConfig(**overrides), tokenizer)


def test_jsonl_areal_boba_rows(tmp_path, tokenizer):
    path = _jsonl(tmp_path / "train.jsonl", [_row(1), _row(2)])
    task = _task(tokenizer, train_data_paths=[path])
    examples = task.load([path])
    assert [e.uid for e in examples] == ["q1", "q2"]
    assert examples[0].answers == ["\\boxed{3}"]  # kept as given: the reward extracts
    expected = tokenizer("<｜User｜>what is 1 + 2 ?<｜Assistant｜><think>\n", add_special_tokens=False)["input_ids"]
    assert examples[0].prompt_ids == expected
    assert tokenizer.convert_ids_to_tokens(expected)[:2] == ["<｜User｜>", "what"]
    assert task.stats == {"dropped_too_long": 0, "skipped_invalid": 0}


def test_parquet_rows_and_uid_fallback(tmp_path, tokenizer):
    rows = [_row(1), _row(2)]
    for r in rows:
        del r["query_id"]
    path = tmp_path / "data.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    examples = _task(tokenizer).load([str(path)])
    assert [e.uid for e in examples] == ["data.parquet:1", "data.parquet:2"]
    assert examples[1].answers == ["\\boxed{4}"]


def test_prompt_and_answer_keys_and_string_answer(tmp_path, tokenizer):
    rows = [{"question": "what is 1 + 2 ?", "answer": "3"}, {"question": "a b", "answer": ["1", "\\frac{2}{2}"]}]
    path = _jsonl(tmp_path / "custom.jsonl", rows)
    examples = _task(tokenizer, prompt_key="question", answer_key="answer").load([path])
    assert examples[0].answers == ["3"]  # a string becomes a list of one
    assert examples[1].answers == ["1", "\\frac{2}{2}"]
    assert examples[0].uid == "custom.jsonl:1"


def test_chat_template_on(tmp_path, tokenizer):
    messages = [{"role": "system", "content": "a b"}, {"role": "user", "content": "what is 1 + 2 ?"}]
    path = _jsonl(tmp_path / "chat.jsonl", [{"messages": messages, "solutions": "3"}])
    examples = _task(tokenizer, prompt_key="messages", apply_chat_template=True).load([path])
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert text.endswith("<|im_start|>assistant\n")
    assert examples[0].prompt_ids == tokenizer(text, add_special_tokens=False)["input_ids"]
    tokens = tokenizer.convert_ids_to_tokens(examples[0].prompt_ids)
    assert tokens[0] == "<|im_start|>" and tokens[-2:] == ["<|im_start|>", "assistant"]


def test_chat_template_off_rejects_messages_with_hint(tmp_path, tokenizer):
    path = _jsonl(tmp_path / "chat.jsonl", [{"prompt": [{"role": "user", "content": "a"}], "solutions": "1"}])
    with pytest.raises(ConfigError, match="apply_chat_template: true"):
        _task(tokenizer).load([path])


def test_chat_template_on_rejects_string_prompt(tmp_path, tokenizer):
    path = _jsonl(tmp_path / "train.jsonl", [_row(1)])
    with pytest.raises(ConfigError, match=r"line 1.*list of chat messages"):
        _task(tokenizer, apply_chat_template=True).load([path])


def test_no_chat_template_is_a_config_error(tmp_path, plain_tokenizer):
    path = _jsonl(tmp_path / "chat.jsonl", [{"prompt": [{"role": "user", "content": "a"}], "solutions": "1"}])
    with pytest.raises(ConfigError, match="no chat template"):
        _task(plain_tokenizer, apply_chat_template=True).load([path])


def test_too_long_prompts_dropped_and_counted(tmp_path, tokenizer):
    long_row = _row(9, prompt="a b c d e f g h " * 10)
    path = _jsonl(tmp_path / "train.jsonl", [_row(1), long_row, _row(2)])
    task = _task(tokenizer, max_prompt_length=20)
    examples = task.load([path])
    assert [e.uid for e in examples] == ["q1", "q2"]
    assert task.stats["dropped_too_long"] == 1


def test_all_dropped_is_an_error(tmp_path, tokenizer):
    path = _jsonl(tmp_path / "train.jsonl", [_row(1)])
    with pytest.raises(ConfigError, match="max_prompt_length"):
        _task(tokenizer, max_prompt_length=2).load([path])


@pytest.mark.parametrize(
    "bad, needle",
    [
        ('{"prompt": "a", "solutions": ["1"]', "not valid JSON"),
        (json.dumps({"solutions": ["1"]}), r"no field 'prompt' \(data.prompt_key\)"),
        (json.dumps({"prompt": "a"}), r"no field 'solutions' \(data.answer_key\)"),
        (json.dumps({"prompt": 5, "solutions": ["1"]}), r"'prompt' \(data.prompt_key\) is an int"),
        (json.dumps({"prompt": "a", "solutions": [1, 2]}), r"'solutions' \(data.answer_key\) is a list holding int"),
        (json.dumps({"prompt": "a", "solutions": 7}), r"'solutions' \(data.answer_key\) is an int"),
        (json.dumps([1, 2]), "not an object"),
    ],
)
def test_invalid_rows_name_file_line_and_fix(tmp_path, tokenizer, bad, needle):
    path = _jsonl(tmp_path / "bad.jsonl", [_row(1), "", bad, _row(3)])  # blank line 2 is ignored
    task = _task(tokenizer, train_data_paths=[path])
    with pytest.raises(ConfigError) as err:
        task.load([path])
    message = str(err.value)
    assert f"{path} line 3" in message
    assert "data.skip_invalid" in message
    assert re.search(needle, message), message


def test_invalid_parquet_row_names_the_row(tmp_path, tokenizer):
    path = tmp_path / "bad.parquet"
    rows = [{"prompt": "a", "solutions": ["1"]}, {"prompt": "", "solutions": ["1"]}]
    pq.write_table(pa.Table.from_pylist(rows), path)
    with pytest.raises(ConfigError, match=r"bad.parquet row 2.*empty string"):
        _task(tokenizer).load([str(path)])


def test_skip_invalid_counts(tmp_path, tokenizer):
    rows = [_row(1), "{not json", {"prompt": "a"}, {"prompt": 3, "solutions": "1"}, _row(2)]
    path = _jsonl(tmp_path / "mixed.jsonl", rows)
    task = _task(tokenizer, skip_invalid=True)
    examples = task.load([path])
    assert [e.uid for e in examples] == ["q1", "q2"]
    assert task.stats["skipped_invalid"] == 3


def test_missing_file_names_field(tmp_path, tokenizer):
    missing = str(tmp_path / "nope.jsonl")
    with pytest.raises(ConfigError, match=r"nope.jsonl.*data.val_data_paths.*does not exist"):
        _task(tokenizer, val_data_paths=[missing]).load([missing])
    with pytest.raises(ConfigError, match="unsupported extension"):
        _task(tokenizer).load([str(tmp_path / "data.csv")])
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(ConfigError, match="broken.parquet.*cannot be read"):
        _task(tokenizer).load([str(broken)])
    with pytest.raises(ConfigError, match="data.train_data_paths"):
        _task(tokenizer).load([])


def _examples(n: int) -> List[Example]:
    return [Example(uid=str(i), prompt_ids=[i], answers=[str(i)]) for i in range(n)]


def test_batches_seeded_per_epoch_and_drop_last(tokenizer):
    task = _task(tokenizer)
    examples = _examples(10)
    epoch0 = [[e.uid for e in b] for b in task.batches(examples, 3, seed=7, epoch=0)]
    assert len(epoch0) == 3 and all(len(b) == 3 for b in epoch0)  # 10 // 3, the partial batch dropped
    assert epoch0 == [[e.uid for e in b] for b in task.batches(examples, 3, seed=7, epoch=0)]
    epoch1 = [[e.uid for e in b] for b in task.batches(examples, 3, seed=7, epoch=1)]
    assert epoch1 != epoch0
    other_seed = [[e.uid for e in b] for b in task.batches(examples, 3, seed=8, epoch=0)]
    assert other_seed != epoch0
    flat = [u for b in epoch0 for u in b]
    assert len(set(flat)) == 9


def test_batches_file_order_without_shuffle(tokenizer):
    task = _task(tokenizer, shuffle=False)
    batches = [[e.uid for e in b] for b in task.batches(_examples(5), 2, seed=1, epoch=3)]
    assert batches == [["0", "1"], ["2", "3"]]
    assert list(task.batches(_examples(1), 2, seed=1, epoch=0)) == []


def test_benchmark_layout_rows_load_as_rlinf_eval_renders_them(tmp_path, tokenizer):
    """AIME24/AIME25 rows (no `prompt` field) in data.*_paths: the r1-math prompt `rlinf eval`
    uses, or the chat template with data.apply_chat_template; a GPQA row in r1-gpqa with its letter."""
    from rlinf_math.prompts import render

    path = _jsonl(tmp_path / "aime.jsonl", [{"id": 60, "problem": "what is 1 + 2 ?", "answer": "3"},
                                            {"question": "a b", "answer": 7}])
    examples = _task(tokenizer).load([path])
    assert [(e.uid, e.answers) for e in examples] == [("60", ["3"]), ("aime.jsonl:2", ["7"])]
    r1 = render("r1-math", "what is 1 + 2 ?", tokenizer)
    assert r1.startswith("<｜begin▁of▁sentence｜><｜User｜>what is 1 + 2 ?\nPlease reason step by step")
    assert examples[0].prompt_ids == tokenizer(r1, add_special_tokens=False)["input_ids"]
    chat = _task(tokenizer, apply_chat_template=True).load([path])
    assert chat[0].prompt_ids == tokenizer(render("chat", "what is 1 + 2 ?", tokenizer), add_special_tokens=False)["input_ids"]
    from rlinf_math.benchmarks import read_problem, shuffled_choices

    gpqa_row = {"Record ID": "rec7", "Question": "a", "Correct Answer": "b", "Incorrect Answer 1": "c",
                "Incorrect Answer 2": "d", "Incorrect Answer 3": "e"}
    gpqa = _jsonl(tmp_path / "gpqa.jsonl", [{"id": 1, "problem": "a b", "answer": "2"}, gpqa_row])
    loaded = _task(tokenizer).load([gpqa])
    choices, letter = shuffled_choices(read_problem(gpqa_row, "rec7", "here"), 0, 0)
    assert (loaded[1].uid, loaded[1].answers) == ("rec7", [letter]) and choices[ord(letter) - 65] == "b"
    assert loaded[1].prompt_ids == tokenizer(render("r1-gpqa", "a", tokenizer, choices), add_special_tokens=False)["input_ids"]
