"""The analysts' Cypher library: one parameterised query per ``.cypher`` file in ``cypher/``.

Each file starts with a header of ``//`` comments::

    // Question: Which recipients do the most stovepipes converge on?
    // Parameters:
    //   limit (count, default 25): how many rows to return
    //   provider_id (id): the provider's id
    // Example: graphflows query convergence_points --param limit=10

Parameter values given as text (``--param limit=10``) are converted to the declared type and checked
(:mod:`.parameters`: ``share`` 0 to 1, ``count`` 0 or more, ``currency`` an ISO 4217 code with flows in the
database, ``id`` a node in the database); a missing, unknown or wrong parameter is a :class:`LibraryError`
naming it, in one line.

>>> [q.name for q in list_queries()][:2]                   # doctest: +SKIP
['co_funding_commissioners', 'convergence_points']
"""

from __future__ import annotations

import os
import re
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from .parameters import TYPES, LibraryError, Parameter, check_in_database
from .runner import CypherRunner, NeedsGds, QueryResult

_PARAM_LINE = re.compile(
    r"^//\s+\$?(?P<name>[A-Za-z_]\w*)\s*\((?P<type>\w+)(?:\s*,\s*default\s+(?P<default>[^)]*))?\)\s*:\s*(?P<help>.*)$"
)
_PARAM_USE = re.compile(r"\$([A-Za-z_]\w*)")


@dataclass(frozen=True)
class LibraryQuery:
    """A query from the library: name (file stem), question, parameters, example and Cypher text."""

    name: str
    question: str
    parameters: tuple[Parameter, ...]
    example: str
    text: str
    path: Path

    def bind(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Check and convert parameter values; defaults fill in what is not given."""
        declared = {p.name: p for p in self.parameters}
        unknown = sorted(set(values) - set(declared))
        if unknown:
            allowed = ", ".join(declared) or "none"
            raise LibraryError(
                f"query {self.name}: unknown parameter {', '.join(unknown)} (parameters: {allowed})"
            )
        bound: dict[str, Any] = {}
        for param in self.parameters:
            if param.name in values:
                bound[param.name] = param.convert(values[param.name])
            elif param.optional:
                bound[param.name] = param.default
            else:
                raise LibraryError(
                    f"query {self.name}: missing parameter {param.name} ({param.type}: {param.help}); "
                    f"give it as --param {param.name}=VALUE"
                )
        return bound

    def run(self, runner: CypherRunner, bound: Mapping[str, Any]) -> QueryResult:
        """Run with parameters from :meth:`bind` (read-only), once the database has confirmed its ids and
        currencies (:func:`~.parameters.check_in_database`)."""
        check_in_database(runner, self.parameters, bound)
        try:
            return runner.run(self.text, bound)
        except NeedsGds as exc:
            raise NeedsGds(exc.where, self.name) from None


def cypher_dir() -> Path:
    """``$GRAPHFLOWS_CYPHER_DIR``, else the source checkout's ``cypher/`` folder, else the installed copy.

    A wheel installs the folder as ``share/graphflows/cypher`` under its install scheme's data path
    (``<prefix>/share/...``, ``~/.local/share/...`` for ``--user``); it is found from the wheel's own
    file list, whatever the scheme.
    """
    if os.environ.get("GRAPHFLOWS_CYPHER_DIR"):
        return Path(os.environ["GRAPHFLOWS_CYPHER_DIR"])
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "cypher" / "schema.cypher").is_file():
        return checkout / "cypher"
    return installed_cypher_dir() or checkout / "cypher"


def installed_cypher_dir() -> Path | None:
    """Where the installed distribution put ``share/graphflows/cypher`` (None if nowhere to be found).

    Looks where the wheel's file list says, then beside the package (``pip install --target``), then
    under the interpreter's data paths (default and user schemes).
    """
    try:
        dist = metadata.distribution("graphflows")
    except metadata.PackageNotFoundError:
        return None
    listed = [f for f in dist.files or [] if f.name == "schema.cypher" and f.parent.name == "cypher"]
    candidates = [Path(str(f.locate())).parent for f in listed]
    candidates.append(Path(str(dist.locate_file(""))) / "share" / "graphflows" / "cypher")
    for scheme in (sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user")):
        candidates.append(Path(sysconfig.get_path("data", scheme)) / "share" / "graphflows" / "cypher")
    return next((c.resolve() for c in candidates if (c / "schema.cypher").is_file()), None)


def parse_query(path: Path) -> LibraryQuery:
    """Read one library file and its header."""
    text = path.read_text(encoding="utf-8")
    question, example, params = "", "", []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("//"):
            if stripped:
                break
            continue
        body = stripped[2:].strip()
        if body.lower().startswith("question:"):
            question = body.split(":", 1)[1].strip()
        elif body.lower().startswith("example:"):
            example = body.split(":", 1)[1].strip()
        elif match := _PARAM_LINE.match(stripped):
            params.append(_parameter(path, match))
    if not question:
        raise LibraryError(f"{path}: the header has no '// Question:' line")
    return LibraryQuery(path.stem, question, tuple(params), example, text, path)


def list_queries(directory: Path | None = None) -> list[LibraryQuery]:
    """Every query in the library (``schema.cypher`` excluded), sorted by name."""
    directory = directory or cypher_dir()
    if not directory.is_dir():
        raise LibraryError(f"no Cypher library at {directory} (set GRAPHFLOWS_CYPHER_DIR)")
    return [parse_query(p) for p in sorted(directory.glob("*.cypher")) if p.stem != "schema"]


def load_query(name: str, directory: Path | None = None) -> LibraryQuery:
    """The library query called ``name``; a :class:`LibraryError` listing the names if there is none."""
    queries = {q.name: q for q in list_queries(directory)}
    if name not in queries:
        raise LibraryError(f"no query called {name!r} in the library (known: {', '.join(sorted(queries))})")
    return queries[name]


def run_named(
    runner: CypherRunner, name: str, values: Mapping[str, Any] | None = None, directory: Path | None = None
) -> QueryResult:
    """Run library query ``name`` (read-only) with ``values`` for its parameters."""
    query = load_query(name, directory)
    return query.run(runner, query.bind(values or {}))


def used_parameters(text: str) -> set[str]:
    """The ``$names`` a query uses (comments excluded)."""
    code = "\n".join(line.split("//", 1)[0] for line in text.splitlines())
    return set(_PARAM_USE.findall(code))


def _parameter(path: Path, match: re.Match[str]) -> Parameter:
    kind = match["type"].lower()
    if kind not in TYPES:
        raise LibraryError(
            f"{path}: parameter {match['name']} has unknown type {kind!r} (one of {', '.join(TYPES)})"
        )
    raw = match["default"]
    if raw is None:
        return Parameter(match["name"], kind, match["help"].strip())
    raw = raw.strip()
    default = None if raw.lower() == "null" else Parameter(match["name"], kind, "").convert(raw.strip("'\""))
    return Parameter(match["name"], kind, match["help"].strip(), default, optional=True)
