"""The joins pycountry supports, as plain look-ups: the one source of facts for the tools and the tasks' answers.

pycountry ships ISO 3166-1 (countries), ISO 3166-2 (subdivisions, with their
country and parent), ISO 4217 (currencies), ISO 639 (languages) and gettext
catalogues that translate country names. It has no country -> currency or
country -> language table, so the questions join what it does have: a
subdivision's country, a country's subdivisions by type, a currency by
numeric code, a country's name in a language. Everything is read from the
installed package (offline); indices are built once per process, under a lock
because parallel teams call the tools from several threads at once.
"""

from __future__ import annotations

import gettext
import os
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pycountry

_LOCK = threading.Lock()
_INDEX: "_Index | None" = None
_CATALOGUES: dict[str, gettext.NullTranslations | None] = {}


@dataclass(frozen=True)
class Country:
    alpha_2: str
    alpha_3: str
    numeric: str
    name: str
    official_name: str = ""
    common_name: str = ""

    @property
    def aliases(self) -> tuple[str, ...]:
        """Every way a question or an answer may name the country."""
        return tuple(a for a in (self.name, self.official_name, self.common_name, self.alpha_2, self.alpha_3) if a)


@dataclass(frozen=True)
class Subdivision:
    code: str
    name: str
    type: str
    country: str  # alpha-2
    parent: str = ""  # the parent subdivision's code, if any


@dataclass(frozen=True)
class Currency:
    alpha_3: str
    name: str
    numeric: str


@dataclass(frozen=True)
class Language:
    code: str  # the locale folder's name: ISO 639-1 where there is one, else ISO 639-3
    name: str


def normalise(text: str) -> str:
    """Case, accents, punctuation and spacing do not matter: 'Côte d'Ivoire' == 'cote d ivoire'."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain).split())


class _Index:
    def __init__(self) -> None:
        self.countries = sorted(
            (Country(c.alpha_2, c.alpha_3, c.numeric, c.name, getattr(c, "official_name", ""), getattr(c, "common_name", ""))
             for c in pycountry.countries),
            key=lambda c: c.alpha_2,
        )
        self.by_alpha_2 = {c.alpha_2: c for c in self.countries}
        self.by_alias: dict[str, list[Country]] = {}
        for c in self.countries:
            for alias in dict.fromkeys(normalise(a) for a in (*c.aliases, c.numeric, str(int(c.numeric)))):
                self.by_alias.setdefault(alias, []).append(c)
        self.subdivisions = sorted(
            (Subdivision(s.code, s.name, s.type, s.country_code, getattr(s, "parent_code", None) or "") for s in pycountry.subdivisions),
            key=lambda s: s.code,
        )
        self.by_country: dict[str, list[Subdivision]] = {}
        self.subdivision_names: dict[str, list[Subdivision]] = {}
        for s in self.subdivisions:
            self.by_country.setdefault(s.country, []).append(s)
            self.subdivision_names.setdefault(normalise(s.name), []).append(s)
            self.subdivision_names.setdefault(normalise(s.code), []).append(s)
        self.currencies = {c.alpha_3: Currency(c.alpha_3, c.name, c.numeric) for c in pycountry.currencies}
        self.currency_numeric = {c.numeric: c for c in self.currencies.values()}
        locales = set(os.listdir(pycountry.LOCALES_DIR))
        self.languages: dict[str, Language] = {}
        for lang in pycountry.languages:
            code = next((c for c in (getattr(lang, "alpha_2", None), lang.alpha_3) if c and c in locales), None)
            if code is not None and os.path.exists(os.path.join(pycountry.LOCALES_DIR, code, "LC_MESSAGES", "iso3166-1.mo")):
                self.languages[code] = Language(code, lang.name)
        self.language_names: dict[str, Language] = {}
        for lang in pycountry.languages:
            code = next((c for c in (getattr(lang, "alpha_2", None), lang.alpha_3) if c and c in self.languages), None)
            if code is None:
                continue
            for alias in (lang.name, getattr(lang, "alpha_2", ""), lang.alpha_3, getattr(lang, "bibliographic", "")):
                if alias:
                    self.language_names.setdefault(normalise(alias), self.languages[code])


def _index() -> _Index:
    global _INDEX
    with _LOCK:
        if _INDEX is None:
            _INDEX = _Index()
        return _INDEX


def countries() -> list[Country]:
    """Every ISO 3166-1 country, by alpha-2 code."""
    return list(_index().countries)


def country(alpha_2: str) -> Country | None:
    """The country with this alpha-2 code (exact, case-insensitive)."""
    return _index().by_alpha_2.get(str(alpha_2).strip().upper())


def _exact_or_near(exact: dict[str, list[Any]], query: str, near: Any, limit: int) -> list[Any]:
    """The exact matches of the normalised query if there are any, else `near(key)`; [] for an empty query."""
    key = normalise(query)
    if not key:
        return []
    return (exact.get(key) or near(key))[:limit]


def find_countries(query: str, limit: int = 3) -> list[Country]:
    """Countries a name or code names: exact matches (any name, alpha-2/3, numeric) if any, else names containing the query."""
    index = _index()

    def near(key: str) -> list[Country]:
        contains = [c for c in index.countries if any(key in normalise(a) for a in (c.name, c.official_name, c.common_name) if a)]
        return sorted(contains, key=lambda c: (len(c.name), c.name))

    return _exact_or_near(index.by_alias, query, near, limit)


def subdivisions(alpha_2: str) -> list[Subdivision]:
    """The ISO 3166-2 subdivisions of a country (every level), by code."""
    return list(_index().by_country.get(str(alpha_2).strip().upper(), ()))


def subdivision_types(alpha_2: str) -> dict[str, int]:
    """Subdivision type -> how many the country has, most first (ties by name)."""
    counts = Counter(s.type for s in subdivisions(alpha_2))
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def find_subdivisions(query: str, limit: int = 5) -> list[Subdivision]:
    """Subdivisions a name or code names: exact matches if any, else names starting with the query."""
    index = _index()
    return _exact_or_near(index.subdivision_names, query, lambda key: [s for s in index.subdivisions if normalise(s.name).startswith(key)],
                          limit)


def currency(code: str | int) -> Currency | None:
    """The currency with this ISO 4217 alphabetic code (EUR) or numeric code (978, or 68 for 068)."""
    index, text = _index(), str(code).strip()
    if text.isdigit():
        return index.currency_numeric.get(text.zfill(3))
    return index.currencies.get(text.upper())


def currencies() -> list[Currency]:
    return sorted(_index().currencies.values(), key=lambda c: c.alpha_3)


def language(name_or_code: str) -> Language | None:
    """A language pycountry can name countries in, by English name or ISO 639 code; None if it has no catalogue."""
    return _index().language_names.get(normalise(name_or_code))


def languages() -> list[Language]:
    """Every language with a catalogue of country names."""
    return sorted(_index().languages.values(), key=lambda lang: lang.code)


def _catalogue(code: str) -> gettext.NullTranslations | None:
    with _LOCK:
        if code not in _CATALOGUES:
            try:
                _CATALOGUES[code] = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[code])
            except OSError:
                _CATALOGUES[code] = None
        return _CATALOGUES[code]


def name_in(alpha_2: str, language_code: str) -> str | None:
    """The country's short name in a language (pycountry's catalogue); None if the catalogue lacks it."""
    found = country(alpha_2)
    catalogue = _catalogue(language_code) if language_code in _index().languages else None
    if found is None or catalogue is None:
        return None
    messages: dict[Any, Any] = getattr(catalogue, "_catalog", {})
    translated = messages.get(found.name)
    return translated if isinstance(translated, str) and translated else None


__all__ = [
    "Country", "Currency", "Language", "Subdivision", "countries", "country", "currencies", "currency", "find_countries",
    "find_subdivisions", "language", "languages", "name_in", "normalise", "subdivision_types", "subdivisions",
]
