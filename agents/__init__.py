"""Agents, the environment protocol, the LLM client and embedded server, and the tools agents call."""
