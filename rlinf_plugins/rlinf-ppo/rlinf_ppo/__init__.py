"""rlinf-ppo: PPO with a critic for rlinf (:mod:`rlinf_ppo.algorithm`)."""
