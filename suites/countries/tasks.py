"""Multi-hop questions over pycountry's tables as `Task`s, graded by code.

    teammind run --team teammind.suites.countries.team:scripted_team --tasks teammind.suites.countries.tasks:load_tasks:n=5

Four templates, each needing at least two tool calls (`tools.py`):

* subdivision_count   How many subdivisions of type T does the country with alpha-3 code X have?
                      find_country(X) -> country_subdivisions(alpha-2)
* most_subdivisions   Which of "A", "B", "C" has the most subdivisions, and what is its numeric code?
                      per country: find_country -> country_subdivisions (K teams take the countries in different orders)
* currency_code       Which currency's ISO 4217 numeric code equals the ISO 3166-1 numeric code of "A"?
                      find_country(A) -> find_currency(numeric)
* name_in_language    What is the German name of the country that contains the subdivision "S"?
                      find_subdivision(S) -> country_name_in(alpha-2, German)

Item `s` (seeds `seed`..`seed + n - 1`) is drawn from its own seeded generator
and template `s % templates`, so a longer list starts with the shorter one.
`split` draws from disjoint country sets (a fixed hash of the alpha-2 code puts
about a quarter of the countries in "test"), so a policy trained on "train"
questions is evaluated on countries it never saw.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Sequence

from teammind.graphs.tasks import Task
from teammind.suites.countries import data
from teammind.suites.options import as_int

TEMPLATES = ("subdivision_count", "most_subdivisions", "currency_code", "name_in_language")
SPLITS = ("train", "test")
TEST_SHARE = 0.25  # of the countries, by a fixed hash of their alpha-2 code
LANGUAGES = ("German", "French", "Spanish", "Italian", "Dutch", "Portuguese", "Swedish", "Polish")
MAX_DRAWS = 200

_NUMBER_RE = re.compile(r"^[-+]?\d+(?:\.0+)?$")


# -- splits ------------------------------------------------------------------------------------


def split_of(alpha_2: str) -> str:
    """"test" for a fixed quarter of the countries, "train" for the rest (the same on every machine)."""
    digest = hashlib.sha256(f"teammind-countries-split:{alpha_2.upper()}".encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") / 2**64 < TEST_SHARE else "train"


def split_countries(split: str) -> list[data.Country]:
    """The countries a split draws from."""
    return [c for c in data.countries() if split_of(c.alpha_2) == split]


# -- graders -----------------------------------------------------------------------------------


def _number(answer: str) -> int | None:
    text = answer.strip().rstrip(".").strip().replace(",", "")
    return int(float(text)) if _NUMBER_RE.match(text) else None


def number_grader(expected: int) -> Callable[[str], float]:
    """1.0 for exactly the expected whole number ('96', '96.', '96.0'), else 0.0."""

    def grade(answer: str) -> float:
        return 1.0 if _number(answer) == expected else 0.0

    return grade


def name_grader(*accepted: str) -> Callable[[str], float]:
    """1.0 when the answer equals one of the accepted names, ignoring case, accents, punctuation and spacing."""
    names = {data.normalise(a) for a in accepted if a}

    def grade(answer: str) -> float:
        return 1.0 if data.normalise(answer) in names else 0.0

    return grade


def country_and_number_grader(country: data.Country) -> Callable[[str], float]:
    """1.0 for '<country>, <numeric code>': the one number is the code, the rest names the country (any of its names or codes)."""
    names = {data.normalise(a) for a in country.aliases}

    def grade(answer: str) -> float:
        numbers = re.findall(r"\d+", answer)
        rest = data.normalise(re.sub(r"\d+", " ", answer))
        return 1.0 if len(numbers) == 1 and int(numbers[0]) == int(country.numeric) and rest in names else 0.0

    return grade


# -- templates ---------------------------------------------------------------------------------


def _subdivision_count(rng: random.Random, pool: Sequence[data.Country]) -> tuple[str, Callable[[str], float], str]:
    c = rng.choice([c for c in pool if data.subdivisions(c.alpha_2)])
    types = data.subdivision_types(c.alpha_2)
    kind = rng.choice(sorted(types))
    question = (f'How many subdivisions of type "{kind}" does the country with ISO 3166-1 alpha-3 code {c.alpha_3} have? '
                "Reply with the number only.")
    return question, number_grader(types[kind]), str(types[kind])


def _most_subdivisions(rng: random.Random, pool: Sequence[data.Country]) -> tuple[str, Callable[[str], float], str]:
    candidates = [c for c in pool if data.subdivisions(c.alpha_2)]
    for _ in range(MAX_DRAWS):
        picked = rng.sample(candidates, 3)
        totals = [len(data.subdivisions(c.alpha_2)) for c in picked]
        if len(set(totals)) == len(totals):
            break
    else:  # pragma: no cover - the tables have hundreds of distinct totals
        raise RuntimeError("most_subdivisions: no three countries with distinct subdivision counts")
    best = picked[totals.index(max(totals))]
    names = ", ".join(f'"{c.name}"' for c in picked)
    question = (f"Which of these countries has the most ISO 3166-2 subdivisions: {names}? "
                "Reply with the country and its ISO 3166-1 numeric code, as: <country>, <numeric code>.")
    return question, country_and_number_grader(best), f"{best.name}, {best.numeric}"


def _currency_code(rng: random.Random, pool: Sequence[data.Country]) -> tuple[str, Callable[[str], float], str]:
    c = rng.choice([c for c in pool if data.currency(c.numeric) is not None])
    money = data.currency(c.numeric)
    assert money is not None
    question = (f'Which currency has the ISO 4217 numeric code that equals the ISO 3166-1 numeric code of "{c.name}"? '
                "Reply with its three-letter ISO 4217 code only.")
    return question, name_grader(money.alpha_3, money.name), money.alpha_3


def _name_in_language(rng: random.Random, pool: Sequence[data.Country]) -> tuple[str, Callable[[str], float], str]:
    country_names = {data.normalise(a) for c in data.countries() for a in c.aliases}
    for _ in range(MAX_DRAWS):
        c = rng.choice([c for c in pool if data.subdivisions(c.alpha_2)])
        sub = rng.choice(data.subdivisions(c.alpha_2))
        lang = data.language(rng.choice(LANGUAGES))
        if lang is None or '"' in sub.name or data.normalise(sub.name) in country_names:
            continue
        if [s.code for s in data.find_subdivisions(sub.name)] != [sub.code]:
            continue  # the name must name one subdivision
        translated = data.name_in(c.alpha_2, lang.code)
        if translated and data.normalise(translated) != data.normalise(c.name):
            question = (f'What is the {lang.name} name of the country that contains the subdivision "{sub.name}"? '
                        "Reply with the name only.")
            return question, name_grader(translated), translated
    raise RuntimeError("name_in_language: no subdivision with a unique name and a translated country name")  # pragma: no cover


_MAKERS: dict[str, Callable[[random.Random, Sequence[data.Country]], tuple[str, Callable[[str], float], str]]] = {
    "subdivision_count": _subdivision_count, "most_subdivisions": _most_subdivisions, "currency_code": _currency_code,
    "name_in_language": _name_in_language,
}


# -- the loader --------------------------------------------------------------------------------


def _templates(value: str | Sequence[str]) -> tuple[str, ...]:
    names = tuple(t.strip() for t in (value.split("|") if isinstance(value, str) else value) if t.strip())
    if names == ("all",):
        return TEMPLATES
    unknown = [t for t in names if t not in TEMPLATES]
    if unknown or not names:
        raise ValueError(f"templates: {unknown[0] if unknown else value!r} is not a template; use all or some of "
                         f"{'|'.join(TEMPLATES)} (separated by |)")
    return names


def question(seed: int, split: str = "train", templates: str | Sequence[str] = "all") -> tuple[str, str, Callable[[str], float], str]:
    """(template, question, grader, expected answer) of item `seed`."""
    if split not in SPLITS:
        raise ValueError(f"split: {split!r} is not a split; use train or test (disjoint country sets)")
    names = _templates(templates)
    template = names[seed % len(names)]
    rng = random.Random(f"teammind-countries:{split}:{seed}")
    text, grade, expected = _MAKERS[template](rng, split_countries(split))
    return template, text, grade, expected


def load_tasks(n: int | str = 20, seed: int | str = 0, split: str = "train", templates: str | Sequence[str] = "all") -> list[Task]:
    """`n` questions (items `seed`..`seed + n - 1`) about the countries of `split`; `templates` picks some (a|b)."""
    count, first = as_int("n", n, 1), as_int("seed", seed, 0)
    tasks = []
    for s in range(first, first + count):
        template, text, grade, _ = question(s, split, templates)
        tasks.append(Task(text=text, grade=grade, id=f"countries:{split}-{s}:{template}"))
    return tasks


__all__ = ["LANGUAGES", "SPLITS", "TEMPLATES", "country_and_number_grader", "load_tasks", "name_grader", "number_grader", "question",
           "split_countries", "split_of"]
