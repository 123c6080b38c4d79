"""Demo: three teams share one memory bank on one task.

What it shows, with the real embedder and a real bank folder:
1. three teams explore the same house at once (threads); every step they take
   is proposed to the bank and the novelty-threshold admission controller keeps
   the duplicates out;
2. a fourth team searches the bank instead of exploring and reads two entries
   (each read is recorded as a use by that team);
3. the outcome updates the utility Q of what was read (MemRL's rule), and the
   two-phase retrieval now ranks the useful entry above a more similar one;
4. the bank's stats;
5. the useful entry's history: who wrote it and with which admission
   probability, which team read it, each Q update.

Run: `python -m teammind.demos.memory_bank` (or `teammind demo memory-bank`).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from teammind.memory import MemoryBank, NoveltyThreshold, Origin, RetrievalConfig, StepCandidate

TASK = "Find the key that opens the locked chest and bring it to the bedroom."
ROOMS = {
    "team-a": ["looked around the kitchen: a fridge, a stove and a drawer", "opened the kitchen drawer and found a silver key",
               "walked north from the kitchen into the hallway", "tried the silver key on the chest: it does not fit"],
    "team-b": ["looked around the kitchen: fridge, stove and a drawer", "walked east from the kitchen into the garden",
               "searched the flower bed in the garden and found a brass key", "the brass key opens the locked chest in the bedroom"],
    "team-c": ["walked north from the kitchen into the hallway", "opened the hallway closet: coats and an umbrella",
               "walked west into the bedroom and saw the locked chest", "the chest is locked and needs a key"],
}


def explore(bank: MemoryBank, ns: tuple[str, ...], team: str, steps: list[str], log: list[tuple[str, str, bool, float]], lock: threading.Lock) -> None:
    policy = NoveltyThreshold(0.9)
    for i, key in enumerate(steps):
        cand = StepCandidate(ns, TASK, key, f"[{team} step {i}] {key}.", origin=Origin(team=team, agent="explorer", step=i), tool=key.split()[0], step_index=i, max_steps=30)
        proposal = bank.propose(cand, policy)
        with lock:
            log.append((team, key, proposal.admitted, proposal.decision.features.max_similarity))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", help="bank folder (default: a temporary folder)")
    args = parser.parse_args(argv)
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        bank = MemoryBank(args.path or tmp)
        ns = ("demo", "house-chest")
        bank.delete_namespace(ns)

        console.rule("1. three teams explore at once; admission filters duplicates")
        log: list[tuple[str, str, bool, float]] = []
        lock = threading.Lock()
        threads = [threading.Thread(target=explore, args=(bank, ns, t, s, log, lock)) for t, s in ROOMS.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        table = Table("team", "proposed step (key)", "closest stored", "admitted")
        for team, key, admitted, sim in log:
            table.add_row(team, key, f"{sim:.2f}", "[green]yes" if admitted else "[red]no (duplicate)")
        console.print(table)

        console.rule("2. team-d reads the bank instead of exploring")
        query = "where is a key that opens the chest"
        similarity_only = RetrievalConfig(k1=10, k2=3, lam=0.0)
        hits = bank.search(ns, query, config=similarity_only)
        for h in hits:
            console.print(f"  sim {h.similarity:.3f}  {h.entry.key}")
        read = [bank.read(ns, h.entry.id, team="team-d") for h in hits]
        console.print(f"team-d read {len(read)} entries; uses recorded: {[e.uses for e in read]}")

        console.rule("3. outcomes update utility; the reranker learns what helped")
        # team-d's episode: the entry saying which key opens the chest led to success,
        # the others cost it steps. Credit by hand here; rl/ assigns it from real rollouts.
        useful = next((e for e in read if "opens" in e.key), read[-1])
        misleading = [e for e in read if e.id != useful.id]
        console.print(f"useful: {useful.key!r}; three episodes reward it +1 and the others -1")
        for _ in range(3):
            bank.update_q(ns, [useful.id], reward=1.0)
            if misleading:
                bank.update_q(ns, [e.id for e in misleading], reward=-1.0)
        for name, config in (("similarity only (lam=0)", similarity_only), ("Q-reranked (lam=0.5)", RetrievalConfig(k1=10, k2=3, lam=0.5))):
            console.print(f"[b]{name}[/b]")
            for h in bank.search(ns, query, config=config):
                console.print(f"  score {h.score:+.2f}  sim {h.similarity:.3f}  Q {h.entry.q:+.2f}  {h.entry.key}")

        console.rule("4. bank stats")
        stats = bank.stats(ns)
        console.print(
            f"{stats['steps']} steps stored of {len(log)} proposed, {stats['tokens']} tokens, "
            f"{stats['entries_read']} read ({stats['read_fraction']:.0%}), mean Q {stats['mean_q']:+.2f}"
        )

        console.rule("5. why does it rank first? its history")
        for event in bank.history(ns, useful.id):
            detail = ", ".join(f"{k}={v:+.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in event.data.items() if v not in ("", None, -1))
            console.print(f"  {event.event:<9} {('team ' + event.team) if event.team else '':<12} {detail}")
        bank.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
