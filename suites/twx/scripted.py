"""Scripted policies that act without an LLM (fast tests, fast RL rollouts).

`TWXExplorer` plays TextWorldExpress `coin`, `mapreader`, `twc` and (best
effort) `cookingworld`. It keeps a map built only from its own transitions (`observe`
is called for every transition, live or replayed, so its private state can be
rebuilt from the team's action history) and explores systematically: take a
needed object as soon as it is visible, otherwise walk (shortest known path,
opening closed doors on the way) to the nearest exit that leads somewhere no
one has explored yet. Ties break by a direction order rotated by the team's
index, then by sorted name, so teams spread out deterministically.

Shared memory is how teams help each other. Every step's key is a short
human-readable summary ("in the kitchen, move west -> the pantry; exits: ..."
or "coin is in the pantry; take coin"), and its value is one line of JSON the
explorer can merge back (`VALUE_VERSION`):

    {"v": 1, "room": "kitchen", "action": "move west", "to": "pantry", "target": "pantry",
     "exits": {"north": "laundry room", "west": null}, "closed": ["west"],
     "objects": ["coin"], "opened": ["fridge"], "fixtures": ["barbeque"],
     "start": "kitchen", "path": [["kitchen", "west"]],          # route start -> room
     "map": {"lounge": ["playroom"]},                             # mapreader, once read
     "recipe": {"ingredients": [...], "directions": [...]}}       # cookingworld, once read

In `twc` (put misplaced things where they belong) the explorer takes every
loose thing it sees and tries places for it; the score says whether a put was
right (it rises) or wrong (it falls, and the thing is taken back). Those
facts are what teams share: the step after a put is keyed "X goes in the P in
the R" or "X does not go in the P in the R", and every twc value carries what
the writer knows so far, first-hand and read:

    "right": {"copybook": ["bedroom", "desk"]},
    "wrong": {"copybook": [["bathroom", "shower"], ...]}

Before trying a place a team asks the bank whether another team already
tried it ("X does not go in the P in the R"), and it goes straight to a
place another team found right. Each team tries (thing, place) pairs in its
own fixed shuffled order, so teams that try at once rarely pick the same pair.

`room` is where the writer stands when it acts, `exits` / `closed` / `objects`
describe that room as the writer saw it (`null` = a closed door it has not
opened), `to` is where the action leads if known, `target` the unexplored room
it is heading for (a claim: other teams prefer other frontiers). `path` is set
when the room holds an object the task needs, so readers can walk there from
the common start room.

With a shared bank the teams also fan out: every frontier exit costs
`SPREAD` x its direction's rank in the team's rotated order (team0 leans
north, team1 east, ...), and a team leaves a frontier room that a
lower-ranked team announced as its `target` (`CLAIM_PENALTY`), so teams that
start in the same room do not walk in a convoy. Without memory (`ctx.memory is
None`) a team plays the best solo strategy (pass `spread=True/False` to force
either way).

Before acting the explorer searches the bank (when `ctx.memory` is set): for
each needed object it does not know the place of ("where is the coin"), and for
the frontier rooms it is about to walk to ("in the pantry"). It reads only hits
whose key names what it is looking for and that another team wrote, parses the
value defensively (memory is untrusted data: anything malformed is ignored, and
its own observations always win over hearsay), skips rooms other teams already
explored, and goes straight to a needed object once any team has reported
where it is. Knowledge taken from memory is not part of the replayable state;
after a resume it is simply read again.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from teammind.agents.base import AgentAction, StepContext
from teammind.agents.environment import Observation
from teammind.agents.memory_tools import ExperienceHit, MemoryHit, load_value_object
from teammind.agents.scripted import ScriptedAgent, compact_key, team_rank

VALUE_VERSION = 1
DIRS: tuple[str, ...] = ("north", "east", "south", "west")
OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}
CLAIM_PENALTY = 3.0  # extra cost of a frontier another team is already heading to
SPREAD = 0.75  # with shared memory: extra cost per rank of a frontier's direction in this team's rotated order

_ROOM_RE = re.compile(r"^\s*You are in (?:the |a |an )?(?P<room>[^.\n]+?)\.", re.I)
_EXIT_RE = re.compile(
    r"(?:Through an open (?P<odoor>[^,.\n]+?) door, to|To) the (?P<dir>north|south|east|west) you see "
    r"(?:a closed (?P<cdoor>[^.\n]+?) door|(?:the |a |an )?(?P<room>[^.\n]+?))\s*(?:\.|$)",
    re.I | re.M,
)
_REVEAL_RE = re.compile(r"You open the .+? door, revealing (?:the |a |an )?(?P<room>[^.\n]+?)\s*\.", re.I)
_CLOSED_CONTAINER_RE = re.compile(r"\b(?:a|an) (?P<name>[a-z][a-z -]*?) that is closed", re.I)
_SURFACE_RE = re.compile(r"\b(?:a|an) (?P<name>[a-z][a-z -]*?),? that has ", re.I)  # twc: open places things go on/in
_PUT_RE = re.compile(r"^put (?P<item>.+?) (?:in|on) (?P<place>.+)$")  # twc; item names are matched exactly where known
_OPENED_RE = re.compile(r"You open the (?P<name>[a-z][a-z -]*?)\.", re.I)
_TAKE_RE = re.compile(r"You take the (?P<name>[^.\n]+?)\.", re.I)
_MAP_LINE_RE = re.compile(r"^\s*The (?P<room>.+?) connects to (?P<rest>.+?)\.?\s*$", re.I | re.M)
_MAPREADER_RE = re.compile(
    r"take the (?P<item>.+?) that is located in (?:the )?(?P<src>.+?), and put it into the (?P<box>.+?) found in (?:the )?(?P<dst>.+?)\.",
    re.I,
)
_COIN_RE = re.compile(r"find the (?P<item>[a-z ]+?)\.", re.I)
_NAME_RE = re.compile(r"[a-z][a-z0-9' -]{0,39}")

# cookingworld: recipe direction verb -> (action template, appliance or None)
_COOK_VERBS = {
    "roast": ("cook {x} in oven", "oven"),
    "fry": ("cook {x} in stove", "stove"),
    "grill": ("cook {x} in barbeque", "barbeque"),
    "slice": ("slice {x}", None),
    "chop": ("chop {x}", None),
    "dice": ("dice {x}", None),
}
_CUT_VERBS = {"slice", "chop", "dice"}
# containers worth opening when looking for food or the knife, in this order; others only as a last resort
_PRIORITY_CONTAINERS = ("fridge", "kitchen cupboard", "cutlery drawer")
_NEVER_OPEN = ("trash can", "wastepaper basket", "dishwasher", "washing machine", "clothes drier", "toilet", "bath")


def _clean_name(value: Any) -> str | None:
    """A room or object name from untrusted data: short lowercase words, else None."""
    if not isinstance(value, str):
        return None
    v = " ".join(value.strip().lower().split())
    if v.startswith("the "):
        v = v[4:]
    return v if _NAME_RE.fullmatch(v) else None


def _norm(name: str) -> str:
    v = " ".join(name.strip().lower().split())
    for art in ("the ", "a ", "an ", "some "):
        if v.startswith(art):
            v = v[len(art) :]
    return v


@dataclass
class RoomInfo:
    """What one source (this agent, or the merged reports of other teams) knows about a room."""

    exits: dict[str, str | None] = field(default_factory=dict)  # dir -> room (None: closed door, room unknown)
    closed: set[str] = field(default_factory=set)  # dirs with a closed door
    objects: set[str] = field(default_factory=set)  # takeable things seen here
    containers: set[str] = field(default_factory=set)  # closed containers seen here
    opened: set[str] = field(default_factory=set)  # containers opened here
    fixtures: set[str] = field(default_factory=set)  # appliances (oven, stove, barbeque)
    surfaces: set[str] = field(default_factory=set)  # twc: open places that hold things ("a bench, that has nothing on it")
    visited: bool = False


@dataclass
class Recipe:
    ingredients: list[str]
    directions: list[str]  # e.g. "slice the red potato", "prepare meal"


@dataclass
class _Candidate:
    cost: float
    rank: tuple[Any, ...]
    room: str  # where the frontier exit is
    direction: str
    target: str | None  # the room behind it (None: unknown, behind a closed door)


class TWXExplorer(ScriptedAgent):
    """Heuristic TextWorldExpress explorer that shares a map through the team memory."""

    name = "twx-explorer"

    def __init__(self, *, max_searches: int = 4, max_reads: int = 4, spread: bool | None = None) -> None:
        """`spread`: fan teams out by a per-team direction preference; None = only when memory is shared."""
        self.max_searches = max_searches
        self.max_reads = max_reads
        self.spread = spread
        self._clear()

    # -- state ---------------------------------------------------------------------------
    def _clear(self) -> None:
        self.rooms: dict[str, RoomInfo] = {}
        self.current: str | None = None
        self.start: str | None = None
        self.inventory: set[str] = set()
        self.task: str = ""
        self.kind: str = "explore"  # coin | mapreader | cookingworld | explore
        self.item: str | None = None  # the object to take (coin, mapreader)
        self.item_room: str | None = None  # mapreader: where the task says it is
        self.box: str | None = None
        self.box_room: str | None = None
        self.map_adj: dict[str, set[str]] = {}
        self.map_read = False
        self.recipe: Recipe | None = None
        self.done_directions: set[str] = set()
        self.meal_prepared = False
        self.finished = False
        self.tried: dict[tuple[str, str], int] = {}
        self.score = 0.0
        # twc: where each item belongs, learned by trying (a right put raises the score, a wrong one lowers it)
        self.right: dict[str, tuple[str, str]] = {}  # item -> (room, place), own trials
        self.wrong: dict[str, set[tuple[str, str]]] = {}  # item -> (room, place) tried and wrong, own trials
        self.placed: set[str] = set()  # items this team put where they belong
        self.shared_right: dict[str, tuple[str, str]] = {}
        self.shared_wrong: dict[str, set[tuple[str, str]]] = {}
        self.last_fact: tuple[str, str, str, bool] | None = None  # (item, room, place, right) learned by the last action
        # knowledge from other teams (rebuilt by reading the bank again after a resume)
        self.shared: dict[str, RoomInfo] = {}
        self.claimed: dict[str, set[str]] = {}  # room -> other teams heading there
        self.reported: dict[str, str] = {}  # needed object -> room, from other teams' reports
        self.bad_places: set[tuple[str, str]] = set()  # (object, room) reports that proved wrong
        self.shared_edges: set[tuple[str, str, str]] = set()  # (room, dir, room) from reported paths
        self._reset_reader()
        self._n_teams = 1
        self._initialised = False
        self._exp_places: dict[str, tuple[str, str]] = {}  # twc: item -> (place, experience id), from a past success
        self._exp_used: str | None = None  # the experience this step's action followed
        self._lesson_hints: dict[str, list[tuple[str, str]]] = {}  # twc: item -> [(place, lesson id)], best first

    def reset(self, observation: Observation) -> None:
        self._clear()
        self._ingest(None, observation)

    def observe(self, action: str, observation: Observation) -> None:
        if not self._initialised:
            self._clear()
        self._ingest(action, observation)

    # -- parsing one transition --------------------------------------------------------------
    def _parse_task(self, task: str) -> None:
        self.task = task
        m = _MAPREADER_RE.search(task)
        if m:
            self.kind = "mapreader"
            self.item, self.item_room = _norm(m["item"]), _norm(m["src"])
            self.box, self.box_room = _norm(m["box"]), _norm(m["dst"])
            return
        if "usual locations" in task.lower():
            self.kind = "twc"
            return
        if "cookbook" in task.lower() or "meal" in task.lower():
            self.kind = "cookingworld"
            return
        m = _COIN_RE.search(task)
        if m:
            self.kind = "coin"
            self.item = _norm(m["item"])

    def _room(self, name: str) -> RoomInfo:
        return self.rooms.setdefault(name, RoomInfo())

    def _ingest(self, action: str | None, obs: Observation) -> None:
        if not self._initialised:
            self._initialised = True
            if obs.task:
                self._parse_task(obs.task)
        text = obs.text or ""
        before = self.current
        if action is not None and before is not None:
            self.tried[(before, action)] = self.tried.get((before, action), 0) + 1
        m = _ROOM_RE.match(text)
        if m:
            room = _norm(m["room"])
            info = self._room(room)
            info.visited = True
            info.exits, info.closed = {}, set()
            for e in _EXIT_RE.finditer(text):
                d = e["dir"].lower()
                if e["cdoor"]:
                    info.exits[d] = None
                    info.closed.add(d)
                else:
                    info.exits[d] = _norm(e["room"])
            if self.start is None:
                self.start = room
            if action and action.startswith("move ") and before is not None and before != room:
                d = action.split(" ", 1)[1]
                if d in DIRS:
                    self._room(before).exits[d] = room
            info.containers = {_norm(c["name"]) for c in _CLOSED_CONTAINER_RE.finditer(text.split("\n")[0])}
            info.fixtures = {f for f in ("oven", "stove", "barbeque") if f in text.split("\n")[0].lower()}
            info.surfaces = {_norm(c["name"]) for c in _SURFACE_RE.finditer(text.split("\n")[0])}
            self.current = room
        cur = self._room(self.current) if self.current else None
        if cur is not None and obs.valid_actions:
            cur.objects = {a[5:] for a in obs.valid_actions if a.startswith("take ") and " from " not in a}
        delta = obs.score - self.score
        self.score = obs.score
        self.last_fact = None
        if action is None or cur is None:
            return
        low = text.lower()
        if self.kind == "twc" and action.startswith("put ") and low.startswith("you put"):
            self._learn_placement(action, delta)
        if action.startswith("open door to "):
            d = action[len("open door to ") :]
            r = _REVEAL_RE.search(text)
            if r and d in DIRS:
                cur.exits[d] = _norm(r["room"])
                cur.closed.discard(d)
            elif "already open" in low and d in DIRS:
                cur.closed.discard(d)
        elif action.startswith("move ") and "door is closed" in low:
            d = action[5:]
            if d in DIRS:
                cur.closed.add(d)
        elif action.startswith("open ") and not action.startswith("open door"):
            o = _OPENED_RE.match(text)
            name = action[5:]
            if o or "already open" in low:
                cur.opened.add(name)
                cur.containers.discard(name)
        elif action.startswith("take "):
            t = _TAKE_RE.match(text)
            if t:
                self.inventory.add(action[5:])
                if self.kind == "coin" and action[5:] == self.item:
                    self.finished = True
        elif action.startswith("read ") and "map reads" in low:
            self._parse_map(text)
        elif action.startswith("read ") and "ingredients:" in low:
            self.recipe = _parse_recipe(text)
        elif action.startswith("put ") and low.startswith("you put") and self.kind == "mapreader":
            self.finished = True
        elif action == "prepare meal" and "adding the meal" in low:
            self.meal_prepared = True
            self.inventory.add("meal")
        elif action == "eat meal" and low.startswith("you eat"):
            self.finished = True
        elif self.recipe is not None and low.startswith("you ") and "can't" not in low:
            for direction in self.recipe.directions:
                if _direction_action(direction) == action:
                    self.done_directions.add(direction)
        if obs.done:
            self.finished = True

    def _split_put(self, action: str) -> tuple[str, str] | None:
        """("put blue golf shoes in shoe cabinet") -> (item, place), matching the item against what the team carries."""
        if not action.startswith("put "):
            return None
        rest = action[len("put ") :]
        for item in sorted(self.inventory | set(self.right) | set(self.wrong), key=len, reverse=True):
            for prep in (" in ", " on "):
                if rest.startswith(item + prep):
                    return item, _norm(rest[len(item) + len(prep) :])
        return None

    def _learn_placement(self, action: str, delta: float) -> None:
        """twc: a put raised the score (the item belongs there) or lowered it (it does not; take it back)."""
        split = self._split_put(action)
        if split is None or self.current is None:
            return
        item, place = split
        self.inventory.discard(item)
        if delta > 1e-9:
            self.right[item.lower()] = (self.current, place)
            self.placed.add(item)
            self.last_fact = (item, self.current, place, True)
        elif delta < -1e-9:
            self.wrong.setdefault(item.lower(), set()).add((self.current, place))
            self.last_fact = (item, self.current, place, False)

    def _parse_map(self, text: str) -> None:
        self.map_read = True
        for m in _MAP_LINE_RE.finditer(text):
            a = _norm(m["room"])
            rest = m["rest"].replace(" and ", ", ")
            for part in rest.split(","):
                b = _norm(part)
                if a and b:
                    self.map_adj.setdefault(a, set()).add(b)
                    self.map_adj.setdefault(b, set()).add(a)

    # -- what the task still needs -----------------------------------------------------------
    def _needed_objects(self) -> list[str]:
        if self.kind in ("coin", "mapreader"):
            if self.item and self.item not in self.inventory and not self.finished:
                return [self.item]
            return []
        if self.kind == "twc":
            # loose things this team saw, plus things other teams saw in rooms this team has not seen itself
            # (own eyes win; memory carries lower-case names, the game writes "TV remote control")
            mine = {o for info in self.rooms.values() for o in info.objects}
            known = {o.lower() for o in mine | self.placed | self.inventory}
            heard = {o for r, info in self.shared.items() if not self._own_visited(r) for o in info.objects if o.lower() not in known}
            return sorted(o for o in mine | heard if o not in self.placed and o not in self.inventory and not self.finished)
        if self.kind == "cookingworld" and self.recipe is not None and not self.meal_prepared:
            need = [i for i in self.recipe.ingredients if i not in self.inventory]
            if any(_verb(d) in _CUT_VERBS for d in self.recipe.directions) and "knife" not in self.inventory:
                need.append("knife")
            return need
        return []

    def _needs(self, obj: str) -> bool:
        return obj in self._needed_objects()

    # -- acting ------------------------------------------------------------------------------
    def act(self, ctx: StepContext) -> AgentAction:
        if not self._initialised:
            self._ingest(None, ctx.observation)
        if self.current is None:
            m = _ROOM_RE.match(ctx.observation.text or "")
            if m:
                self._ingest(None, ctx.observation)
        self.begin_step(ctx)
        self._n_teams = ctx.n_teams
        if ctx.memory is not None:
            if self.kind == "twc":
                self._consult_placements()  # first: a known place saves the most steps
            self._consult_places(ctx)
            if self.kind == "mapreader" and not self.map_read:
                self._consult_map(ctx)
            if self.kind == "cookingworld" and self.recipe is None:
                self._consult_recipe(ctx)
        self._exp_used = None
        self._exp_places = _experience_places(ctx.experiences) if self.kind == "twc" else {}
        if self.kind == "twc" and ctx.lessons is not None:
            self._look_up_lessons(ctx.lessons)
        planned = self._plan_step(ctx) if self.kind != "twc" else None  # twc learns facts from plans instead
        if planned is not None:
            action, target = planned[0], None
        else:
            action, target = self._choose(ctx.observation)
        key, value = self._describe(action, target, ctx.observation)
        reads = self.end_step()
        used = [planned[1]] if planned is not None else ([self._exp_used] if self._exp_used else [])
        return AgentAction(action=action, key=key, value=value, tool=action.split(" ", 1)[0], reads=reads, experiences=used)

    @staticmethod
    def _plan_step(ctx: StepContext) -> tuple[str, str] | None:
        """(next action, experience id) while following the best-ranked successful plan, else None.

        The plan is the first retrieved experience (in ranked order) that
        records a success; the team follows it while its own actions so far
        are the plan's prefix and the next planned action is valid here, and
        explores as usual from the moment the plan stops fitting this world.
        Derived from the history alone, so a resumed team picks up where it was.
        """
        for hit in ctx.experiences:
            data = hit.parsed()
            if data is None or data["outcome"] != "success" or not data["plan"]:
                continue
            plan = data["plan"]
            done = [a for a, _ in ctx.history]
            n = len(done)
            if n < len(plan) and done == plan[:n] and plan[n] in ctx.observation.valid_actions:
                return plan[n], hit.id
            return None
        return None

    def _valid(self, obs: Observation, action: str) -> bool:
        return action in obs.valid_actions

    def _choose(self, obs: Observation) -> tuple[str, str | None]:
        """(action, the room it is heading for if any)."""
        room = self.current
        info = self.rooms.get(room) if room else None
        # 1. finish the task when the finishing action is available
        if self.kind == "mapreader" and self.item in self.inventory and self.box:
            put = f"put {self.item} in {self.box}"
            if self._valid(obs, put):
                return put, None
        if self.kind == "cookingworld":
            cooking = self._cooking_action(obs)
            if cooking is not None:
                return cooking
        # 2. take what the task needs when it is in reach (twc: every loose item here, then try places for all of them)
        for obj in sorted(self._needed_objects()):
            if self._valid(obs, f"take {obj}"):
                return f"take {obj}", None
        if self.kind == "twc":
            placing = self._twc_action(obs)
            if placing is not None:
                return placing, None
        # 3. learn the plan the game hands out (map / cookbook), unless memory already gave it
        if self.kind == "mapreader" and not self.map_read and not self.map_adj:
            for a in sorted(obs.valid_actions):
                if a.startswith("read ") and "map" in a:
                    return a, None
        if self.kind == "cookingworld" and self.recipe is None:
            if self._valid(obs, "read cookbook"):
                return "read cookbook", None
        # 4. go where something needed is (own sight or another team's report)
        goal = self._goal_room()
        if goal is not None and room is not None:
            if goal == room:
                opener = self._container_to_open(info, force=True) if info else None
                if opener:
                    return opener, goal
                # a report that proved wrong here: forget it, explore instead (own eyes win)
                for obj in self._needed_objects():
                    if self.reported.get(obj) == goal:
                        self.bad_places.add((obj, goal))
                        del self.reported[obj]
                goal = self._goal_room()
                if goal == room:
                    goal = None
            if goal is not None and goal != room:
                step = self._step_towards(goal, obs)
                if step is not None:
                    return step, goal
        # 5. look inside containers here (cookingworld: food and the knife hide in them)
        if self.kind == "cookingworld" and info is not None and self._needed_objects():
            opener = self._container_to_open(info, force=False)
            if opener:
                return opener, None
        # 6. explore
        if not self.finished:
            step = self._explore(obs)
            if step is not None:
                return step
        # 7. nothing sensible left: the least-tried harmless action
        return self._fallback(obs), None

    def _goal_room(self) -> str | None:
        if self.kind == "mapreader":
            if self.item and self.item not in self.inventory:
                return self._place_of(self.item) or self.item_room
            return self.box_room
        if self.kind == "cookingworld":
            need = self._needed_objects()
            if self.recipe is not None and not need:
                pending = self._pending_directions()
                appliance = None
                for d in pending:
                    verb = _verb(d)
                    if verb in _COOK_VERBS and _COOK_VERBS[verb][1]:
                        appliance = _COOK_VERBS[verb][1]
                        break
                if appliance is not None:
                    return self._room_with_fixture(appliance)
                return self.start  # prepare the meal in the kitchen
            places = sorted({p for p in (self._place_of(o) for o in need) if p is not None})
            if not places:
                return None
            dist, _ = self._dijkstra()
            return min(places, key=lambda p: (dist.get(p, 99.0), p))
        if self.kind == "twc":
            return self._twc_goal_room()
        for obj in self._needed_objects():
            place = self._place_of(obj)
            if place is not None:
                return place
        return None

    # -- twc: put each item where it belongs, learning where by trying ------------------------------
    # twc knowledge is keyed by lower-case item names (what memory carries); actions keep the game's case
    def _known_place(self, item: str) -> tuple[str, str] | None:
        return self.right.get(item.lower()) or self.shared_right.get(item.lower())

    def _is_wrong(self, item: str, room: str, place: str) -> bool:
        key = item.lower()
        return (room, place) in self.wrong.get(key, ()) or (room, place) in self.shared_wrong.get(key, ())

    def _places(self, room: str) -> list[str]:
        info = self.rooms.get(room)
        if info is None:
            return []
        return sorted(info.surfaces | info.containers | info.opened)

    def _carried(self) -> list[str]:
        return sorted(self.inventory - self.placed)

    def _put_or_open(self, item: str, place: str, obs: Observation) -> str | None:
        """The valid action that puts `item` in/on `place` (or opens it first); names compare case-blind
        (place names are kept lower-case, the game writes "TV stand")."""
        valid = {a.lower(): a for a in obs.valid_actions}
        for prep in ("in", "on"):
            act = valid.get(f"put {item} {prep} {place}".lower())
            if act is not None:
                return act
        act = valid.get(f"open {place}".lower())
        if act is not None and self.tried.get((self.current or "", act), 0) == 0:
            return act
        return None

    def _twc_action(self, obs: Observation) -> str | None:
        """Put a carried item where it is known to belong, else try a place here not yet known to be wrong.

        With a shared bank, the places other teams found wrong (or right) are read before trying, so
        the teams' trials add up instead of repeating each other.
        """
        room = self.current
        if room is None:
            return None
        carried = self._carried()
        for item in carried:
            known = self._known_place(item)
            if known is not None and known[0] == room:
                act = self._put_or_open(item, known[1], obs)
                if act is not None:
                    return act
        for item in carried:  # a place where a past success put a thing of this (or a like) name
            if self._known_place(item) is not None:
                continue
            for place, source in self._hints(item):
                if place in self._places(room) and not self._is_wrong(item, room, place):
                    act = self._put_or_open(item, place, obs)
                    if act is not None:
                        self._exp_used = source
                        return act
        # every (item, place) pair still open here, in one fixed order that each of the K teams enters at
        # its own k/K of the way: teams trying at once work through different slices instead of colliding
        pairs = sorted((item, place) for item in carried if self._known_place(item) is None and not self._hint_elsewhere(item)
                       for place in self._places(room) if not self._is_wrong(item, room, place))
        k = max(1, self._n_teams)
        start = (self._rank % k) * len(pairs) // k
        for item, place in pairs[start:] + pairs[:start]:
            if self._known_place(item) is not None:
                continue
            self._consult_place(item, room, place)  # has another team tried it already?
            known = self._known_place(item)
            if known is not None:
                act = self._put_or_open(item, known[1], obs) if known[0] == room else None
                if act is not None:
                    return act
                continue
            if self._is_wrong(item, room, place):
                continue
            act = self._put_or_open(item, place, obs)
            if act is not None:
                return act
        return None

    def _hint_elsewhere(self, item: str) -> bool:
        """Whether a hint for `item` points away from here: to a place seen in another room, or to one not seen
        yet while rooms remain unexplored. Then trying this room's places would waste puts and take-backs."""
        hints = self._hints(item)
        if not hints:
            return False
        unseen = False
        for place, _ in hints:
            rooms = [r for r, info in self.rooms.items() if info.visited and place in self._places(r) and not self._is_wrong(item, r, place)]
            if any(r != self.current for r in rooms):
                return True
            unseen = unseen or not any(place in self._places(r) for r in self.rooms)
        return unseen and bool(self._frontier(trust=False)[0])

    def _hints(self, item: str) -> list[tuple[str, str]]:
        """(place, experience or lesson id) to try for `item` before any other place, best first."""
        hints = [self._exp_places[item.lower()]] if item.lower() in self._exp_places else []
        return hints + [h for h in self._lesson_hints.get(item.lower(), []) if h[0] not in {p for p, _ in hints}]

    def _look_up_lessons(self, search: Callable[[str], list[ExperienceHit]]) -> None:
        """Ask the lessons of past runs once per carried item where things of that name went.

        Lessons of exactly this item come first, then those of like-named things
        ("clean blue socks" for "clean white socks"), each group in the
        retrieval's order; a wrong hint costs what any other trial costs.
        """
        for item in self._carried():
            key = item.lower()
            if key in self._lesson_hints or self._known_place(item) is not None:
                continue
            exact, alike = [], []
            for hit in search(f"put {key} in"):
                data = hit.parsed()
                m = _PUT_RE.match(data["plan"][0]) if data and data["outcome"] == "success" and len(data["plan"]) == 1 else None
                place = _clean_name(m["place"]) if m else None
                if m is None or place is None:
                    continue
                (exact if m["item"].lower() == key else alike).append((place, hit.id))
            hints: list[tuple[str, str]] = []
            for place, lesson in exact + alike:
                if place not in {p for p, _ in hints}:
                    hints.append((place, lesson))
            self._lesson_hints[key] = hints

    def _consult_place(self, item: str, room: str, place: str) -> None:
        """Read another team's report of putting `item` in `place` (the exact fact, if anyone wrote it)."""
        if self._ctx is None or self._ctx.memory is None:
            return
        item = item.lower()
        for hit in self._search(f"{item} does not go in the {place} in the {room}"):
            key = hit.key.lower()
            if key.startswith(f"{item} does not go in the {place} in the {room};") or key.startswith(f"{item} goes in the "):
                self._read(hit)
                return

    def _twc_goal_room(self) -> str | None:
        """Where to walk: a carried item's known or hinted place, else a seen item, else (unless a hinted place
        may lie in a room not explored yet) a room with places left to try."""
        room = self.current
        dist, _ = self._dijkstra()

        def nearest(rooms: set[str]) -> str | None:
            rooms = {r for r in rooms if r != room and r in dist}
            return min(rooms, key=lambda r: (dist[r], r)) if rooms else None

        carried = self._carried()
        known = {k[0] for k in (self._known_place(i) for i in carried) if k is not None}
        hinted = {r for i in carried if self._known_place(i) is None for place, _ in self._hints(i)
                  for r, info in self.rooms.items() if info.visited and place in self._places(r) and not self._is_wrong(i, r, place)}
        needed = {p for p in (self._place_of(o) for o in self._needed_objects()) if p is not None}
        for choice in (known, hinted, needed):
            goal = nearest(choice)
            if goal is not None:
                return goal
        if any(self._known_place(i) is None and self._hint_elsewhere(i) for i in carried):
            return None  # a hinted place nobody has seen yet: explore before trying places at random
        return nearest({r for r, info in self.rooms.items() if info.visited and any(
            not self._is_wrong(i, r, p) for i in carried if self._known_place(i) is None for p in self._places(r))})

    def _place_of(self, obj: str) -> str | None:
        """Where `obj` is: a room this team saw it in (its own eyes first), else another team's report."""
        for name in sorted(self.rooms):
            if obj in self.rooms[name].objects:
                return name
        return self.reported.get(obj)

    def _room_with_fixture(self, fixture: str) -> str | None:
        for name in sorted(self.rooms):
            if fixture in self.rooms[name].fixtures:
                return name
        for name in sorted(self.shared):
            if fixture in self.shared[name].fixtures:
                return name
        if fixture in ("oven", "stove"):
            return self.start
        return None

    def _pending_directions(self) -> list[str]:
        if self.recipe is None:
            return []
        return [d for d in self.recipe.directions if d not in self.done_directions and d != "prepare meal"]

    def _cooking_action(self, obs: Observation) -> tuple[str, str | None] | None:
        if self.recipe is None:
            return None
        if self.meal_prepared:
            return ("eat meal", None) if self._valid(obs, "eat meal") else None
        if self._needed_objects():
            return None
        for d in self._pending_directions():
            act = _direction_action(d)
            if act and self._valid(obs, act):
                return act, None
        if not self._pending_directions() and self._valid(obs, "prepare meal"):
            return "prepare meal", None
        return None

    def _container_to_open(self, info: RoomInfo, force: bool) -> str | None:
        if self.current is None:
            return None
        candidates = sorted(info.containers - info.opened, key=lambda c: (c not in _PRIORITY_CONTAINERS, c))
        shared = self.shared.get(self.current)
        hinted = sorted(shared.opened) if shared else []
        for c in hinted + candidates:
            if c in info.opened or c not in info.containers:
                continue
            if not force and c not in _PRIORITY_CONTAINERS and c not in hinted:
                continue
            if any(c == n for n in _NEVER_OPEN):
                continue
            act = f"open {c}"
            if self.tried.get((self.current, act), 0) == 0:
                return act
        return None

    def _fallback(self, obs: Observation) -> str:
        safe = [a for a in obs.valid_actions if a.split(" ", 1)[0] in ("look", "inventory", "examine", "move")]
        pool = safe or list(obs.valid_actions)
        if not pool:
            return "look around"
        room = self.current or ""
        return min(sorted(pool), key=lambda a: self.tried.get((room, a), 0))

    # -- map: combined view, shortest paths, frontier ----------------------------------------------
    def _explored(self, room: str) -> bool:
        own = self.rooms.get(room)
        if own is not None and own.visited:
            return True
        sh = self.shared.get(room)
        return sh is not None and sh.visited

    def _combined(self) -> dict[str, dict[str, str | None]]:
        """Every known room's exits: own observations first, then reports, then inferred reverse edges."""
        rooms = set(self.rooms) | set(self.shared) | set(self.map_adj)
        for a, _d, b in self.shared_edges:
            rooms.update((a, b))
        out: dict[str, dict[str, str | None]] = {}
        for room in sorted(rooms):
            own = self.rooms.get(room)
            if own is not None and own.visited:
                # own eyes win; reports only name what is behind doors this team has not opened
                mine = dict(own.exits)
                sh = self.shared.get(room)
                for d, t in (sh.exits.items() if sh is not None else ()):
                    if d in mine and mine[d] is None and t is not None:
                        mine[d] = t
                out[room] = mine
                continue
            merged: dict[str, str | None] = {}
            sh = self.shared.get(room)
            if sh is not None:
                merged.update(sh.exits)
            if own is not None:
                for d, t in own.exits.items():
                    if t is not None or d not in merged:
                        merged[d] = t
            out[room] = merged
        for a, d, b in sorted(self.shared_edges):
            here = out.setdefault(a, {})
            if here.get(d) is None and (d in here or not self._own_visited(a)):
                here[d] = b
        # TWX maps are grids: "west of A is B" means "east of B is A"
        for a in sorted(out):
            for d, b in sorted(out[a].items()):
                if b is None:
                    continue
                rd = OPPOSITE[d]
                back = out.setdefault(b, {})
                if back.get(rd) is None and (rd in back or not self._own_visited(b)):
                    back[rd] = a
        return out

    def _own_visited(self, room: str) -> bool:
        own = self.rooms.get(room)
        return own is not None and own.visited

    def _exits(self, room: str) -> dict[str, str | None]:
        return self._combined().get(room, {})

    def _dijkstra(self) -> tuple[dict[str, float], dict[str, tuple[str | None, str]]]:
        """Distances from the current room and, per room, the first hop (direction or None, next room)."""
        if self.current is None:
            return {}, {}
        graph = self._combined()
        dist = {self.current: 0.0}
        first: dict[str, tuple[str | None, str]] = {}
        heap: list[tuple[float, int, str]] = [(0.0, 0, self.current)]
        counter = 1
        while heap:
            d0, _, room = heapq.heappop(heap)
            if d0 > dist.get(room, float("inf")):
                continue
            own = self.rooms.get(room)
            edges: dict[str, tuple[str | None, float]] = {}
            for d, nb in graph.get(room, {}).items():
                if nb is None:
                    continue
                cost = 2.0 if own is not None and own.visited and d in own.closed else 1.0
                if nb not in edges or (cost, self._dir_rank(d)) < (edges[nb][1], self._dir_rank(edges[nb][0])):
                    edges[nb] = (d, cost)
            for nb in self.map_adj.get(room, ()):
                if nb not in edges:
                    edges[nb] = (None, 2.0)
            for nb, (d, cost) in sorted(edges.items(), key=lambda x: (self._dir_rank(x[1][0]), x[0])):
                nd = d0 + cost
                if nd < dist.get(nb, float("inf")) - 1e-9:
                    dist[nb] = nd
                    first[nb] = (d, nb) if room == self.current else first[room]
                    heapq.heappush(heap, (nd, counter, nb))
                    counter += 1
        return dist, first

    def _dir_rank(self, direction: str | None) -> int:
        if direction is None:
            return len(DIRS)
        order = DIRS[self._rank % 4 :] + DIRS[: self._rank % 4]
        return order.index(direction) if direction in order else len(DIRS)

    def _step_towards(self, goal: str, obs: Observation) -> str | None:
        dist, first = self._dijkstra()
        if goal not in first or self.current is None:
            return None
        direction, nxt = first[goal]
        return self._hop(direction, nxt, obs)

    def _hop(self, direction: str | None, nxt: str, obs: Observation) -> str | None:
        """The action that moves one hop towards `nxt` from the current room."""
        own = self.rooms.get(self.current or "")
        if direction is None:
            # a map edge: open closed doors here until the neighbour shows its name
            if own is not None:
                for d in sorted(own.closed, key=self._dir_rank):
                    if own.exits.get(d) is None:
                        act = f"open door to {d}"
                        if self._valid(obs, act):
                            return act
            return None
        if own is not None and direction in own.closed:
            act = f"open door to {direction}"
            if self._valid(obs, act) and self.tried.get((self.current or "", act), 0) < 2:
                return act
        act = f"move {direction}"
        return act if self._valid(obs, act) else None

    def _frontier(self, trust: bool = True) -> tuple[list[_Candidate], dict[str, float], dict[str, tuple[str | None, str]]]:
        """Exits towards unexplored rooms, cheapest first. `trust=False`: only this team's own visits count
        as explored (used once the reports have led nowhere: hearsay never stops the search)."""
        dist, first = self._dijkstra()
        graph = self._combined()
        explored = self._explored if trust else self._own_visited
        out: list[_Candidate] = []
        for room in sorted(dist):
            if not explored(room):
                continue
            own = self.rooms.get(room)
            for d, t in sorted(graph.get(room, {}).items()):
                if t is not None and explored(t):
                    continue
                if t is None and self.tried.get((room, f"open door to {d}"), 0) >= 2:
                    continue
                closed = own is not None and own.visited and d in own.closed
                cost = dist[room] + 1.0 + (1.0 if closed or t is None else 0.0)
                if trust and t is not None and self._yields_to(self.claimed.get(t, ())):
                    cost += CLAIM_PENALTY
                if self._spreading():
                    cost += SPREAD * self._dir_rank(d)  # teams that share a bank fan out
                # ties: finish nearby rooms first (coming back later costs more), then the team's direction order
                out.append(_Candidate(cost, (dist[room], self._dir_rank(d), room, d), room, d, t))
        out.sort(key=lambda c: (c.cost, c.rank))
        return out, dist, first

    def _explore(self, obs: Observation) -> tuple[str, str | None] | None:
        trust = True
        for _ in range(6):
            candidates, _dist, first = self._frontier(trust)
            if not candidates and trust:
                trust = False
                candidates, _dist, first = self._frontier(trust)
            if not candidates:
                return None
            best = candidates[0]
            # ask the bank whether another team has been (or is heading) there; the map may change
            if trust and self._ctx is not None and self._ctx.memory is not None:
                if best.target is not None and self._consult_room(best.target):
                    continue
                if best.target is None and best.room == self.current and self._consult_room(best.room, exits_only=True):
                    continue
            return self._go_to_frontier(best, first, obs)
        candidates, _dist, first = self._frontier(trust)
        return self._go_to_frontier(candidates[0], first, obs) if candidates else None

    def _go_to_frontier(
        self, best: _Candidate, first: dict[str, tuple[str | None, str]], obs: Observation
    ) -> tuple[str, str | None] | None:
        if best.room == self.current:
            own = self.rooms[best.room]
            if best.target is None or best.direction in own.closed:
                act = f"open door to {best.direction}"
                if self._valid(obs, act) and self.tried.get((best.room, act), 0) < 2:
                    return act, best.target
            act = f"move {best.direction}"
            return (act, best.target) if self._valid(obs, act) else None
        if best.room not in first:
            return None
        direction, nxt = first[best.room]
        step = self._hop(direction, nxt, obs)
        return (step, best.target or best.room) if step is not None else None

    # -- reading the shared memory (searching and reading: ScriptedAgent) ------------------------
    def _spreading(self) -> bool:
        if self.spread is not None:
            return self.spread
        return self._ctx is not None and self._ctx.memory is not None

    def _yields_to(self, teams: Any) -> bool:
        """Whether a claim by any of `teams` outranks this team (lower rank first; symmetric teams must not all swerve)."""
        me = (self._rank, self._team)
        return any((team_rank(t), t) < me for t in teams)

    def _read(self, hit: MemoryHit) -> dict[str, Any] | None:
        text = self._read_text(hit)
        value = parse_value(text) if text is not None else None
        if value is not None:
            self._merge(value, hit.team)
        return value

    def _merge(self, v: dict[str, Any], team: str = "") -> None:
        room = v.get("room")
        if room:
            sh = self.shared.setdefault(room, RoomInfo())
            sh.visited = True
            for d, t in v.get("exits", {}).items():
                if t is not None or d not in sh.exits:
                    sh.exits[d] = t
            sh.closed |= set(v.get("closed", ()))
            sh.objects |= set(v.get("objects", ()))
            sh.opened |= set(v.get("opened", ()))
            sh.fixtures |= set(v.get("fixtures", ()))
            for obj in v.get("objects", ()):
                if self._needs(obj) and (obj, room) not in self.bad_places and obj not in self.reported:
                    self.reported[obj] = room
        for key in ("target", "to"):
            t = v.get(key)
            if t and not self._explored(t):
                self.claimed.setdefault(t, set()).add(team)
        path = v.get("path") or []
        rooms_on_path = [p[0] for p in path] + ([room] if room else [])
        for (a, d), b in zip(path, rooms_on_path[1:]):
            if a != b:
                self.shared_edges.add((a, d, b))
        if v.get("map") and not self.map_adj:
            for a, nbs in v["map"].items():
                for b in nbs:
                    self.map_adj.setdefault(a, set()).add(b)
                    self.map_adj.setdefault(b, set()).add(a)
        for item, where in v.get("right", {}).items():
            self.shared_right.setdefault(item, where)
        for item, places in v.get("wrong", {}).items():
            self.shared_wrong.setdefault(item, set()).update(places)
        if v.get("recipe") and self.recipe is None:
            r = v["recipe"]
            self.recipe = Recipe(list(r["ingredients"]), list(r["directions"]))

    def _read_reports(self, query: str, phrases: tuple[str, ...], settled: Callable[[], bool]) -> None:
        """Read other teams' hits for `query` whose key names one of `phrases`, until `settled()` holds."""
        for hit in self._search(query):
            key = hit.key.lower()
            if not any(p in key for p in phrases):
                continue
            self._read(hit)
            if settled():
                return

    def _consult_places(self, ctx: StepContext) -> None:
        """Where are the objects the task needs? Read reports that name one of them."""
        for obj in sorted(self._needed_objects()):
            if self._place_of(obj) is None:
                self._read_reports(f"{obj} is in the", (f"{obj} is in ", f"{obj} are in "), lambda o=obj: o in self.reported)

    def _consult_placements(self) -> None:
        """twc: where does each carried item belong (or not)? Read reports that name the item."""
        for item in self._carried():
            if self._known_place(item) is None:
                low = item.lower()
                self._read_reports(f"{low} goes in the", (f"{low} goes in ", f"{low} does not go in "),
                                   lambda i=item: self._known_place(i) is not None)

    def _consult_room(self, room: str, exits_only: bool = False) -> bool:
        """Read another team's report of `room` (explored, or being headed for); True if the map changed."""
        before = (self._explored(room), sorted(self.claimed.get(room, ())), self._exits(room), len(self.reported))
        for hit in self._search(f"in the {room}"):
            key = hit.key.lower()
            if room not in key:
                continue
            if exits_only and not (key.startswith(f"in the {room},") and self._key_names_unknown_exit(key, room)):
                continue
            v = self._read(hit)
            if v is None:
                continue
            if v.get("room") == room:
                break
        after = (self._explored(room), sorted(self.claimed.get(room, ())), self._exits(room), len(self.reported))
        return before != after

    def _key_names_unknown_exit(self, key: str, room: str) -> bool:
        """Whether a key's "exits:" part names a room behind a door that is closed and unnamed for this team."""
        own = self.rooms.get(room)
        unknown = {d for d, t in (own.exits.items() if own else ()) if t is None}
        if not unknown or "exits:" not in key:
            return False
        part = key.split("exits:", 1)[1].split(";", 1)[0]
        for item in part.split(","):
            words = item.strip().split(" ", 1)
            if len(words) == 2 and words[0] in unknown and words[1].strip() != "closed door":
                return True
        return False

    def _consult_map(self, ctx: StepContext) -> None:
        for hit in self._search("map of the rooms: connections"):
            if "map" in hit.key.lower():
                v = self._read(hit)
                if v is not None and v.get("map"):
                    return

    def _consult_recipe(self, ctx: StepContext) -> None:
        for hit in self._search("recipe: ingredients and directions"):
            if "recipe" in hit.key.lower():
                v = self._read(hit)
                if v is not None and v.get("recipe"):
                    return

    # -- describing the step for the bank ----------------------------------------------------------
    def _path_from_start(self, room: str) -> list[list[str]]:
        """The route start -> room over this agent's own map (own observations only)."""
        if self.start is None or room == self.start:
            return []
        prev: dict[str, tuple[str, str]] = {}
        queue = [self.start]
        seen = {self.start}
        while queue:
            a = queue.pop(0)
            own = self.rooms.get(a)
            if own is None:
                continue
            for d in DIRS:
                b = own.exits.get(d)
                if b and b not in seen:
                    seen.add(b)
                    prev[b] = (a, d)
                    queue.append(b)
        if room not in prev:
            return []
        path: list[list[str]] = []
        cur = room
        while cur != self.start:
            a, d = prev[cur]
            path.append([a, d])
            cur = a
        return path[::-1]

    def _describe(self, action: str, target: str | None, obs: Observation) -> tuple[str, str]:
        room = self.current or "unknown place"
        info = self.rooms.get(room, RoomInfo())
        to: str | None = None
        if action.startswith("move "):
            to = info.exits.get(action[5:])
        value: dict[str, Any] = {
            "v": VALUE_VERSION,
            "room": room,
            "action": action,
            "to": to,
            "target": target if target != room else None,
            "exits": {d: info.exits[d] for d in DIRS if d in info.exits},
            "closed": sorted(info.closed),
            "objects": sorted(info.objects),
        }
        if info.opened:
            value["opened"] = sorted(info.opened)
        if info.fixtures:
            value["fixtures"] = sorted(info.fixtures)
        exits_txt = ", ".join(f"{d} {info.exits[d] or 'closed door'}" for d in DIRS if d in info.exits) or "none seen"
        found = sorted(o for o in info.objects if self._wanted_anyway(o))
        if self.kind == "twc" and (self.right or self.wrong or self.shared_right or self.shared_wrong):
            # what this team knows, first-hand and read: one read then passes on everything known so far
            right = {**self.shared_right, **self.right}
            wrong = {i: self.wrong.get(i, set()) | self.shared_wrong.get(i, set()) for i in set(self.wrong) | set(self.shared_wrong)}
            value["right"] = {i: list(w) for i, w in sorted(right.items())}
            value["wrong"] = {i: sorted(list(w) for w in ws) for i, ws in sorted(wrong.items())}
        if self.last_fact is not None:
            item, where, place, right = self.last_fact
            key = f"{item} {'goes' if right else 'does not go'} in the {place} in the {where}; {action}"
        elif self.kind == "twc" and self.right:
            # every later step repeats what this team found, so a reader asking "where does X go" finds it
            facts = "; ".join(f"{i} goes in the {p} in the {r}" for i, (r, p) in sorted(self.right.items()))
            key = f"{facts}; now in the {room}, {action}"
        elif found:
            value["start"] = self.start
            value["path"] = self._path_from_start(room)
            where = f"{room} (in the {', '.join(sorted(info.opened))})" if info.opened and self.kind == "cookingworld" else room
            verb = "is" if len(found) == 1 else "are"
            key = f"{', '.join(found)} {verb} in the {where}; {action}"
            if value["path"]:
                key += "; route from the " + self.start + ": " + " ".join(d for _, d in value["path"])  # type: ignore[operator]
        elif action.startswith("read ") and self.kind == "mapreader":
            key = f"map of the rooms: read the map in the {room}"
        elif action == "read cookbook":
            key = f"recipe: read the cookbook in the {room}"
        else:
            key = f"in the {room}, {action}" + (f" -> the {to}" if to else "") + f"; exits: {exits_txt}"
            if target and target != to and target != room:
                key += f"; heading to the {target}"
        if self.map_adj and self.kind == "mapreader":
            value["map"] = {a: sorted(b) for a, b in sorted(self.map_adj.items())}
        if self.recipe is not None and self.kind == "cookingworld":
            value["recipe"] = {"ingredients": list(self.recipe.ingredients), "directions": list(self.recipe.directions)}
        return compact_key(key), json.dumps(value, separators=(",", ":"), sort_keys=True)

    def describe_outcome(self, action: str, observation: Observation) -> tuple[str, str] | None:
        """twc: a put's result (right or wrong place) is the step's entry, readable by the others next round."""
        if self.last_fact is None:
            return None
        described = self._describe(action, None, observation)
        self.last_fact = None  # said once: the next step describes itself
        return described

    def _wanted_anyway(self, obj: str) -> bool:
        """Objects worth announcing: what this task needs (also after this agent took them)."""
        if self.kind in ("coin", "mapreader"):
            return obj == self.item
        if self.kind == "cookingworld" and self.recipe is not None:
            return obj in self.recipe.ingredients or obj == "knife"
        if self.kind == "twc":
            return obj not in self.placed
        return False


# -- helpers ---------------------------------------------------------------------------------------


def _verb(direction: str) -> str:
    return direction.split(" ", 1)[0].lower()


def _direction_action(direction: str) -> str | None:
    parts = direction.split(" ", 1)
    verb = parts[0].lower()
    if verb not in _COOK_VERBS or len(parts) < 2:
        return None
    return _COOK_VERBS[verb][0].format(x=_norm(parts[1]))


def _parse_recipe(text: str) -> Recipe:
    ingredients: list[str] = []
    directions: list[str] = []
    section = None
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        low = s.lower()
        if low.startswith("ingredients"):
            section = ingredients
            continue
        if low.startswith("directions"):
            section = directions
            continue
        if section is not None:
            section.append(_norm(s) if section is ingredients else " ".join(s.lower().split()))
    return Recipe(ingredients, directions)


def _clean_list(values: Any, limit: int = 40) -> list[str]:
    if not isinstance(values, list):
        return []
    out = []
    for v in values[:limit]:
        c = _clean_name(v)
        if c is not None:
            out.append(c)
    return out


def _experience_places(experiences: Any) -> dict[str, tuple[str, str]]:
    """twc: item -> (place, experience id) from the best-ranked successful plan among the retrieved experiences.

    A put that the plan never undid (no later "take" of the same thing) raised the score: that is where
    the thing belongs, and things of the same name usually belong in places of the same name in other
    houses too. Only the best-ranked success is used, so the retrieval ranking decides which one.
    """
    for hit in experiences or ():
        data = hit.parsed()
        if data is None or data["outcome"] != "success":
            continue
        plan = data["plan"]
        out: dict[str, tuple[str, str]] = {}
        for i, action in enumerate(plan):
            m = _PUT_RE.match(action)
            if not m:
                continue
            item = m["item"]
            if any(later == f"take {item}" for later in plan[i + 1 :]):
                continue  # taken back: a wrong place
            place = _clean_name(m["place"])
            if _clean_name(item) is not None and place is not None:
                out[_clean_name(item)] = (place, hit.id)  # type: ignore[index]
        return out
    return {}


def _clean_pair(value: Any) -> tuple[str, str] | None:
    """A twc (room, place) pair from untrusted data."""
    if not isinstance(value, list) or len(value) != 2:
        return None
    room, place = _clean_name(value[0]), _clean_name(value[1])
    return (room, place) if room is not None and place is not None else None


def parse_value(text: str) -> dict[str, Any] | None:
    """Parse an explorer step value from the bank; None if it is not one (memory is untrusted)."""
    raw = load_value_object(text, VALUE_VERSION)
    if raw is None:
        return None
    out: dict[str, Any] = {"v": VALUE_VERSION}
    out["room"] = _clean_name(raw.get("room"))
    out["to"] = _clean_name(raw.get("to"))
    out["target"] = _clean_name(raw.get("target"))
    out["action"] = raw.get("action") if isinstance(raw.get("action"), str) and len(raw["action"]) < 80 else ""
    exits: dict[str, str | None] = {}
    if isinstance(raw.get("exits"), dict):
        for d, t in raw["exits"].items():
            if d in DIRS:
                if t is None:
                    exits[d] = None
                else:
                    c = _clean_name(t)
                    if c is not None:
                        exits[d] = c
    out["exits"] = exits
    out["closed"] = [d for d in raw.get("closed", []) if d in DIRS] if isinstance(raw.get("closed"), list) else []
    out["objects"] = _clean_list(raw.get("objects"))
    out["opened"] = _clean_list(raw.get("opened"))
    out["fixtures"] = [f for f in _clean_list(raw.get("fixtures")) if f in ("oven", "stove", "barbeque")]
    path: list[list[str]] = []
    if isinstance(raw.get("path"), list):
        for hop in raw["path"][:30]:
            if isinstance(hop, list) and len(hop) == 2 and hop[1] in DIRS:
                a = _clean_name(hop[0])
                if a is None:
                    path = []
                    break
                path.append([a, hop[1]])
            else:
                path = []
                break
    out["path"] = path
    mp: dict[str, list[str]] = {}
    if isinstance(raw.get("map"), dict):
        for a, nbs in list(raw["map"].items())[:40]:
            ca = _clean_name(a)
            if ca is not None:
                mp[ca] = _clean_list(nbs, limit=8)
    out["map"] = mp
    right: dict[str, tuple[str, str]] = {}
    if isinstance(raw.get("right"), dict):
        for item, where in list(raw["right"].items())[:20]:
            pair = _clean_pair(where)
            if _clean_name(item) is not None and pair is not None:
                right[_clean_name(item)] = pair  # type: ignore[index]
    out["right"] = right
    wrong: dict[str, set[tuple[str, str]]] = {}
    if isinstance(raw.get("wrong"), dict):
        for item, places in list(raw["wrong"].items())[:20]:
            name = _clean_name(item)
            if name is None or not isinstance(places, list):
                continue
            pairs = {pair for pair in (_clean_pair(w) for w in places[:40]) if pair is not None}
            if pairs:
                wrong[name] = pairs
    out["wrong"] = wrong
    recipe = raw.get("recipe")
    if isinstance(recipe, dict):
        ing = _clean_list(recipe.get("ingredients"), limit=10)
        dirs = []
        if isinstance(recipe.get("directions"), list):
            for d in recipe["directions"][:12]:
                if isinstance(d, str) and re.fullmatch(r"[a-z][a-z' -]{0,60}", d.strip().lower()):
                    dirs.append(" ".join(d.strip().lower().split()))
        if ing and dirs:
            out["recipe"] = {"ingredients": ing, "directions": dirs}
    if out["room"] is None and not out["map"] and "recipe" not in out:
        return None
    return out

