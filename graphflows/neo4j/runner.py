"""One way to run Cypher: always with parameters, read or write, errors turned into clear messages.

Every entry point (the CLI, the Python API, the notebooks) finds the server the same way,
:meth:`Neo4jSettings.resolve`: what is passed in, else the environment (``NEO4J_URI``, ``NEO4J_USER``,
``NEO4J_PASSWORD``, ``NEO4J_DATABASE``), else the local server ``graphflows neo4j start`` runs on the data
folder (its URI and its generated credentials), else ``bolt://127.0.0.1:7687`` without authentication.
The password is never shown (not in ``repr``, not in messages).

>>> with connect() as runner:                                        # doctest: +SKIP
...     runner.run("MATCH (n:Provider {id: $id}) RETURN n.name AS name", {"id": "P1"}).rows
[{'name': 'Inclusion Healthcare'}]
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from graphflows.model import GraphflowsError

DEFAULT_URI = "bolt://127.0.0.1:7687"


class Neo4jError(GraphflowsError):
    """Neo4j could not be reached, refused the credentials, or rejected a query."""


class Neo4jUnavailable(Neo4jError):
    """No server answers at the URI (or the connection broke): worth retrying for a while."""


class CypherError(Neo4jError):
    """The query is wrong: a syntax error, a missing parameter, a type error..."""


class NeedsGds(CypherError):
    """The query calls Graph Data Science (``gds.*``), which the server does not have."""

    def __init__(self, where: str, who: str = "the query"):
        self.where = where
        super().__init__(
            f"{who} needs Neo4j Graph Data Science, which the server at {where} does not have: restart "
            "graphflows' local server with it (`graphflows neo4j stop`, then `graphflows neo4j start --gds`)"
        )


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows (each a dict) of one query."""

    columns: list[str]
    rows: list[dict[str, Any]]
    counters: dict[str, int] = field(default_factory=dict)


class CypherRunner(Protocol):
    """What the loader and the query library need: run one parameterised query, read or write.

    The loader calls ``run`` from several threads at once (``workers``), so a runner must allow that.
    """

    def run(
        self, query: str, parameters: Mapping[str, Any] | None = None, *, write: bool = False
    ) -> QueryResult:
        """Run ``query`` with ``parameters`` in one transaction."""
        ...


@dataclass(frozen=True)
class Neo4jSettings:
    """Where Neo4j is and how to log in. ``password`` is kept out of ``repr``."""

    uri: str = DEFAULT_URI
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    #: Set by :meth:`resolve` when no URI was given and no local server runs on this data folder: the
    #: default URI is a guess, and "not running" is the likely reason it does not answer.
    no_local_server: Path | None = None
    #: Set by :meth:`resolve` when graphflows' local server runs but ``uri`` (given, or ``NEO4J_URI``) is
    #: another: its Bolt URI, for the error when nothing answers at ``uri`` (a URI left from an earlier
    #: start, when the restart could not have the same port).
    local_elsewhere: str | None = None

    @classmethod
    def resolve(
        cls,
        uri: str | None = None,
        *,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        data_dir: Path | None = None,
    ) -> Neo4jSettings:
        """The one resolution order: arguments, else environment, else the local server, else the default.

        The local server is the one ``graphflows neo4j start`` runs on ``data_dir`` (default: its default
        data folder); its credentials are used only when the URI is that server's and none were given.
        """
        from graphflows.neo4j import server

        local = server.status(data_dir)
        guessed = not uri and not os.environ.get("NEO4J_URI") and local is None
        uri = uri or os.environ.get("NEO4J_URI") or (local.bolt_uri if local else DEFAULT_URI)
        user = user or os.environ.get("NEO4J_USER") or os.environ.get("NEO4J_USERNAME")
        if password is None:
            password = os.environ.get("NEO4J_PASSWORD") or None
        if password is None and local is not None and same_server(uri, local.bolt_uri):
            local_auth = server.credentials(Path(local.data_dir))
            if local_auth is not None:
                user, password = local_auth
        database = database or os.environ.get("NEO4J_DATABASE") or None
        folder = (data_dir or server.default_data_dir()).expanduser() if guessed else None
        elsewhere = local.bolt_uri if local is not None and not same_server(uri, local.bolt_uri) else None
        return cls(uri, user, password, database, no_local_server=folder, local_elsewhere=elsewhere)

    @classmethod
    def from_env(cls, uri: str | None = None, database: str | None = None) -> Neo4jSettings:
        """``uri`` if given, else ``NEO4J_URI`` (default bolt://127.0.0.1:7687); user/password from env."""
        return cls(
            uri=uri or os.environ.get("NEO4J_URI") or DEFAULT_URI,
            user=os.environ.get("NEO4J_USER") or os.environ.get("NEO4J_USERNAME"),
            password=os.environ.get("NEO4J_PASSWORD"),
            database=database or os.environ.get("NEO4J_DATABASE") or None,
        )

    def auth(self) -> tuple[str, str] | None:
        """Basic auth when a password is set (user defaults to ``neo4j``), else no auth."""
        if self.password:
            return (self.user or "neo4j", self.password)
        return None


class BoltRunner:
    """A :class:`CypherRunner` over the official driver (one driver, a session per query)."""

    def __init__(self, settings: Neo4jSettings, *, retry_seconds: float = 5.0):
        """``retry_seconds``: how long the driver itself retries a transaction that failed transiently
        (the loader then retries whole batches with its own, longer backoff)."""
        from neo4j import GraphDatabase

        self.settings = settings
        try:
            self._driver = GraphDatabase.driver(
                settings.uri,
                auth=settings.auth(),
                max_transaction_retry_time=retry_seconds,
                notifications_min_severity="OFF",  # no driver log lines about e.g. unknown types in empty DBs
            )
        except ValueError as exc:  # a malformed URI
            raise Neo4jError(f"bad Neo4j URI {settings.uri!r}: {exc}") from None

    def verify(self) -> None:
        """Check that the server answers and accepts the credentials."""
        with translate_errors(self.settings):
            self._driver.verify_connectivity()

    def run(
        self, query: str, parameters: Mapping[str, Any] | None = None, *, write: bool = False
    ) -> QueryResult:
        """Run one query in a managed transaction (the driver retries transient failures)."""
        from neo4j import READ_ACCESS, WRITE_ACCESS

        params = dict(parameters or {})

        def work(tx: Any) -> QueryResult:
            result = tx.run(query, params)
            rows = [record.data() for record in result]
            summary = result.consume()
            counters = changes(summary.counters)
            return QueryResult(list(result.keys()), rows, counters)

        with translate_errors(self.settings):
            access = WRITE_ACCESS if write else READ_ACCESS
            with self._driver.session(database=self.settings.database, default_access_mode=access) as session:
                return session.execute_write(work) if write else session.execute_read(work)

    def session(self) -> Any:
        """A driver session on the configured database (for explicit transactions)."""
        return self._driver.session(database=self.settings.database)

    def close(self) -> None:
        self._driver.close()

    def __enter__(self) -> BoltRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    settings: Neo4jSettings | None = None,
    *,
    uri: str | None = None,
    data_dir: Path | None = None,
    verify: bool = True,
) -> BoltRunner:
    """A :class:`BoltRunner` for ``settings`` (default: :meth:`Neo4jSettings.resolve` with ``uri`` and
    ``data_dir``), checked unless told not to."""
    runner = BoltRunner(settings or Neo4jSettings.resolve(uri, data_dir=data_dir))
    if verify:
        try:
            runner.verify()
        except BaseException:
            runner.close()
            raise
    return runner


class translate_errors:
    """Turn driver exceptions into :class:`Neo4jError` subclasses with one-line messages."""

    def __init__(self, settings: Neo4jSettings):
        self.settings = settings

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None:
            return False
        from neo4j import exceptions as nx

        where = self.settings.uri
        if isinstance(exc, nx.AuthError):
            user = self.settings.user or "neo4j"
            raise Neo4jError(
                f"Neo4j at {where} refused the credentials for user {user!r} (set NEO4J_USER and "
                'NEO4J_PASSWORD; for the local server: eval "$(graphflows neo4j env)")'
            ) from None
        if isinstance(exc, nx.ServiceUnavailable) and self.settings.no_local_server is not None:
            raise Neo4jUnavailable(
                f"no Neo4j server is running on {self.settings.no_local_server} (start one with "
                "`graphflows neo4j start`), and NEO4J_URI / --neo4j-uri name no other server"
            ) from exc
        if isinstance(exc, nx.ServiceUnavailable) and self.settings.local_elsewhere is not None:
            raise Neo4jUnavailable(
                f"cannot reach Neo4j at {where}: {_one_line(exc)}; graphflows' local server runs at "
                f"{self.settings.local_elsewhere}, not there: is NEO4J_URI (or --neo4j-uri) left from an "
                "earlier start? Unset it (graphflows then finds the local server by itself), or run "
                'eval "$(graphflows neo4j env)" again'
            ) from exc
        if isinstance(exc, (nx.ServiceUnavailable, nx.SessionExpired)):
            raise Neo4jUnavailable(
                f"cannot reach Neo4j at {where}: {_one_line(exc)} "
                "(start one with `graphflows neo4j start`, or set NEO4J_URI / --neo4j-uri)"
            ) from exc
        if isinstance(exc, nx.ConfigurationError):
            raise Neo4jError(f"Neo4j connection settings for {where}: {_one_line(exc)}") from None
        if isinstance(exc, nx.Neo4jError):
            if isinstance(exc, nx.TransientError):
                raise Neo4jUnavailable(f"Neo4j at {where}: {_one_line(exc)}") from exc
            code = (exc.code or "").rsplit(".", 1)[-1]
            if code == "AuthenticationRateLimit":
                raise Neo4jError(
                    f"Neo4j at {where} refused user {self.settings.user or 'neo4j'!r} for a few seconds "
                    "after too many wrong passwords; check the credentials and try again"
                ) from None
            if code == "AccessMode":
                raise CypherError(
                    "the query writes to the database but ran read-only "
                    "(graphflows cypher --write allows writes)"
                ) from None
            if needs_gds(code, _one_line(exc)):
                raise NeedsGds(where) from None
            raise CypherError(f"Neo4j rejected the query ({code}): {_one_line(exc)}") from None
        if isinstance(exc, nx.DriverError):
            raise Neo4jError(f"Neo4j driver error talking to {where}: {_one_line(exc)}") from None
        return False


def needs_gds(code: str, message: str) -> bool:
    """Whether Neo4j refused a query because a ``gds.*`` procedure or function is not installed.

    >>> needs_gds("ProcedureNotFound", "There is no procedure with the name `gds.pageRank.stream` ...")
    True
    >>> needs_gds("SyntaxError", "Unknown function 'gds.util.asNode' (line 3, column 9)")
    True
    >>> needs_gds("SyntaxError", "Invalid input 'RETRUN'")
    False
    """
    missing = code == "ProcedureNotFound" or "unknown function" in message.lower()
    return missing and bool(re.search(r"[`'\"]gds\.", message))


def changes(counters: Any) -> dict[str, int]:
    """The non-zero counts of a query's summary (``nodes_created``...), without the driver's private
    attributes and yes/no flags (``_contains_updates``)."""
    return {
        name: value
        for name, value in vars(counters).items()
        if not name.startswith("_") and isinstance(value, int) and not isinstance(value, bool) and value
    }


def same_server(uri: str, local_uri: str) -> bool:
    """Whether ``uri`` points at the local server (any Bolt scheme; ``localhost`` or ``127.0.0.1``)."""
    try:
        a, b = urlsplit(uri), urlsplit(local_uri)
        loopback = {"127.0.0.1", "localhost", "::1"}
        return a.hostname in loopback and b.hostname in loopback and a.port == b.port
    except ValueError:
        return False


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    first = " ".join(str(text).split("\n")[0].split())
    # Neo4j ends some messages with empty brackets, the driver some with a colon (details on later lines)
    return first.removesuffix(" ()").rstrip(":")[:300]
