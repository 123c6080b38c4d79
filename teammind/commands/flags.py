"""Between flags and specs: a spec from the command line (optionally on top of a spec.json), errors named by flag."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from teammind.memory import InvalidFieldError
from teammind.specs import Spec

S = TypeVar("S", bound=Spec)


def flag(field_name: str) -> str:
    """The flag that sets a spec field: max_steps -> --max-steps."""
    return "--" + field_name.replace("_", "-")


@contextmanager
def errors_named_by_flag(spec_cls: type[Spec]) -> Iterator[None]:
    """Re-raise a spec field's error under the flag that sets it, so the message names what to type."""
    names = {f.name for f in dataclasses.fields(spec_cls)}
    try:
        yield
    except InvalidFieldError as err:
        if err.field not in names:
            raise
        raise InvalidFieldError(flag(err.field), err.problem, err.fix) from err


def spec_from_flags(spec_cls: type[S], values: dict[str, Any], spec_file: str | None) -> S:
    """`spec_cls(**values)`; with `spec_file`, that spec with every value that differs from its default applied on top."""
    with errors_named_by_flag(spec_cls):
        if spec_file is None:
            return spec_cls(**values)
        base = spec_cls.load(spec_file)
        defaults = spec_cls.defaults()
        changed = {k: v for k, v in values.items() if k in defaults and v != defaults[k]}
        return dataclasses.replace(base, **changed)
