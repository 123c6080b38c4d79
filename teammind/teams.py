"""`teammind.ParallelTeams`: the graphs-level `ParallelTeams` that also knows the shipped learned admission policy."""

from __future__ import annotations

from teammind.graphs import parallel_teams
from teammind.memory import AdmissionPolicy


class ParallelTeams(parallel_teams.ParallelTeams):
    __doc__ = parallel_teams.ParallelTeams.__doc__

    @staticmethod
    def resolve_admission(admission: str | AdmissionPolicy | None) -> AdmissionPolicy | None:
        """As the graphs layer, plus `learned` = the shipped default policy (said once on stderr when it was trained elsewhere)."""
        if isinstance(admission, str):
            from teammind.assemble import parse_admission

            return parse_admission(admission)
        return parallel_teams.ParallelTeams.resolve_admission(admission)
