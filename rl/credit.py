"""Usage-aware credit assignment for the admission controller (Learning to Share, eq. 3-5, plus ours).

For each team trajectory tau_i in a group of G rollouts of one task:

    R(tau)   = R_final(tau) + lambda_first * R_first(tau)                 LTS, lambda_first = 1
             - lambda_steps * (environment steps of the whole episode) / 10   ours
    A_base   = (R(tau_i) - mean_G R) / (std_G R + eps)                    LTS
    A_t      = A_base + beta * 1[entry of step t read by another team and R_LTS(tau_i) > 0] LTS
             - lambda_tokens * 1[admitted] * tokens(entry) * reads_by_others / 1000         ours
             + lambda_saved  * 1[admitted] * steps_saved(entry)                             ours
    loss     = sum_t [ -log pi(z_t | c_t) * A_t + lambda_sparse * pi(admit | c_t) ]        LTS

R_final is the team's final score in [0, 1] (1 on success), R_first is 1 for
the team that finished first. A team the lock-step "first" aggregator stopped
unfinished, because another team had already succeeded, did not fail: its
R_final is the episode's outcome (ours; in LTS every team runs to its end). The group is every team trajectory of the G
episodes (G x K), so a team is compared with its peers on the same task.
Every term can be switched off (set its weight to 0) for ablations.

R_LTS = R_final + lambda_first * R_first is R without our step cost: the usage
bonus asks whether the reader's trajectory had a good outcome, as in LTS. With
the step cost inside, a long game (twc: ~100 steps, R ~ -8) made R negative on
every trajectory and silently switched the bonus off.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from teammind.rl.trajectory import AdmissionStep, Episode, TeamTrajectory


@dataclass(frozen=True)
class CreditConfig:
    """Weights of the credit terms (source in brackets).

    lambda_first: bonus for the first team to finish (LTS: 1.0).
    beta: usage bonus for admitting an entry another team read, on a
        positive-return trajectory (LTS: 1.0 was their default; ours until swept).
    lambda_sparse: penalty on pi(admit), pushing towards fewer entries (LTS: 0.1).
    lambda_tokens: cost per 1000 prompt tokens an admitted entry added to
        other teams' prompts (ours; 0 = LTS).
    lambda_saved: credit per environment step a read of the entry saved the
        reader (ours; 0 = LTS). Needs `steps_saved` from the caller.
    lambda_steps: cost per 10 environment steps of the whole episode (all
        teams), charged to every team of it (ours; 0 = LTS). Within a group
        the world and the agents are the same, so the sampled admission
        decisions are what makes one episode shorter than another: this is
        the runtime LTS measures, turned into a group-relative reward.
    center_usage: subtract the group's mean usage indicator over admitted
        steps from each admitted step's indicator (ours: a baseline for the
        usage term, so it ranks entries against each other instead of pushing
        every admission up; lambda_sparse alone then sets how many are kept).
    eps: numerical floor of the group standard deviation (LTS: 1e-6).
    """

    lambda_first: float = 1.0
    beta: float = 1.0
    lambda_sparse: float = 0.1
    lambda_tokens: float = 0.0
    lambda_saved: float = 0.0
    lambda_steps: float = 0.0
    center_usage: bool = False
    eps: float = 1e-6


def trajectory_return(traj: TeamTrajectory, config: CreditConfig, episode_success: bool = False) -> float:
    """R(tau) = R_final + lambda_first * R_first (a preempted team's R_final is the episode's outcome)."""
    r_final = 1.0 if traj.success or (traj.preempted and episode_success) else traj.score
    return r_final + config.lambda_first * (1.0 if traj.finished_first else 0.0)


def group_returns(group: Sequence[Episode], config: CreditConfig) -> list[float]:
    """R of every team trajectory of the group (episode/team order), episode step cost included."""
    out = []
    for ep in group:
        steps = sum(t.env_steps for t in ep.teams)
        out += [trajectory_return(t, config, ep.success) - config.lambda_steps * steps / 10.0 for t in ep.teams]
    return out


def group_advantages(returns: Sequence[float], eps: float) -> list[float]:
    """A_base: returns standardised over the group (population std, as LTS/GRPO)."""
    if not returns:
        return []
    mean = statistics.fmean(returns)
    std = statistics.pstdev(returns) if len(returns) > 1 else 0.0
    if std + eps == 0.0:
        return [0.0] * len(returns)  # identical returns: no team is better than another
    return [(r - mean) / (std + eps) for r in returns]


@dataclass(frozen=True)
class StepCredit:
    team: str
    step: int
    advantage: float  # A_t
    base: float  # A_base of the trajectory
    usage_bonus: float
    token_cost: float
    saved_credit: float
    decision: AdmissionStep | None = None  # the decision this credit is for (its vector is the policy's input)


def assign_credit(
    group: Sequence[Episode], config: CreditConfig = CreditConfig(), steps_saved: Mapping[str, float] | None = None
) -> list[StepCredit]:
    """A_t for every admission decision in the group, in episode/team/step order."""
    trajectories = [t for ep in group for t in ep.teams]
    returns = group_returns(group, config)
    bases = group_advantages(returns, config.eps)
    saved = steps_saved or {}
    outcomes = [trajectory_return(t, config, ep.success) for ep in group for t in ep.teams]  # R_LTS: no step cost
    indicators = [1.0 if (s.readers and good > 0) else 0.0 for traj, good in zip(trajectories, outcomes) for s in traj.steps if s.admit]
    baseline = statistics.fmean(indicators) if (config.center_usage and indicators) else 0.0
    out = []
    for traj, good, base in zip(trajectories, outcomes, bases):
        for s in traj.steps:
            read_by_other = s.admit and bool(s.readers)
            usage = config.beta * ((1.0 if (read_by_other and good > 0) else 0.0) - baseline) if s.admit else 0.0
            tokens = config.lambda_tokens * s.value_tokens * s.reads_by_others / 1000.0 if s.admit else 0.0
            credit = config.lambda_saved * float(saved.get(s.entry_id or "", 0.0)) if s.admit else 0.0
            out.append(StepCredit(traj.team, s.step, base + usage - tokens + credit, base, usage, tokens, credit, decision=s))
    return out


def policy_loss_terms(log_probs: Sequence[float], probabilities: Sequence[float], advantages: Sequence[float], lambda_sparse: float) -> float:
    """sum_t [ -log pi(z_t|c_t) * A_t + lambda_sparse * pi(admit|c_t) ] (a float, for checks and logging)."""
    if not (len(log_probs) == len(probabilities) == len(advantages)):
        raise ValueError("log_probs, probabilities, advantages: lengths differ; pass one value per step")
    total = 0.0
    for lp, p, a in zip(log_probs, probabilities, advantages):
        if not math.isfinite(lp):
            raise ValueError(f"log_probs: {lp} is not finite; clamp probabilities away from 0 and 1")
        total += -lp * a + lambda_sparse * p
    return total
