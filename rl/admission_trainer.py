"""Stepwise policy-gradient trainer for the learned admission controller (Learning to Share, sec. 3).

Read top to bottom: a batch is every admission decision of a group of rollouts,
with its feature vector, the decision taken, the log-probability it was taken
with, and its advantage A_t from `teammind.rl.credit`. One update:

    logits   = net(x) / temperature                   sampling temperature 1.2 (LTS)
    log pi   = log sigmoid(logits) if admitted else log sigmoid(-logits)
    pg_t     = -log pi_t * A_t                        REINFORCE (LTS)
             or -min(r_t A_t, clip(r_t, 1-c, 1+c) A_t), r_t = exp(log pi_t - log pi_old,t)   PPO-style, optional
    loss     = mean_t [ pg_t + lambda_sparse * pi(admit | x_t) ]
    AdamW step (LTS), gradient norm clipped at 1.0 (ours).

The mean over steps (LTS writes a sum) keeps the learning rate independent of
batch size; the two differ by a constant factor only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from teammind.memory.admission import LearnedAdmission


@dataclass(frozen=True)
class TrainerConfig:
    """Hyperparameters (source in brackets).

    lr: AdamW learning rate (ours, for a 64-wide MLP; LTS tuned theirs for LoRA).
    weight_decay: AdamW decoupled weight decay (PyTorch default 0.01).
    lambda_sparse: weight of pi(admit) in the loss (LTS: 0.1).
    clip: PPO ratio clip c, None for plain REINFORCE (LTS: REINFORCE).
    epochs: gradient passes over each iteration's batch (LTS: 1; PPO: 3-10,
        Schulman et al. 2017). More than one needs `clip`: the ratio clip is
        what stops repeated passes from pushing a decision's probability
        without bound. One pass moves mostly the output bias (every decision
        pushes it); several let the network fit which entries others read.
        Each pass weighs the sparsity term by lambda_sparse / epochs, so an
        iteration pushes admission down as hard as one REINFORCE step.
    max_grad_norm: gradient norm clip (ours: 1.0).
    optimizer: "adamw" (LTS) or "sgd" (momentum 0.9; ours). Adam normalises
        every parameter's step, so the small but consistent push of the
        sparsity term on the output bias moves as fast as the noisy usage
        signal that should separate entries, and the policy flips between
        `all` and `none`; SGD keeps the terms in proportion.
    """

    lr: float = 3e-3
    weight_decay: float = 0.01
    lambda_sparse: float = 0.1
    clip: float | None = None
    max_grad_norm: float = 1.0
    optimizer: str = "adamw"
    epochs: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs: {self.epochs!r} is not a positive integer; pass 1 (REINFORCE) or 3-10 with clip (PPO)")
        if self.epochs > 1 and self.clip is None:
            raise ValueError(f"epochs: {self.epochs} passes need a PPO ratio clip; pass clip (e.g. 0.2) or epochs=1")


class AdmissionTrainer:
    """Owns the optimiser; `update` takes one batch of decisions and advantages."""

    def __init__(self, policy: LearnedAdmission, config: TrainerConfig = TrainerConfig()) -> None:
        self.policy = policy
        self.config = config
        if config.optimizer == "adamw":
            self.optimizer: torch.optim.Optimizer = torch.optim.AdamW(policy.net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        elif config.optimizer == "sgd":
            self.optimizer = torch.optim.SGD(policy.net.parameters(), lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
        else:
            raise ValueError(f"optimizer: {config.optimizer!r} is not adamw or sgd")

    def log_probs(self, x: torch.Tensor, admitted: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log pi(z_t | x_t) at the training temperature, pi(admit | x_t))."""
        logits = self.policy.net(x) / self.policy.temperature
        logp = torch.where(admitted, F.logsigmoid(logits), F.logsigmoid(-logits))
        return logp, torch.sigmoid(logits)

    def update(
        self, features: np.ndarray, admitted: np.ndarray, advantages: np.ndarray, old_log_probs: np.ndarray | None = None,
        lambda_sparse: float | None = None,
    ) -> dict[str, float]:
        """`epochs` optimiser steps on a batch; returns the first pass's loss and diagnostics. `lambda_sparse` overrides the config's (budgeted training)."""
        n = len(features)
        if not (len(admitted) == len(advantages) == n) or n == 0:
            raise ValueError(f"features/admitted/advantages: need equal non-zero lengths, got {n}, {len(admitted)}, {len(advantages)}")
        if not np.all(np.isfinite(advantages)):
            raise ValueError("advantages: contain NaN or inf; check the rewards fed to rl.credit")
        x = torch.as_tensor(np.asarray(features, dtype=np.float32))
        z = torch.as_tensor(np.asarray(admitted, dtype=bool))
        a = torch.as_tensor(np.asarray(advantages, dtype=np.float32))
        sparse = self.config.lambda_sparse if lambda_sparse is None else lambda_sparse
        old_logp = torch.as_tensor(np.asarray(old_log_probs, dtype=np.float32)) if old_log_probs is not None else None
        if self.config.epochs > 1 and old_logp is None:
            raise ValueError("old_log_probs: needed for more than one epoch (the PPO ratio); pass the sampling log-probabilities")
        self.policy.net.train()
        first: dict[str, float] = {}
        for _ in range(self.config.epochs):
            logp, p_admit = self.log_probs(x, z)
            if self.config.clip is not None and old_logp is not None:
                ratio = torch.exp(logp - old_logp)
                clipped = torch.clamp(ratio, 1 - self.config.clip, 1 + self.config.clip)
                pg = -torch.minimum(ratio * a, clipped * a)
            else:
                pg = -logp * a
            # the sparsity weight is spread over the passes: the clip stops the policy-gradient part once a
            # decision moved far enough, nothing stops the sparsity part, so k passes of full weight would
            # push every decision down k times as hard and flip the policy to `none`
            loss = (pg + sparse / self.config.epochs * p_admit).mean()
            self.optimizer.zero_grad()
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(self.policy.net.parameters(), self.config.max_grad_norm)
            self.optimizer.step()
            # the first pass describes the policy that sampled the batch
            first = first or {"loss": float(loss.detach()), "p_admit": float(p_admit.detach().mean()), "grad_norm": float(grad_norm)}
        self.policy.net.eval()
        return first
