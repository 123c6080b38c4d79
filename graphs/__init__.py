"""LangGraph workflows: the team subgraph and the parallel-teams graph, traces and experiences."""
