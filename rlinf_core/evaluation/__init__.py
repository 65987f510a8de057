"""Evaluation: benchmark files, prompt formats, avg@K and pass@k, and the evaluator behind `rlinf eval`."""
