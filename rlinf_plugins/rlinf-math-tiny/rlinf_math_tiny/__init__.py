"""rlinf-math-tiny: everything the CPU math recipe needs, made locally (no hub, no downloads)."""
