"""Profiling-guided placement: every run's cost profile, a step simulator, and `rlinf plan`."""
