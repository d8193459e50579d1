"""Random on/off episodes (``disruptions:``): a two-state Markov chain per episode and day."""

from __future__ import annotations

import numpy as np

from simulator.plan import Plan
from simulator.streams import Streams


def draw_disruptions(plan: Plan, streams: Streams) -> np.ndarray:
    """Which disruptions are in force on each day, [day, disruption] (bool).

    Day by day from day ``earliest`` on, an episode not in force starts with probability
    ``start_prob`` and one in force ends with probability ``end_prob``; each episode draws
    from its own stream ``disruption/<name>``.
    """
    out = np.zeros((plan.days, len(plan.disruptions)), dtype=bool)
    for k, name in enumerate(plan.disruptions):
        u = streams.generator(f"disruption/{name}").random(plan.days).tolist()
        start, end = plan.disruption_probs[k]
        on = False
        col = [False] * plan.days
        for d in range(int(plan.disruption_from[k]), plan.days):
            on = u[d] >= end if on else u[d] < start
            col[d] = on
        out[:, k] = col
    return out
