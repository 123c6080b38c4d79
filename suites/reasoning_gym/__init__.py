"""reasoning-gym: the adapter (with calculator and Python tools) and the scripted solver."""

from teammind.suites.plugin import Suite

SUITE = Suite(
    prefix="rg",
    env_factory="teammind.suites.reasoning_gym.env:make_factory",
    scripted_agents="teammind.suites.reasoning_gym.env:scripted_agent_factory",
    forms="rg:<dataset>[,<dataset>...][:opts]",
)
