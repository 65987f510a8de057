"""Benchmark the rlinf-math grader against math-verify used directly, on the same corpus.

    python benchmarks/grader.py [--speed-only] [--mix-n 5000] [--load 4] [--throughput-n 5000] [--latency-n 1000] [--hang-s 10]

Measures, in one run:

0. **Speed of a documented mix** (:func:`mixed_answers`: 65% integers/fractions/decimals,
   20% short expressions, 10% answers that need sympy, 5% no answer; the typical answers are
   the same without the sympy ones), through a fresh ``MathGrader`` with the reward's
   defaults: verdicts/s in batches of 128 (a GRPO step's worth), single-call p50/p99/max
   latency, and the hostile suite's max latency; once on a quiet machine and once with
   ``--load`` busy-loop processes beside it (``--speed-only`` stops there).
1. **Accuracy** on the labelled corpus (rlinf_plugins/rlinf-math/tests/corpus/corpus.jsonl):
   (a) rlinf's batch API (``MathGrader.grade``, the reward's defaults: 2 grader processes,
   1.5 s deadline) and (b) math-verify used directly as its README shows (``parse(gold)``,
   ``parse(response)``, ``verify(gold, answer)``, any gold matching), with the corpus's gold
   strings as stored (bare LaTeX, ``$...$``, boxed, or whole worked solutions). Accuracy,
   false positives (graded correct, labelled wrong) and false negatives. (b') repeats (b)
   with bare golds wrapped in ``$...$`` (as the README's examples write them), to separate
   what gold parsing costs math-verify from the rest.
2. **Hostile suite** (tests/corpus/hostile.jsonl): the max wall-clock latency per verdict,
   wrong verdicts, crashes (exceptions or grader errors) and side effects (files appearing
   in the working directory, which is a fresh temporary directory). math-verify used
   directly can hang on these inputs, so (b) runs in a subprocess, one input at a time, and
   an input with no verdict after ``--hang-s`` seconds is killed and counted as a hang.
   (b) also runs on the corpus in that watchdog subprocess (its own timeouts use
   ``signal.alarm``, which works there: it is the worker's main thread).
3. **Throughput** of ordinary answers (integers, fractions, decimals against fractions, in
   worked responses; about a third wrong) through the batch API in batches of 256, and
   p50/p99 latency of single-verdict calls; the same for distinct LaTeX answers (roots, pi,
   tuples and decimals against roots, which rlinf decides in-process, and intervals,
   equations and polynomials, 3/8, which need a grader process; the latency calls use
   answers not graded before, so no cached verdict helps); math-verify direct on both sets
   (its own per-verdict time, one process).

Prints numbers and never asserts them; run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from rlinf_math.corpus_cases import case_golds, case_response, load_cases

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "rlinf_plugins" / "rlinf-math" / "tests" / "corpus"


# ----------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------
def dollar_wrapped(gold: str) -> str:
    """A bare gold wrapped as inline math, as math-verify's README writes its golds."""
    if any(mark in gold for mark in ("$", "\\boxed", "\\(", "\\[")):
        return gold
    return "$" + gold + "$"


def ordinary_answers(n: int, seed: int = 0) -> Tuple[List[str], List[List[str]]]:
    """Worked responses ending in an integer or fraction answer, about a third of them wrong."""
    rng = random.Random(seed)
    responses, golds = [], []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            value = rng.randint(-500, 5000)
            gold, answer = str(value), str(value if rng.random() < 0.67 else value + rng.randint(1, 9))
        elif kind == 1:
            a, b = rng.randint(1, 99), rng.randint(2, 99)
            gold = f"\\frac{{{a}}}{{{b}}}"
            k = rng.randint(1, 4) if rng.random() < 0.67 else 1
            answer = f"\\dfrac{{{a * k}}}{{{b * k + (0 if rng.random() < 0.67 else 1)}}}"
        elif kind == 2:
            a, b = rng.choice([(1, 2), (3, 4), (1, 8), (5, 4), (7, 20), (3, 5)])
            gold = f"\\frac{{{a}}}{{{b}}}"
            answer = repr(a / b) if rng.random() < 0.67 else repr(round(a / b + 0.1, 3))
        else:
            value = rng.randint(1000, 999999)
            gold = str(value)
            answer = f"{value:,}" if rng.random() < 0.67 else f"{value + 10:,}"
        steps = " ".join(f"Step {j}: we simplify term {j} and carry the result." for j in range(rng.randint(3, 12)))
        responses.append(f"{steps} Therefore the answer is $\\boxed{{{answer}}}$.")
        golds.append([gold])
    return responses, golds


SHORT_EXPRESSIONS = (0, 1, 2, 4, 7)  # latex_answers kinds decided without sympy (rlinf_math.fastexpr)
NEED_SYMPY = (3, 5, 6)  # intervals against inequalities, equations, polynomials


def latex_answers(n: int, seed: int = 1, kinds: Sequence[int] = tuple(range(8))) -> Tuple[List[str], List[List[str]], List[bool]]:
    """Distinct LaTeX answers: roots, pi, tuples, decimals against roots (short expressions),
    intervals, equations, polynomials (these need sympy); about a third wrong. Distinct, so
    batch deduplication does not help."""
    rng = random.Random(seed)
    makers = [
        lambda k: (f"{k}\\sqrt{{2}}", f"\\sqrt{{{2 * k * k}}}"),
        lambda k: (f"\\frac{{\\sqrt{{{k}}}}}{{2}}", f"\\frac{{1}}{{2}}\\sqrt{{{k}}}"),
        lambda k: (f"\\frac{{{k}\\pi}}{{3}}", f"{k}\\pi/3"),
        lambda k: (f"x \\ge {k}", f"[{k},\\infty)"),
        lambda k: (f"(1,\\frac{{{2 * k + 1}}}{{2}})", f"(1,{k + 0.5})"),
        lambda k: (f"y={k}x+1", f"{k}x-y+1=0"),
        lambda k: (f"(x+{k})^2", f"x^2+{2 * k}x+{k * k}"),
        lambda k: (f"{(2 ** 0.5) * k:.6f}", f"{k}\\sqrt{{2}}"),
    ]
    responses, golds, expected = [], [], []
    for i in range(n):
        k = rng.randint(2, 999)
        make = makers[kinds[i % len(kinds)]]
        answer, gold = make(k)
        right = rng.random() >= 0.33
        if not right:
            answer, _ = make(k + 1)
        responses.append(f"Working through it, the result is $\\boxed{{{answer}}}$.")
        golds.append([gold])
        expected.append(right)
    return responses, golds, expected


# ----------------------------------------------------------------------------------------
# math-verify used directly, in a watchdog subprocess
# ----------------------------------------------------------------------------------------
def mv_worker(cases_path: str, start: int) -> None:
    """Grade cases[start:] with math-verify as its README shows; one JSON line per case."""
    import logging

    logging.disable(logging.CRITICAL)  # it logs whole inputs on timeouts
    from math_verify import parse, verify

    cases = load_cases(Path(cases_path))
    print(json.dumps({"ready": True}), flush=True)
    for i in range(start, len(cases)):
        case = cases[i]
        t0 = time.perf_counter()
        try:
            answer = parse(case["response"])
            ok = any(verify(parse(g), answer) for g in case["golds"])
            err = None
        except BaseException as exc:  # a crash of the direct use, reported as such
            ok, err = False, type(exc).__name__
        print(json.dumps({"i": i, "ok": bool(ok), "s": time.perf_counter() - t0, "err": err}), flush=True)


def run_mv_direct(cases: Sequence[Dict[str, Any]], hang_s: float, cwd: str) -> List[Dict[str, Any]]:
    """math-verify direct on each case, killing the worker on a hang and resuming after it."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps({"response": c["response"], "golds": c["golds"]}) + "\n")
        path = f.name
    results: List[Optional[Dict[str, Any]]] = [None] * len(cases)
    start = 0
    try:
        while start < len(cases):
            proc = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--mv-worker", path, str(start)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=cwd,
            )
            assert proc.stdout is not None
            ready = select.select([proc.stdout], [], [], 300)[0]
            if not ready or not json.loads(proc.stdout.readline()).get("ready"):
                proc.kill()
                raise RuntimeError("math-verify worker did not start")
            while start < len(cases):
                t0 = time.perf_counter()
                ready = select.select([proc.stdout], [], [], hang_s)[0]
                line = proc.stdout.readline() if ready else ""
                if not line:
                    proc.kill()
                    proc.wait()
                    results[start] = {"ok": False, "s": time.perf_counter() - t0, "err": "hang", "hang": True}
                    start += 1
                    break
                r = json.loads(line)
                results[r["i"]] = r
                start = r["i"] + 1
            else:
                proc.wait(timeout=30)
    finally:
        os.unlink(path)
    return [r if r is not None else {"ok": False, "s": 0.0, "err": "missing"} for r in results]


# ----------------------------------------------------------------------------------------
# Measurements
# ----------------------------------------------------------------------------------------
def score(expected: Sequence[bool], got: Sequence[bool]) -> Dict[str, Any]:
    fp = sum(1 for e, g in zip(expected, got) if g and not e)
    fn = sum(1 for e, g in zip(expected, got) if e and not g)
    n = len(expected)
    return {"n": n, "accuracy": (n - fp - fn) / n, "fp": fp, "fn": fn}


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def measure_throughput(grader: Any, responses: List[str], golds: List[List[str]], batch: int = 256) -> float:
    start = time.perf_counter()
    for i in range(0, len(responses), batch):
        grader.grade(responses[i : i + batch], golds[i : i + batch])
    return len(responses) / (time.perf_counter() - start)


def measure_latency(grader: Any, responses: List[str], golds: List[List[str]]) -> List[float]:
    times = []
    for r, g in zip(responses, golds):
        t0 = time.perf_counter()
        grader.grade([r], [g])
        times.append(time.perf_counter() - t0)
    return times


def mixed_answers(n: int, seed: int = 2, sympy_share: float = 0.10) -> Tuple[List[str], List[List[str]]]:
    """The documented mix, shuffled: ordinary answers (integers, fractions, decimals, thousands
    separators; 65%), short expressions (roots, pi, tuples, decimals against roots; 20%),
    answers that need sympy (intervals against inequalities, equations, polynomials;
    ``sympy_share``, 10% by default) and responses with no final answer (5%); about a third
    of the answers wrong. ``sympy_share=0`` is the typical-answers set of the issue."""
    rng = random.Random(seed)
    n_short, n_sympy, n_none = int(0.20 * n), int(sympy_share * n), int(0.05 * n)
    responses, golds = ordinary_answers(n - n_short - n_sympy - n_none, seed)
    sresp, sgolds, _ = latex_answers(n_short, seed + 1, SHORT_EXPRESSIONS)
    lresp, lgolds, _ = latex_answers(n_sympy, seed + 2, NEED_SYMPY)
    none = [f"Step 1: we set up the sum. Step 2: the terms telescope to {rng.randint(2, 99)} and" for _ in range(n_none)]
    pairs = list(zip(responses + sresp + lresp + none, golds + sgolds + lgolds + [["7"]] * n_none))
    rng.shuffle(pairs)
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _hog() -> None:
    while True:
        pass


def speed(grader_factory: Any, n: int, latency_n: int, load: int) -> Dict[str, Any]:
    """Verdicts/s in GRPO-sized batches of 128 (typical answers, and the mix with 10% sympy
    answers) and single-call p50/p99/max latency on the mix, with ``load`` busy-looping
    processes beside it; a fresh grader per measurement, so nothing is cached."""
    import multiprocessing

    hogs = [multiprocessing.Process(target=_hog, daemon=True) for _ in range(load)]
    for h in hogs:
        h.start()
    out: Dict[str, Any] = {"load_processes": load, "n": n, "latency_n": latency_n}
    try:
        with grader_factory() as grader:
            out["typical_per_s"] = measure_throughput(grader, *mixed_answers(n, sympy_share=0.0), batch=128)
            out["typical_started_processes"] = grader.pool.stats["started"]
        with grader_factory() as grader:
            grader.grade(["\\boxed{x+1}"], [["1+x"]])  # wait for the grader processes to be up
            out["mix_per_s"] = measure_throughput(grader, *mixed_answers(n), batch=128)
            lat = measure_latency(grader, *mixed_answers(latency_n, seed=3))
            hostile = load_cases(CORPUS_DIR / "hostile.jsonl")
            hostile_lat = measure_latency(grader, [case_response(c) for c in hostile], [[c["gold"]] for c in hostile])
            out.update(grader_process_verdicts=grader.pool.stats["verdicts"], timeouts=grader.pool.stats["timeouts"])
    finally:
        for h in hogs:
            h.kill()
    out.update(
        p50_ms=1000 * percentile(lat, 50), p99_ms=1000 * percentile(lat, 99), max_ms=1000 * max(lat),
        hostile_max_s=max(hostile_lat), hostile_over_2s=sum(1 for t in hostile_lat if t > 2.0),
    )
    return out


def print_speed(rows: Sequence[Dict[str, Any]]) -> None:
    print("| machine | typical answers: verdicts/s (grader processes started) | mix with 10% sympy: verdicts/s | mix: p50 / p99 / max latency, single call | hostile: max, over 2 s | timeouts |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        state = "quiet" if not r["load_processes"] else f"{r['load_processes']} busy-loop processes beside it"
        print(
            f"| {state} | {r['typical_per_s']:,.0f} ({r['typical_started_processes']}) | {r['mix_per_s']:,.0f} | "
            f"{r['p50_ms']:.2f} / {r['p99_ms']:.1f} / {r['max_ms']:.0f} ms | "
            f"{r['hostile_max_s']:.2f} s, {r['hostile_over_2s']} | {r['timeouts']} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--throughput-n", type=int, default=5000, help="ordinary answers for the throughput run")
    parser.add_argument("--latency-n", type=int, default=1000, help="single-verdict calls for p50/p99")
    parser.add_argument("--hang-s", type=float, default=10.0, help="math-verify direct: a case with no verdict after this is a hang")
    parser.add_argument("--json", action="store_true", help="also print all numbers as one JSON object")
    parser.add_argument("--speed-only", action="store_true", help="only the speed of the documented mix, quiet and loaded")
    parser.add_argument("--mix-n", type=int, default=5000, help="answers of the mix for verdicts/s")
    parser.add_argument("--load", type=int, default=4, help="busy-loop processes for the loaded measurement")
    args = parser.parse_args()

    from rlinf_math import MathGrader

    rows = [speed(MathGrader, args.mix_n, args.latency_n, load) for load in (0, args.load)]
    print(f"documented mix ({args.mix_n} answers; rlinf_math defaults: 2 grader processes, deadline per verdict)\n")
    print_speed(rows)
    if args.speed_only:
        if args.json:
            print(json.dumps({"speed": rows}, indent=1))
        return

    out: Dict[str, Any] = {}
    corpus = load_cases(CORPUS_DIR / "corpus.jsonl")
    hostile = load_cases(CORPUS_DIR / "hostile.jsonl")
    expected = [c["expected"] for c in corpus]
    workdir = tempfile.mkdtemp(prefix="rlinf-grader-bench-")
    os.chdir(workdir)  # grader processes and the math-verify worker inherit it: side effects show up here

    # 1. Corpus accuracy.
    with MathGrader(num_workers=2) as grader:
        grader.grade(["\\boxed{x+1}"], [["1+x"]])  # start the grader processes (this one needs sympy)
        t0 = time.perf_counter()
        grades = grader.grade([c["response"] for c in corpus], [c["gold"] for c in corpus])
        out["rlinf_corpus"] = dict(score(expected, grades.correct), seconds=time.perf_counter() - t0)
        out["rlinf_corpus"]["counts"] = grades.counts
        out["rlinf_corpus"]["timeouts"] = [c["id"] for c, v in zip(corpus, grades.verdicts) if v.reason == "timeout"]

        # 2. Hostile suite, one verdict per call.
        hostile_times, hostile_wrong, hostile_errors = [], [], 0
        for case in hostile:
            t0 = time.perf_counter()
            try:
                v = grader.grade([case_response(case)], [case["gold"]]).verdicts[0]
                hostile_errors += v.reason == "grader_error"
                if v.correct != case["expected"]:
                    hostile_wrong.append(case["name"])
            except Exception as exc:  # counted as a crash
                hostile_errors += 1
                hostile_wrong.append(f"{case['name']} ({type(exc).__name__})")
            hostile_times.append(time.perf_counter() - t0)
        out["rlinf_hostile"] = {
            "n": len(hostile), "max_s": max(hostile_times), "p50_s": percentile(hostile_times, 50),
            "wrong": hostile_wrong, "crashes": hostile_errors, "over_2s": sum(1 for t in hostile_times if t > 2.0),
        }

        # 3. Throughput and latency through the batch API.
        responses, golds = ordinary_answers(args.throughput_n)
        out["rlinf_ordinary"] = {"n": len(responses), "verdicts_per_s": measure_throughput(grader, responses, golds)}
        lat = measure_latency(grader, responses[: args.latency_n], golds[: args.latency_n])
        out["rlinf_ordinary"].update(p50_ms=1000 * percentile(lat, 50), p99_ms=1000 * percentile(lat, 99))
        lresp, lgolds, lexpected = latex_answers(600)
        out["rlinf_latex"] = {"n": len(lresp), "verdicts_per_s": measure_throughput(grader, lresp, lgolds)}
        out["rlinf_latex"]["accuracy"] = score(lexpected, grader.grade(lresp, lgolds).correct)["accuracy"]
        lresp2, lgolds2, _ = latex_answers(200, seed=7)  # not graded above: no cached verdicts
        lat = measure_latency(grader, lresp2, lgolds2)
        out["rlinf_latex"].update(p50_ms=1000 * percentile(lat, 50), p99_ms=1000 * percentile(lat, 99))
    out["rlinf_side_effects"] = sorted(os.listdir(workdir))

    # (b) math-verify used directly: corpus and hostile suite in watchdog subprocesses.
    mv_cases = [{"response": c["response"], "golds": case_golds(c)} for c in corpus]
    t0 = time.perf_counter()
    mv = run_mv_direct(mv_cases, args.hang_s, workdir)
    out["mv_corpus"] = dict(score(expected, [r["ok"] for r in mv]), seconds=time.perf_counter() - t0)
    out["mv_corpus"]["hangs"] = sum(1 for r in mv if r.get("hang"))
    out["mv_corpus"]["crashes"] = sum(1 for r in mv if r.get("err") not in (None, "hang"))
    # (b') the same with bare golds wrapped in $...$, to separate gold parsing from the rest.
    mvw = run_mv_direct([{"response": c["response"], "golds": [dollar_wrapped(g) for g in case_golds(c)]} for c in corpus], args.hang_s, workdir)
    out["mv_wrapped_corpus"] = dict(score(expected, [r["ok"] for r in mvw]), hangs=sum(1 for r in mvw if r.get("hang")))
    mh = run_mv_direct([{"response": case_response(c), "golds": [c["gold"]]} for c in hostile], args.hang_s, workdir)
    out["mv_hostile"] = {
        "n": len(hostile),
        "max_s": max(r["s"] for r in mh),
        "hangs": [c["name"] for c, r in zip(hostile, mh) if r.get("hang")],
        "over_2s": sum(1 for r in mh if r["s"] > 2.0),
        "crashes": sum(1 for r in mh if r.get("err") not in (None, "hang")),
        "wrong": [c["name"] for c, r in zip(hostile, mh) if r["ok"] != c["expected"] and not r.get("hang")],
    }
    mv_lat = run_mv_direct(
        [{"response": r, "golds": g} for r, g in zip(*ordinary_answers(args.latency_n))], args.hang_s, workdir
    )
    times = [r["s"] for r in mv_lat]
    out["mv_ordinary"] = {
        "n": len(times), "verdicts_per_s": len(times) / sum(times),
        "p50_ms": 1000 * percentile(times, 50), "p99_ms": 1000 * percentile(times, 99),
    }
    lresp, lgolds, lexpected = latex_answers(600)
    mv_lat = run_mv_direct([{"response": r, "golds": g} for r, g in zip(lresp, lgolds)], args.hang_s, workdir)
    times = [r["s"] for r in mv_lat]
    out["mv_latex"] = {
        "n": len(times), "verdicts_per_s": len(times) / sum(times),
        "p50_ms": 1000 * percentile(times, 50), "p99_ms": 1000 * percentile(times, 99),
        "accuracy": score(lexpected, [r["ok"] for r in mv_lat])["accuracy"],
    }
    out["side_effects"] = sorted(os.listdir(workdir))

    rc, mc, mw = out["rlinf_corpus"], out["mv_corpus"], out["mv_wrapped_corpus"]
    rh, mh_ = out["rlinf_hostile"], out["mv_hostile"]
    ro, rl, mo, ml = out["rlinf_ordinary"], out["rlinf_latex"], out["mv_ordinary"], out["mv_latex"]
    print(f"corpus: {rc['n']} labelled cases; hostile suite: {rh['n']} inputs\n")
    print("| | rlinf-math (batch API) | math-verify direct |")
    print("|---|---|---|")
    print(f"| corpus accuracy | {100 * rc['accuracy']:.1f}% | {100 * mc['accuracy']:.1f}% (bare golds in $...$: {100 * mw['accuracy']:.1f}%) |")
    print(f"| false positives | {rc['fp']} | {mc['fp']} (wrapped: {mw['fp']}) |")
    print(f"| false negatives | {rc['fn']} | {mc['fn']} (wrapped: {mw['fn']}) |")
    print(f"| corpus wall time | {rc['seconds']:.1f} s | {mc['seconds']:.1f} s |")
    print(f"| hostile: max latency per verdict | {rh['max_s']:.2f} s | {mh_['max_s']:.1f} s ({len(mh_['hangs'])} killed at {args.hang_s:g} s) |")
    print(f"| hostile: verdicts over 2 s | {rh['over_2s']} | {mh_['over_2s']} |")
    print(f"| hostile: crashes | {rh['crashes']} | {mh_['crashes']} |")
    print(f"| hostile: wrong verdicts | {len(rh['wrong'])} | {len(mh_['wrong'])} (of those that returned) |")
    mv_files = sorted(set(out["side_effects"]) - set(out["rlinf_side_effects"]))
    print(f"| side effects (files written) | {len(out['rlinf_side_effects'])} | {len(mv_files)} |")
    print(f"| ordinary answers: verdicts/s | {ro['verdicts_per_s']:.0f} (n={ro['n']}, batches of 256) | {mo['verdicts_per_s']:.0f} (one process) |")
    print(f"| ordinary answers: p50 / p99 latency | {ro['p50_ms']:.2f} / {ro['p99_ms']:.2f} ms | {mo['p50_ms']:.2f} / {mo['p99_ms']:.2f} ms |")
    print(f"| LaTeX answers (3/8 need sympy): verdicts/s | {rl['verdicts_per_s']:.0f} (n={rl['n']}) | {ml['verdicts_per_s']:.0f} (one process, IPC excluded) |")
    print(f"| LaTeX answers: accuracy | {100 * rl['accuracy']:.1f}% | {100 * ml['accuracy']:.1f}% |")
    print(f"| LaTeX answers: p50 / p99 latency | {rl['p50_ms']:.1f} / {rl['p99_ms']:.1f} ms | {ml['p50_ms']:.1f} / {ml['p99_ms']:.1f} ms |")
    if rh["wrong"]:
        print(f"\nrlinf hostile wrong verdicts: {rh['wrong']}")
    print(f"math-verify direct hangs: {mh_['hangs']}")
    print(f"rlinf corpus counters: {rc['counts']}; timed out: {rc['timeouts']}")
    if args.json:
        print(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--mv-worker":
        mv_worker(sys.argv[2], int(sys.argv[3]))
    else:
        main()
