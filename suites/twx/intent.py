"""Experience keys for TextWorldExpress: the exits a room description names locate the view."""

from __future__ import annotations

import re

from teammind.agents.environment import intent_text as generic_intent

_EXITS_RE = re.compile(r"to the (north|south|east|west) you see ([^.]+)", re.I)


def intent_text(task: str, observation: str) -> str:
    """The generic intent key with the room's exits ("north: a door; east: the kitchen")."""
    exits = "; ".join(f"{d.lower()}: {what.strip()}" for d, what in _EXITS_RE.findall(observation or ""))
    return generic_intent(task, observation, exits or "unknown")
