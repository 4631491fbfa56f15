"""The one registry of methods.

Each method module declares a :class:`Method` and passes it to :func:`register`. The CLI
options of ``dpdown scale``, the ``dpdown methods`` table and the API's parameter checking
are all derived from these declarations.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import ParameterError

# Modules under dpdown.methods, in the order ``dpdown methods`` lists them.
METHOD_MODULES = ("avg", "extrema", "lp", "softpool", "mixed", "stochastic", "ordinal", "dpid", "dpp",
                  "s3pool", "learned")


@dataclass(frozen=True)
class Param:
    """One parameter of a method.

    ``name`` is the Python keyword (``lam``), ``flag`` the CLI option (``--lambda``).
    ``kind`` is ``float``, ``int``, ``choice``, ``floats`` (a comma-separated list) or ``path``
    (a file name, or an object the method accepts in its place through the API).
    """

    name: str
    kind: str
    default: Any
    help: str
    flag: str | None = None
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    length: int | None = None  # for ``floats``: the required number of values
    size_from: str | None = None  # for ``floats`` of no fixed length: "window" (k²) or a parameter's name

    def size(self, k: int, values: dict) -> int:
        """How many numbers a ``floats`` parameter holds for window size ``k`` (``dpdown fit``)."""
        if self.length is not None:
            return self.length
        if self.size_from == "window":
            return k * k
        if self.size_from is not None:
            return int(values[self.size_from])
        raise ParameterError(f"{self.cli_flag} has no fixed number of values")

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def describe_range(self) -> str:
        if self.kind == "choice":
            return "|".join(self.choices)
        if self.kind == "path":
            return "file"
        if self.kind == "floats":
            return f"{self.length} numbers" if self.length else "numbers"
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        return f"[{lo}, {hi}]"

    def check(self, value):
        """The value converted to the parameter's type, or a :class:`ParameterError`."""
        label = f"{self.cli_flag} ({self.name})"
        if self.kind == "path":
            return os.fspath(value) if isinstance(value, (str, os.PathLike)) else value
        if self.kind == "choice":
            if value not in self.choices:
                raise ParameterError(f"{label} must be one of {', '.join(self.choices)} (got {value!r})")
            return value
        if self.kind == "floats":
            if isinstance(value, str):
                try:
                    value = [float(v) for v in value.replace(" ", "").split(",") if v]
                except ValueError:
                    raise ParameterError(f"{label} must be comma-separated numbers (got {value!r})") from None
            value = tuple(float(v) for v in value)
            if self.length is not None and len(value) != self.length and value != self.default:
                raise ParameterError(f"{label} needs {self.length} numbers (got {len(value)})")
            return value
        try:
            value = int(value) if self.kind == "int" else float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{label} must be a number (got {value!r})") from None
        if value != value or (self.low is not None and value < self.low) or \
                (self.high is not None and value > self.high):
            raise ParameterError(f"{label} must be in {self.describe_range()} (got {value})")
        return value


@dataclass(frozen=True)
class Method:
    """A downscaling method: what it is called, what it takes, where it comes from, how it runs.

    ``run(work, footprint, **params)`` returns float64 working values (H'×W'×C').
    ``footprint(shape, footprint, **params)``, for the few methods that choose their own
    footprint (S3's random rows and columns), turns the planned footprint into the one they
    pool, so that :mod:`dpdown.core.memory_strips` can cut the final footprint into strips; ``run`` given
    a footprint so chosen pools it as it is.
    ``same_as(**params)``, for a method that some parameters make another one exactly (the same
    computation, bit for bit: LIP without its logit filter is SoftPool), returns that method's
    name and parameters, else None; an evaluation computes and scores such a pair once.
    """

    name: str
    summary: str
    formula: str
    paper: str
    run: Callable
    params: tuple[Param, ...] = field(default_factory=tuple)
    notes: str = ""
    footprint: Callable | None = None
    same_as: Callable | None = None

    def computation(self, given: dict) -> tuple:
        """``(name, params)`` of what this method computes with the parameters ``given`` (the
        others at their defaults), as a key: its own, or that of the method it is the same as."""
        params = self.resolve(given)
        other = self.same_as(**params) if self.same_as else None
        if other is not None:
            name, other_params = other
            return get(name).computation(other_params)
        return self.name, tuple(sorted((name, _key(value)) for name, value in params.items()))

    def plan(self, shape, footprint, params: dict):
        """The footprint this method pools, from the planned one (see ``footprint``)."""
        return footprint if self.footprint is None else self.footprint(shape, footprint, **params)

    def resolve(self, given: dict) -> dict:
        """Defaults filled in and every value checked; unknown names are an error."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(given) - set(known))
        if unknown:
            accepted = ", ".join(known) or "none"
            raise ParameterError(f"method {self.name!r} has no parameter {unknown[0]!r} "
                                 f"(it takes: {accepted})")
        return {name: p.check(given[name]) if given.get(name) is not None else p.default
                for name, p in known.items()}


def _key(value):
    """``value`` as part of a dictionary key: itself, or where it cannot be hashed (an object
    passed through the API, a learned Operator), its identity: never equal to another's."""
    try:
        hash(value)
    except TypeError:
        return "object", id(value)
    return value


_REGISTRY: dict[str, Method] = {}
_ORDERED: dict[str, Method] = {}


def register(method: Method) -> Method:
    _REGISTRY[method.name] = method
    return method


def methods() -> dict[str, Method]:
    """Every registered method, by name: each module of :data:`METHOD_MODULES` is loaded (a
    module may register several methods, and one may import another), and the methods are
    listed in that order of modules, each module's in the order it registers them, however
    they were first imported."""
    if len(_ORDERED) != len(_REGISTRY) or not _ORDERED:
        for module in METHOD_MODULES:
            importlib.import_module(f"dpdown.methods.{module}")
        rank = {f"dpdown.methods.{module}": i for i, module in enumerate(METHOD_MODULES)}
        ordered = sorted(_REGISTRY.values(), key=lambda m: rank.get(m.run.__module__, len(rank)))
        _ORDERED.clear()
        _ORDERED.update((m.name, m) for m in ordered)
    return _ORDERED


def standalone() -> list[str]:
    """The methods that run on their defaults alone (all but those needing a file, e.g. ``learned``)."""
    return [m.name for m in methods().values() if all(p.default is not None for p in m.params)]


def get(name: str) -> Method:
    table = methods()
    if name not in table:
        raise ParameterError(f"unknown method {name!r}; choose one of {', '.join(table)}")
    return table[name]


def all_params() -> dict[str, list[tuple[Method, Param]]]:
    """Every CLI flag with the methods that use it (one option may serve several methods)."""
    flags: dict[str, list[tuple[Method, Param]]] = {}
    for method in methods().values():
        for p in method.params:
            flags.setdefault(p.cli_flag, []).append((method, p))
    return flags


def markdown_table() -> str:
    """The methods as a Markdown table (README's, kept in step by a test)."""
    def cell(text):
        return str(text).replace("|", "\\|")

    def show(value):
        if isinstance(value, tuple):
            return ",".join(f"{v:g}" for v in value) or "none"
        return f"{value:g}" if isinstance(value, float) else str(value)

    rows = ["| method | parameters (default) | computes | paper |", "|---|---|---|---|"]
    for m in methods().values():
        params = "<br>".join(f"`{p.cli_flag}` ({cell(show(p.default))})" for p in m.params) or "—"
        rows.append(f"| `{m.name}` | {params} | {cell(m.formula)} | {cell(m.paper)} |")
    return "\n".join(rows)
