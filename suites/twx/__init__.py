"""TextWorldExpress: the adapter, the map-building scripted explorer, intent keys and shipped checkpoints."""

from teammind.suites.plugin import Suite
from teammind.suites.twx.env import GAMES

SUITE = Suite(
    prefix="twx",
    env_factory="teammind.suites.twx.env:make_twx_factory",
    scripted_agents="teammind.suites.twx.env:scripted_agent_factory",
    forms=f"twx:<game>[:param=v,...] (twx games: {', '.join(sorted(GAMES))})",
    intent="teammind.suites.twx.intent:intent_text",
    checkpoints="teammind.suites.twx.checkpoints:game_admission_path",
)
