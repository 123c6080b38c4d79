"""RL training of admission and the Q reranker: credit, trainers, rollouts on Ray, training and evaluation."""
