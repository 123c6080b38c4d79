"""A scripted ScienceWorld agent for the "find a thing, focus on it, move it to the box" tasks.

Supported tasks (`SUPPORTED_TASKS`): ``find-animal``, ``find-living-thing``,
``find-non-living-thing``, ``find-plant`` (task text: "find a(n) <category>.
First, focus on the thing. Then, move it to the <box> in the <room>.") and
``lifespan-longest-lived`` / ``lifespan-shortest-lived`` (task text: "find the
animal with the longest|shortest life span. The animals are in the '<room>'
location. Focus on ..."). It never reads ScienceWorld's gold path; it needs
the ``teleportAction`` simplification (the default ``easy``) to move between
rooms, and falls back to ``go to <adjacent room>`` without it.

How it plays:

* What is where. In ScienceWorld the valid actions name what is in view, so
  after ``teleport to <room>`` the ``focus on X`` actions list the room's
  things (its referents) without a ``look around``. Rooms, doors, the agent,
  air and what the agent holds (``put down X``) are not things.
* Which thing. A small documented lexicon (`ANIMALS`, `PLANT_WORDS`,
  `NON_LIVING`) classifies a referent; a thing is a candidate when it
  belongs to the task's category (``living thing``: animals, then plants). The
  rule is conservative on purpose: focusing on a wrong thing ends the
  episode as a failure (ScienceWorld scores it -100), so an unknown name is
  never focused on. The lifespan tasks rank the animals by `LIFESPAN_YEARS`
  (typical lifespans) and need no box.
* Then ``focus on X``, ``pick up X``, ``teleport to <box room>``, ``move X to
  <box>`` (the referent ScienceWorld offers for the held thing).
* Exploration: rooms in sorted order rotated by the team's index
  (`team_rank` x `ROOM_STRIDE`), so teams spread out; rooms known (from
  experience) to have held a right thing come first.

Shared memory (data only; every value is parsed defensively and own sight
wins over hearsay). Each step's key says what the room the team stands in
contains: ``"animal found in the outside: blue jay, butterfly; focus on
blue jay"`` or ``"in the kitchen, no animal; contains: apple, banana, ..."``;
the value is one line of JSON (`VALUE_VERSION`)::

    {"v": 1, "room": "outside", "contains": ["axe", "blue jay", ...], "category": "animal",
     "action": "focus on blue jay", "focused": "blue jay"}

Before choosing where to go a team searches the bank for another team's
``"<category> found in the"`` report and, for the next rooms on its route,
``"in the <room>"``; it reads only hits written by other teams whose key
names that room, classifies the reported contents with its own lexicon, goes
straight to a room holding a candidate and skips rooms already looked at
(entry ids read go to `AgentAction.reads`).

Experiences (``ctx.experiences``, best first): the team follows the
best-ranked success plan, less the winner's search (`compress_plan`), while it fits (the team's actions so far are the
plan's prefix and the next planned action is valid here; a planned ``focus``
is followed only on a thing that is not of another category by the lexicon),
reporting the experience id in `AgentAction.experiences`. It also learns from
every success plan the names that were right to focus on and the rooms they
were found in, and tries those first.

All private state is rebuilt from `reset` + `observe` (the team's own
transitions), so a resumed team replays into the same state; what it read
from the bank is read again after a resume.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from teammind.agents.base import AgentAction, StepContext
from teammind.agents.environment import Observation
from teammind.agents.memory_tools import MemoryHit, load_value_object
from teammind.agents.scripted import ScriptedAgent, compact_key

VALUE_VERSION = 1
ROOM_STRIDE = 3  # team k starts its room tour 3k rooms further along the sorted room list

FIND_TASKS = ("find-animal", "find-living-thing", "find-non-living-thing", "find-plant")
LIFESPAN_TASKS = ("lifespan-longest-lived", "lifespan-shortest-lived")
SUPPORTED_TASKS: tuple[str, ...] = FIND_TASKS + LIFESPAN_TASKS

ANIMALS: tuple[str, ...] = (
    "ant", "bear", "beaver", "bee", "bird", "blue jay", "butterfly", "caterpillar", "chameleon", "chipmunk",
    "crocodile", "dove", "dragonfly", "elephant", "fish", "frog", "hedgehog", "moth", "mouse", "parrot",
    "rabbit", "snake", "spider", "toad", "tortoise", "turtle", "wolf", "worm",
)
"""Animal names (a referent is an animal when one of these is a whole word, or words, of it)."""

LIFESPAN_YEARS: dict[str, float] = {
    "giant tortoise": 150, "tortoise": 100, "elephant": 65, "parrot": 60, "crocodile": 45, "turtle": 40,
    "brown bear": 25, "bear": 25, "wolf": 13, "beaver": 12, "common toad": 12, "toad": 12, "rabbit": 9,
    "frog": 8, "chipmunk": 6, "chameleon": 5, "hedgehog": 4, "mouse": 2, "ant": 1, "bee": 1,
    "butterfly": 0.5, "dragonfly": 0.3, "moth": 0.3,
}
"""Typical lifespans (years) for the lifespan tasks; an animal not listed is never chosen.

Real-world figures, rounded; the chipmunk takes its captive span (6-8 years), which matches ScienceWorld
(on its train split the chipmunk outlives the chameleon and the hedgehog)."""

PLANT_WORDS: tuple[str, ...] = ("tree", "plant", "flower", "grass", "bush", "shrub", "seed")
"""A referent is a plant when one of these is a word of it, and it is not a pot, soil or substance."""

NON_LIVING: tuple[str, ...] = (
    "axe", "book", "bowl", "chair", "cup", "glass cup", "ceramic cup", "tin cup", "hammer", "jug", "lighter",
    "painting", "picture", "shovel", "stopwatch", "table", "thermometer", "wire", "battery", "light bulb",
    "glass jar", "metal pot", "knife", "spoon", "plate", "mirror", "clock", "lamp",
)
"""Manufactured things (by their last word or whole name): the only things the non-living tasks focus on."""

NEVER: tuple[str, ...] = ("hive", "pot", "soil", "substance", "box", "door", "jar", "water", "air", "agent", "inventory", "containing")
"""A referent with one of these words is never an animal or plant (a bee hive is not a bee)."""

_CATEGORY_RE = re.compile(r"find a\(n\) (?P<cat>[a-z -]+?)\.", re.IGNORECASE)
_BOX_RE = re.compile(r"move it to the (?P<box>[a-z ]+?box) in the (?P<room>[a-z ]+?)\.", re.IGNORECASE)
_LIFESPAN_RE = re.compile(r"animal with the (?P<which>longest|shortest) life ?span", re.IGNORECASE)
_LIFESPAN_ROOM_RE = re.compile(r"animals are in the '(?P<room>[a-z ]+)' location", re.IGNORECASE)
_ROOM_RES = (
    re.compile(r"^This (?:room|[a-z ]+ location) is called the (?P<room>[a-z ]+?)\.", re.IGNORECASE | re.MULTILINE),
    re.compile(r"^You (?:teleport|move) to the (?P<room>[a-z ]+?)\.", re.IGNORECASE),
)
_FOCUS_RE = re.compile(r"You focus on the (?P<name>[a-z0-9 '-]+?)\.", re.IGNORECASE)
_NAME_RE = re.compile(r"[a-z][a-z0-9 '-]{0,47}")


def _words(name: str) -> list[str]:
    return name.lower().split()


def _has_phrase(name: str, phrase: str) -> bool:
    return f" {phrase} " in f" {' '.join(_words(name))} "


def is_animal(name: str) -> bool:
    return not any(w in NEVER for w in _words(name)) and any(_has_phrase(name, a) for a in ANIMALS)


def is_plant(name: str) -> bool:
    n = " ".join(_words(name))
    if n.startswith("living thing in "):  # ScienceWorld's name for a plant in a pot ("living thing in flower pot 1")
        return True
    if any(w in NEVER for w in _words(n)):
        return False
    return any(w in PLANT_WORDS for w in _words(n))


def is_non_living(name: str) -> bool:
    n = " ".join(_words(name))
    if is_animal(n) or is_plant(n) or any(w in ("containing", "substance", "in") for w in _words(n)):
        return False
    return n in NON_LIVING or (bool(_words(n)) and _words(n)[-1] in NON_LIVING)


def lifespan(name: str) -> float | None:
    best = None
    for animal, years in LIFESPAN_YEARS.items():
        if _has_phrase(name, animal) and (best is None or len(animal) > len(best[0])):
            best = (animal, years)
    return best[1] if best else None


def compress_plan(plan: list[str]) -> list[str]:
    """A success plan without its search: teleports straight on to another room and focus attempts before the last.

    ``[teleport to a, teleport to b, focus on bee 0, focus on x, pick up x, teleport to c, move x to box]``
    -> ``[teleport to b, focus on x, pick up x, teleport to c, move x to box]``.
    """
    last_focus = max((i for i, a in enumerate(plan) if a.startswith("focus on ")), default=-1)
    kept = [a for i, a in enumerate(plan) if i >= last_focus or not a.startswith(("focus on ", "look around"))]
    return [a for i, a in enumerate(kept) if not (a.startswith("teleport to ") and i + 1 < len(kept) and kept[i + 1].startswith("teleport to "))]


def _base(action: str) -> str:
    """An action without its numbers ("focus on bee 3" -> "focus on bee")."""
    return " ".join(w for w in action.split() if not w.isdigit())


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    v = " ".join(value.strip().lower().split())
    return v if _NAME_RE.fullmatch(v) else None


def parse_value(text: str) -> dict[str, Any] | None:
    """An agent step value from the bank, or None if it is not one (memory is untrusted data)."""
    raw = load_value_object(text, VALUE_VERSION)
    if raw is None:
        return None
    room = _clean(raw.get("room"))
    if room is None:
        return None
    contains = raw.get("contains")
    things = [c for c in (_clean(x) for x in contains[:80]) if c] if isinstance(contains, list) else []
    return {"room": room, "contains": things, "focused": _clean(raw.get("focused"))}


@dataclass
class _Goal:
    kind: str  # find | lifespan | unknown
    category: str = ""  # animal | living thing | non-living thing | plant
    box: str | None = None
    box_room: str | None = None
    which: str = ""  # longest | shortest
    animals_room: str | None = None


@dataclass
class _State:
    rooms: list[str] = field(default_factory=list)  # all rooms (from the teleport actions)
    current: str | None = None
    contents: dict[str, list[str]] = field(default_factory=dict)  # room -> things seen there (own sight)
    held: set[str] = field(default_factory=set)
    focused: str | None = None
    focus_names: list[str] = field(default_factory=list)  # referents of the focused thing (ScienceWorld may rename it)
    focus_room: str | None = None
    picked: bool = False
    finished: bool = False
    tried: dict[str, int] = field(default_factory=dict)
    rejected: set[str] = field(default_factory=set)  # actions ScienceWorld did not understand (e.g. things inside a closed hive)


class SciWorldScripted(ScriptedAgent):
    """Explores rooms, focuses on a thing of the task's category, carries it to the box; shares what rooms hold."""

    name = "sciworld-scripted"

    def __init__(self, *, max_searches: int = 4, max_reads: int = 4) -> None:
        self.max_searches = max_searches
        self.max_reads = max_reads
        self._clear()

    # -- state -----------------------------------------------------------------------------
    def _clear(self) -> None:
        self.goal = _Goal("unknown")
        self.s = _State()
        self._initialised = False
        # from other teams (re-read after a resume)
        self.shared: dict[str, list[str]] = {}  # room -> things another team reported there
        self._reset_reader()

    def reset(self, observation: Observation) -> None:
        self._clear()
        self._ingest(None, observation)

    def observe(self, action: str, observation: Observation) -> None:
        if not self._initialised:
            self._clear()
        self._ingest(action, observation)

    def _parse_task(self, task: str) -> None:
        m = _LIFESPAN_RE.search(task)
        if m:
            r = _LIFESPAN_ROOM_RE.search(task)
            self.goal = _Goal("lifespan", "animal", which=m["which"].lower(), animals_room=r["room"].lower() if r else None)
            return
        m = _CATEGORY_RE.search(task)
        if m:
            b = _BOX_RE.search(task)
            self.goal = _Goal("find", m["cat"].strip().lower(), b["box"].lower() if b else None, b["room"].lower() if b else None)

    def _ingest(self, action: str | None, obs: Observation) -> None:
        s = self.s
        if not self._initialised:
            self._initialised = True
            self._parse_task(obs.task or "")
        text = obs.text or ""
        if action is not None:
            s.tried[action] = s.tried.get(action, 0) + 1
        for rx in _ROOM_RES:
            m = rx.search(text)
            if m:
                s.current = m["room"].strip().lower()
                break
        valid = obs.valid_actions
        rooms = sorted(a[len("teleport to ") :] for a in valid if a.startswith("teleport to "))
        if rooms and not s.rooms:
            s.rooms = rooms
        s.held = {a[len("put down ") :] for a in valid if a.startswith("put down ")}
        if s.current is not None and valid:
            s.contents[s.current] = self._things(valid)
        if action is None:
            return
        low = text.lower()
        if low.startswith(("no known action matches", "unknown action")):
            s.rejected.add(_base(action))  # numbered siblings (bee 0, bee 1, ...) fail alike
        if action.startswith("focus on ") and low.startswith("you focus on"):
            s.focused = action[len("focus on ") :]
            s.focus_room = s.current
            m = _FOCUS_RE.match(text)
            s.focus_names = list(dict.fromkeys([s.focused] + ([m["name"].lower()] if m else [])))
        elif action.startswith("pick up ") and "to the inventory" in low:
            s.picked = True
        elif action.startswith("move ") and low.startswith("you move") and self.goal.box and self.goal.box in low:
            s.finished = True
        if obs.done:
            s.finished = True

    def _things(self, valid: tuple[str, ...]) -> list[str]:
        rooms = set(self.s.rooms) | ({self.s.current} if self.s.current else set())
        held = self.s.held
        out = []
        for a in valid:
            if not a.startswith("focus on "):
                continue
            x = a[len("focus on ") :]
            if x in rooms or x in held or x in ("agent", "air", "inventory") or "door" in _words(x):
                continue
            if any(x == h or x.startswith(h + " ") for h in held):
                continue
            out.append(x)
        return sorted(set(out))

    # -- classification ----------------------------------------------------------------------
    def _fits(self, name: str) -> bool:
        cat = self.goal.category
        if cat == "animal":
            return is_animal(name) and (self.goal.kind != "lifespan" or lifespan(name) is not None)
        if cat == "plant":
            return is_plant(name)
        if cat == "living thing":
            return is_animal(name) or is_plant(name)
        if cat == "non-living thing":
            return is_non_living(name)
        return False

    def _contrary(self, name: str) -> bool:
        """Whether the lexicon says `name` is of another category than the task's (never focus on it)."""
        cat = self.goal.category
        if cat in ("animal", "plant", "living thing"):
            return is_non_living(name) or (cat == "animal" and is_plant(name)) or (cat == "plant" and is_animal(name))
        if cat == "non-living thing":
            return is_animal(name) or is_plant(name)
        return True

    def _rank_candidates(self, names: list[str], good: set[str]) -> list[str]:
        cands = [n for n in names if self._fits(n) and _base(f"focus on {n}") not in self.s.rejected]
        if self.goal.kind == "lifespan":
            sign = -1 if self.goal.which == "longest" else 1
            return sorted(cands, key=lambda n: (sign * (lifespan(n) or 0.0), n))
        pick = {a[len("pick up ") :] for a in (self._ctx.observation.valid_actions if self._ctx else ())}
        # right names from past successes first, then things that can be picked up, then animals before plants, short names
        return sorted(cands, key=lambda n: (n not in good, n not in pick, not is_animal(n), len(n.split()), n))

    # -- experience -----------------------------------------------------------------------------
    def _learned(self, ctx: StepContext) -> tuple[set[str], list[str]]:
        """(names focused on in success plans, rooms they were found in, best first)."""
        good: set[str] = set()
        rooms: list[str] = []
        for hit in ctx.experiences:
            data = hit.parsed()
            if data is None or data["outcome"] != "success":
                continue
            where = None
            for a in data["plan"]:
                if a.startswith(("teleport to ", "go to ")):
                    where = a.split(" to ", 1)[1]
                elif a.startswith("focus on "):
                    name = _clean(a[len("focus on ") :])
                    if name and not self._contrary(name):
                        good.add(name)
                        if where and where not in rooms:
                            rooms.append(where)
                    break
        return good, rooms

    def _plan_step(self, ctx: StepContext) -> tuple[str, str] | None:
        """(next action, experience id) while the best-ranked success plan fits (see TWXExplorer._plan_step).

        The plan is first compressed (`compress_plan`): the winner's search for the room is dropped, so
        a team goes straight to where the thing was found.
        """
        for hit in ctx.experiences:
            data = hit.parsed()
            if data is None or data["outcome"] != "success" or not data["plan"]:
                continue
            plan = compress_plan(data["plan"])
            done = [a for a, _ in ctx.history]
            n = len(done)
            if n < len(plan) and done == plan[:n] and plan[n] in ctx.observation.valid_actions:
                nxt = plan[n]
                if nxt.startswith("focus on ") and (self.s.focused is not None or self._contrary(nxt[len("focus on ") :])):
                    return None
                return nxt, hit.id
            return None
        return None

    # -- acting ---------------------------------------------------------------------------------
    def act(self, ctx: StepContext) -> AgentAction:
        if not self._initialised:
            self._ingest(None, ctx.observation)
        self.begin_step(ctx)
        planned = self._plan_step(ctx)
        action = planned[0] if planned is not None else self._choose(ctx)
        key, value = self._describe(action)
        reads = self.end_step()
        return AgentAction(
            action=action, key=key, value=value, tool=action.split(" ", 1)[0], reads=reads,
            experiences=[planned[1]] if planned is not None else [],
        )

    def _valid(self, action: str) -> bool:
        return self._ctx is not None and action in self._ctx.observation.valid_actions

    def _choose(self, ctx: StepContext) -> str:
        s, g = self.s, self.goal
        good, learned_rooms = self._learned(ctx)
        # 1. carry the focused thing to the box
        if s.focused is not None:
            if g.kind == "lifespan":
                return self._fallback()
            if not s.picked:
                for name in s.focus_names:
                    if self._valid(f"pick up {name}"):
                        return f"pick up {name}"
            if g.box_room and s.current != g.box_room:
                step = self._go(g.box_room)
                if step:
                    return step
            move = self._move_to_box()
            if move:
                return move
            return self._fallback()
        # 2. focus on a right thing in view
        here = self._rank_candidates(s.contents.get(s.current or "", []), good)
        if g.kind == "lifespan" and g.animals_room and s.current != g.animals_room:
            here = []  # the task names the room the animals are in: compare them all there
        for name in here:
            if self._valid(f"focus on {name}") and _base(f"focus on {name}") not in s.rejected:
                return f"focus on {name}"
        # 3. go to a room known to hold one (own sight, another team's report), else explore
        target = self._target_room(good, learned_rooms)
        if target is not None:
            step = self._go(target)
            if step:
                return step
        return self._fallback()

    def _move_to_box(self) -> str | None:
        s, g = self.s, self.goal
        if not g.box or s.focused is None:
            return None
        for name in s.focus_names:
            for act in (f"move {name} to {g.box}", f"move {name} in inventory to {g.box}"):
                if self._valid(act):
                    return act
        heads = [" ".join(n.split()[-2:]) for n in s.focus_names]
        for act in sorted(self._ctx.observation.valid_actions if self._ctx else ()):
            if act.startswith("move ") and act.endswith(f" to {g.box}") and any(_has_phrase(act[5 : -len(f" to {g.box}")], h) for h in heads):
                return act
        return None

    def _route(self, learned_rooms: list[str]) -> list[str]:
        """Rooms in this team's visiting order: rotated by team, learned rooms first."""
        rooms = list(self.s.rooms)
        if not rooms:
            return []
        k = (self._rank * ROOM_STRIDE) % len(rooms)
        order = rooms[k:] + rooms[:k]
        if self.goal.kind == "lifespan" and self.goal.animals_room in order:
            learned_rooms = [self.goal.animals_room, *learned_rooms]
        front = [r for r in learned_rooms if r in order]
        return front + [r for r in order if r not in front]

    def _target_room(self, good: set[str], learned_rooms: list[str]) -> str | None:
        s = self.s
        # a room this team saw a candidate in (it left before focusing: e.g. the lifespan room)
        for room in self._route(learned_rooms):
            if room != s.current and self._rank_candidates(s.contents.get(room, []), good):
                return room
        # another team's report of a room with a candidate
        if self._ctx is not None and self._ctx.memory is not None:
            self._consult_found()
        for room in sorted(self.shared):
            # own sight wins over a report
            if room != s.current and room not in s.contents and room in s.rooms and self._rank_candidates(self.shared[room], good):
                return room
        # the next room on the route that no one has looked at
        for room in self._route(learned_rooms):
            if room == s.current or room in s.contents:
                continue
            if room in self.shared:
                continue
            if self._ctx is not None and self._ctx.memory is not None and self._consult_room(room):
                if self._rank_candidates(self.shared.get(room, []), good):
                    return room
                continue
            return room
        # everything was looked at: trust own sight only
        for room in self._route(learned_rooms):
            if room != s.current and room not in s.contents:
                return room
        return None

    def _go(self, room: str) -> str | None:
        for act in (f"teleport to {room}", f"go to {room}"):
            if self._valid(act):
                return act
        # without teleport: an adjacent room not yet visited, else the least-tried door
        goes = sorted(a for a in (self._ctx.observation.valid_actions if self._ctx else ()) if a.startswith("go to ") and "door" not in a)
        fresh = [a for a in goes if a[len("go to ") :] in self.s.rooms or a[len("go to ") :] not in self.s.contents]
        pool = fresh or goes
        return min(pool, key=lambda a: (self.s.tried.get(a, 0), a)) if pool else None

    def _fallback(self) -> str:
        if self._valid("look around"):
            return "look around"
        valid = list(self._ctx.observation.valid_actions) if self._ctx else []
        safe = [a for a in valid if a.startswith(("look ", "inventory", "wait"))]
        return min(safe or valid or ["look around"])

    # -- shared memory --------------------------------------------------------------------------
    def _read(self, hit: MemoryHit) -> dict[str, Any] | None:
        text = self._read_text(hit)
        v = parse_value(text) if text is not None else None
        if v is not None and v["room"] in self.s.rooms:
            self.shared[v["room"]] = v["contains"]
        return v

    def _consult_found(self) -> None:
        cat = self.goal.category
        if any(self._rank_candidates(c, set()) for r, c in self.shared.items() if r not in self.s.contents):
            return
        for hit in self._search(f"{cat} found in the"):
            if hit.key.lower().startswith(f"{cat} found in the "):
                v = self._read(hit)
                if v is not None and self._rank_candidates(v["contains"], set()):
                    return

    def _consult_room(self, room: str) -> bool:
        """Whether another team reported what `room` contains (read into `shared`)."""
        for hit in self._search(f"in the {room}"):
            key = hit.key.lower()
            if f"in the {room}:" not in key and f"in the {room}," not in key:
                continue
            v = self._read(hit)
            if v is not None and v["room"] == room:
                return True
        return room in self.shared

    # -- describing the step ---------------------------------------------------------------------
    def _describe(self, action: str) -> tuple[str, str]:
        s = self.s
        room = s.current or "unknown place"
        things = s.contents.get(room, [])
        cat = self.goal.category or "thing"
        cands = [n for n in things if self._fits(n)]
        value = {"v": VALUE_VERSION, "room": room, "contains": things, "category": cat, "action": action, "focused": s.focused}
        if cands:
            key = f"{cat} found in the {room}: {', '.join(cands)}; {action}"
        else:
            key = f"in the {room}, no {cat}; {action}; contains: {', '.join(things) or 'nothing'}"
        return compact_key(key), json.dumps(value, separators=(",", ":"), sort_keys=True)


__all__ = [
    "ANIMALS", "FIND_TASKS", "LIFESPAN_TASKS", "LIFESPAN_YEARS", "NON_LIVING", "PLANT_WORDS", "SUPPORTED_TASKS",
    "SciWorldScripted", "compress_plan", "is_animal", "is_non_living", "is_plant", "lifespan", "parse_value",
]
