"""Country look-ups over pycountry as LangChain tools, and the parsers of their replies.

    find_country(name)                  a name or code -> alpha-2, alpha-3, numeric code, official name
    country_subdivisions(alpha_2)       a country's ISO 3166-2 subdivisions, counted by type
    find_subdivision(name)              a subdivision -> its code, type, country and parent
    find_currency(code)                 an ISO 4217 alphabetic or numeric code -> the currency
    country_name_in(alpha_2, language)  a country's name in a language

Each tool answers one hop, and the hop-2 tools take the alpha-2 code that
`find_country` or `find_subdivision` gives, so a question about a named country
needs several calls and every team's first call on it is the same: the
overlap that shared memory saves. Replies are compact, one record a line,
fields separated by " | " (names contain commas and parentheses); bad input
gets a reply that says what to pass instead, never an exception. The parsers
read a reply back, also when another team's result arrives quoted from the
shared memory.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from teammind.agents.langchain_tools import with_latency
from teammind.agents.memory_tools import quoted_entries
from teammind.suites.countries import data

SEP = " | "
_COUNTRY_RE = re.compile(
    r"^(?P<name>.+?) \| alpha-2 (?P<alpha_2>[A-Z]{2}) \| alpha-3 (?P<alpha_3>[A-Z]{3}) \| numeric (?P<numeric>\d{3})"
    r"(?: \| official name (?P<official_name>.+))?$"
)
_SUBDIVISIONS_RE = re.compile(
    r"^(?P<alpha_2>[A-Z]{2}) \| (?P<name>.+?) \| alpha-3 (?P<alpha_3>[A-Z]{3}) \| numeric (?P<numeric>\d{3}) \| "
    r"(?P<total>\d+) ISO 3166-2 subdivisions$"
)
_TYPE_RE = re.compile(r"^(?P<type>.+): (?P<count>\d+)$")
_SUBDIVISION_RE = re.compile(
    r"^(?P<code>[A-Z0-9]{2}-[A-Z0-9]+) \| (?P<name>.+?) \| (?P<type>.+?) \| country (?P<country>[A-Z]{2})(?: \| parent (?P<parent>\S+))?$"
)
_CURRENCY_RE = re.compile(r"^(?P<alpha_3>[A-Z]{3}) \| (?P<name>.+?) \| numeric (?P<numeric>\d{3})$")
_NAME_IN_RE = re.compile(r"^(?P<alpha_2>[A-Z]{2}) \| (?P<name>.+?) \| (?P<language>.+?) \((?P<code>[a-z_A-Z]+)\): (?P<translated>.+)$")


def unquote(reply: str) -> str:
    """A tool reply's text: the quoted value when the reply came from the shared memory, else the reply itself."""
    entries = quoted_entries(reply)
    return entries[0][1].strip() if entries else reply.strip()


# -- replies -----------------------------------------------------------------------------------


def country_line(c: data.Country) -> str:
    official = f"{SEP}official name {c.official_name}" if c.official_name else ""
    return f"{c.name}{SEP}alpha-2 {c.alpha_2}{SEP}alpha-3 {c.alpha_3}{SEP}numeric {c.numeric}{official}"


def find_country(name: str) -> str:
    """Find a country by name or code (English short or official name, alpha-2, alpha-3 or numeric code). Returns its alpha-2,
    alpha-3 and numeric ISO 3166-1 codes and official name, one matching country per line, best first."""
    found = data.find_countries(name)
    if not found:
        return f"no country matches {name!r}; pass an English name (France), an official name (French Republic) or a code (FR, FRA, 250)"
    return "\n".join(country_line(c) for c in found)


def country_subdivisions(alpha_2: str) -> str:
    """Count a country's ISO 3166-2 subdivisions (regions, states, provinces, ...) by type. Takes the country's two-letter
    alpha-2 code (find_country gives it). First line: the country and its total; then one 'type: count' line per type."""
    c = data.country(alpha_2) if isinstance(alpha_2, str) and len(alpha_2.strip()) == 2 else None
    if c is None:
        return f"no country has alpha-2 code {alpha_2!r}; pass a two-letter code such as FR (find_country gives it)"
    types = data.subdivision_types(c.alpha_2)
    head = f"{c.alpha_2}{SEP}{c.name}{SEP}alpha-3 {c.alpha_3}{SEP}numeric {c.numeric}{SEP}{sum(types.values())} ISO 3166-2 subdivisions"
    return "\n".join([head, *(f"{kind}: {count}" for kind, count in types.items())])


def find_subdivision(name: str) -> str:
    """Find an ISO 3166-2 subdivision (region, state, province, department, ...) by name or code. Returns its code, name,
    type, the alpha-2 code of its country and its parent subdivision, one match per line."""
    found = data.find_subdivisions(name)
    if not found:
        return f"no subdivision matches {name!r}; pass its name as ISO 3166-2 spells it (Savoie, Bavaria -> Bayern) or its code (FR-73)"
    return "\n".join(f"{s.code}{SEP}{s.name}{SEP}{s.type}{SEP}country {s.country}" + (f"{SEP}parent {s.parent}" if s.parent else "")
                     for s in found)


def find_currency(code: str) -> str:
    """Find a currency by its ISO 4217 code: three letters (EUR) or its three-digit numeric code (978). Returns the
    alphabetic code, the name and the numeric code."""
    found = data.currency(code) if isinstance(code, (str, int)) else None
    if found is None:
        return f"no currency has code {code!r}; pass an ISO 4217 code: three letters (EUR) or three digits (978)"
    return f"{found.alpha_3}{SEP}{found.name}{SEP}numeric {found.numeric}"


def country_name_in(alpha_2: str, language: str) -> str:
    """A country's name in another language (German, fr, ...). Takes the country's two-letter alpha-2 code (find_country
    gives it) and the language's English name or ISO 639 code."""
    c = data.country(alpha_2) if isinstance(alpha_2, str) and len(alpha_2.strip()) == 2 else None
    if c is None:
        return f"no country has alpha-2 code {alpha_2!r}; pass a two-letter code such as FR (find_country gives it)"
    lang = data.language(language) if isinstance(language, str) else None
    if lang is None:
        return (f"no country names in language {language!r}; pass the English name or ISO 639 code of one of the "
                f"{len(data.languages())} languages pycountry translates into, e.g. German (de), French (fr), Spanish (es)")
    translated = data.name_in(c.alpha_2, lang.code)
    if translated is None:
        return f"pycountry has no {lang.name} name for {c.name} ({c.alpha_2})"
    return f"{c.alpha_2}{SEP}{c.name}{SEP}{lang.name} ({lang.code}): {translated}"


TOOL_FUNCTIONS = (find_country, country_subdivisions, find_subdivision, find_currency, country_name_in)
TOOL_NAMES = tuple(f.__name__ for f in TOOL_FUNCTIONS)


def country_tools(latency_s: float = 0.0) -> list[BaseTool]:
    """The five country tools as LangChain tools; `latency_s` seconds are added to every call (a slow web tool, offline)."""
    return [with_latency(StructuredTool.from_function(f), latency_s) for f in TOOL_FUNCTIONS]


# -- parsers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountryRecord:
    alpha_2: str
    alpha_3: str
    numeric: str
    name: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_countries(reply: str) -> list[CountryRecord]:
    """The country records of a `find_country` reply (best first); [] for a refusal."""
    out = []
    for line in unquote(reply).splitlines():
        m = _COUNTRY_RE.match(line.strip())
        if m:
            out.append(CountryRecord(m["alpha_2"], m["alpha_3"], m["numeric"], m["name"]))
    return out


def parse_subdivisions(reply: str) -> tuple[CountryRecord, dict[str, int]] | None:
    """(the country, type -> count) of a `country_subdivisions` reply; None for a refusal."""
    lines = unquote(reply).splitlines()
    head = _SUBDIVISIONS_RE.match(lines[0].strip()) if lines else None
    if head is None:
        return None
    types = {m["type"]: int(m["count"]) for m in (_TYPE_RE.match(line.strip()) for line in lines[1:]) if m}
    return CountryRecord(head["alpha_2"], head["alpha_3"], head["numeric"], head["name"]), types


def parse_subdivisions_head(line: str) -> CountryRecord | None:
    """The country of a `country_subdivisions` reply's first line (what a shared entry's key holds)."""
    m = _SUBDIVISIONS_RE.match(line.strip())
    return CountryRecord(m["alpha_2"], m["alpha_3"], m["numeric"], m["name"]) if m else None


def parse_subdivision(reply: str) -> dict[str, str] | None:
    """The first subdivision of a `find_subdivision` reply (code, name, type, country, parent); None for a refusal."""
    for line in unquote(reply).splitlines():
        m = _SUBDIVISION_RE.match(line.strip())
        if m:
            return {k: v or "" for k, v in m.groupdict().items()}
    return None


def parse_currency(reply: str) -> dict[str, str] | None:
    m = _CURRENCY_RE.match(unquote(reply).splitlines()[0].strip()) if unquote(reply) else None
    return m.groupdict() if m else None


def parse_name_in(reply: str) -> str | None:
    """The translated name of a `country_name_in` reply; None for a refusal."""
    m = _NAME_IN_RE.match(unquote(reply).strip())
    return m["translated"] if m else None


__all__ = [
    "TOOL_NAMES", "CountryRecord", "country_line", "country_name_in", "country_subdivisions", "country_tools", "find_country",
    "find_currency", "find_subdivision", "parse_countries", "parse_currency", "parse_name_in", "parse_subdivision",
    "parse_subdivisions", "parse_subdivisions_head", "unquote",
]
