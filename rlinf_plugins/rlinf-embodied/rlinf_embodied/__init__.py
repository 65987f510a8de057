"""rlinf-embodied: embodied RL on a real simulator, environment workers pipelined with the policy.

See the package README for what it follows (RLinf's embodied scenario, arXiv:2509.15965 §5)
and where it deviates.
"""
