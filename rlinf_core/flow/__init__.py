"""The training flow: component workers (rollout, reward, actor) and the driver loop."""
