"""``rlinf reward check``, run as a user would: in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def _rlinf(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = dict(os.environ, RLINF_PLUGINS="math")  # only this plugin: others may be mid-edit
    return subprocess.run(
        [sys.executable, "-m", "rlinf_core.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


@pytest.mark.parametrize(
    "response, golds, verdict, answer, why",
    [
        ("so $x = \\boxed{\\dfrac{1}{2}}$", ["0.5"], "correct", "\\dfrac{1}{2}", "equal as numbers"),
        ("The final answer is $\\sqrt{2}$.", ["1.414214"], "correct", "\\sqrt{2}", "equal as numbers"),
        ("The final answer is $(x+1)^2$.", ["x^2+2x+1"], "correct", "(x+1)^2", "math-verify"),
        ("\\boxed{10^{10^{10^{10}}}}", ["7"], "incorrect", "10^{10^{10^{10}}}", "exponent tower"),
        ("I am not sure.", ["7"], "incorrect", "-", "no final answer"),
    ],
)
def test_reward_check_prints_verdict_answers_and_why(response, golds, verdict, answer, why):
    out = _rlinf("reward", "check", response, *golds)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(":", 1) for line in out.stdout.splitlines() if ":" in line)
    assert lines["verdict"].strip() == verdict
    assert lines["answer"].strip().startswith(answer)
    assert why in lines["why"], out.stdout
    assert lines["gold 1"].strip() == golds[0]


def test_reward_check_json_stdin_and_several_golds():
    out = _rlinf("reward", "check", "--json", "-", "\\boxed{3}", "\\boxed{9}", stdin="so \\boxed{9}")
    assert out.returncode == 0, out.stderr
    verdict = json.loads(out.stdout)
    assert verdict["correct"] is True and verdict["golds"] == ["3", "9"] and verdict["answer"] == "9"


def test_reward_check_needs_a_gold():
    out = _rlinf("reward", "check", "\\boxed{1}")
    assert out.returncode == 2 and "GOLD" in out.stderr
