"""Agents, LLM client and team composition (the parallel-teams issue fills this room)."""
