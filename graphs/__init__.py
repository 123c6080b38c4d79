"""LangGraph workflows: team subgraph and parallel-teams graph (the parallel-teams issue fills this room)."""
