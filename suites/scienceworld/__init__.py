"""ScienceWorld: the adapter and the scripted find-a-living-thing agent."""

from teammind.suites.plugin import Suite

SUITE = Suite(
    prefix="sciworld",
    env_factory="teammind.suites.scienceworld.env:make_factory",
    scripted_agents="teammind.suites.scienceworld.env:scripted_agent_factory",
    forms="sciworld:<task>[:opts]",
)
