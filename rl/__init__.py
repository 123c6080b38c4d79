"""RL training of admission and the Q reranker on Ray (the RL issue fills this room)."""
