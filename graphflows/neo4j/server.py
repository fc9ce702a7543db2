"""A local Neo4j Community 5.26 server without Docker: jars from Maven Central, run in its own JVM.

The first start asks Maven to fetch Neo4j (and the Neo4j Browser web app) into the Maven cache
(``~/.m2``) and compiles the small launcher ``server/GraphflowsNeo4j.java`` against those jars into
``~/.cache/graphflows/neo4j-server/<digest>/``; later starts reuse them. The server listens on 127.0.0.1 only,
with authentication on (user ``neo4j``, a generated password kept in the data folder, readable by its owner
only: :func:`credentials`), ``LOAD CSV`` from file URLs off, usage reporting off, a bounded heap and page
cache, and keeps its data and logs in the data folder (``~/.local/share/graphflows/neo4j`` unless given;
made private to its owner, mode 0700).

>>> info = start(Path("/tmp/gf-neo4j"))      # doctest: +SKIP
>>> info.bolt_uri                            # doctest: +SKIP
'bolt://127.0.0.1:43117'
>>> stop(Path("/tmp/gf-neo4j"))              # doctest: +SKIP
True
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from graphflows.model import GraphflowsError

SERVER_SOURCES = Path(__file__).parent / "server"
LAUNCHER = "GraphflowsNeo4j"
STATE_FILE = "graphflows-neo4j.json"
OUTPUT_FILE = "graphflows-neo4j.out"
PASSWORD_FILE = "graphflows-neo4j.password"
#: The ports of the last start: the next start takes them again when they are free.
PORTS_FILE = "graphflows-neo4j.ports"
#: The compiled launcher and procedures, as a jar (class sharing takes no folders on the class path).
LAUNCHER_JAR = "graphflows-neo4j.jar"
#: The JVM's class-sharing archive of Neo4j's classes, written when the first server stops: later starts
#: map the classes instead of loading and verifying them again (a cold JVM is most of a small load's time).
CLASS_ARCHIVE = "classes.jsa"
#: Neo4j's plugin folder: graphflows' procedures alone, so Neo4j registers them before Bolt accepts clients.
PLUGINS = "plugins"
USER = "neo4j"
JVM_OPTIONS = (
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-modules=jdk.incubator.vector",
    "--enable-native-access=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-XX:+UseG1GC",
)
INSTALL_HINT = (
    "install a JDK 17 and Maven (Debian/Ubuntu: apt install openjdk-17-jdk-headless maven), "
    "or run Neo4j in Docker, or set NEO4J_URI to an existing server"
)


class Neo4jServerError(GraphflowsError):
    """The local server cannot be built, started or stopped."""


class AlreadyRunning(Neo4jServerError):
    """A server is already running on this data folder (its details are in ``info``)."""

    def __init__(self, info: ServerInfo):
        super().__init__(f"a Neo4j server is already running on {info.data_dir} at {info.bolt_uri}")
        self.info = info


@dataclass(frozen=True)
class ServerInfo:
    """A running local server: its process, Bolt URI, Browser URL (if served) and data folder."""

    pid: int
    bolt_uri: str
    browser_url: str | None
    data_dir: str
    heap: str = "1g"
    pagecache: str = "256m"
    gds: bool = False

    @property
    def port(self) -> int:
        """The Bolt port."""
        return int(self.bolt_uri.rsplit(":", 1)[1])

    @property
    def http_port(self) -> int | None:
        """The Browser's port (None when no Browser is served)."""
        if not self.browser_url:
            return None
        return int(self.browser_url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


def default_data_dir() -> Path:
    """``$GRAPHFLOWS_NEO4J_DATA``, else ``$XDG_DATA_HOME/graphflows/neo4j`` (``~/.local/share/...``)."""
    if os.environ.get("GRAPHFLOWS_NEO4J_DATA"):
        return Path(os.environ["GRAPHFLOWS_NEO4J_DATA"]).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "graphflows" / "neo4j"


def runtime_dir() -> Path:
    """Where the jars and the compiled launcher live, keyed by the pom and the Java sources."""
    digest = hashlib.sha256()
    for path in (SERVER_SOURCES / "pom.xml", *_java_sources()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "graphflows" / "neo4j-server" / digest.hexdigest()[:12]


def ensure_runtime(*, quiet: bool = True) -> Path:
    """Fetch the jars with Maven and compile the launcher if not done yet; return the runtime folder.

    The jars stay in the Maven cache (``~/.m2``); ``classpath.txt`` lists them. If the cache was cleaned,
    they are fetched again.
    """
    runtime = runtime_dir()
    jars = _classpath(runtime)
    ready = (runtime / "ready").exists() and (runtime / PLUGINS).exists()
    if ready and jars and all(Path(p).exists() for p in jars):
        return runtime
    tools = {name: shutil.which(name) for name in ("java", "javac", "jar", "mvn")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        raise Neo4jServerError(f"cannot run a local Neo4j: {', '.join(missing)} not found; {INSTALL_HINT}")
    runtime.mkdir(parents=True, exist_ok=True)
    (runtime / "ready").unlink(missing_ok=True)
    maven = [
        str(tools["mvn"]), "-B", *(["-q"] if quiet else []), "-f", str(SERVER_SOURCES / "pom.xml"),
        "dependency:build-classpath", f"-Dmdep.outputFile={runtime / 'classpath.txt'}",
        "-Dmdep.includeScope=runtime",
    ]  # fmt: skip
    _run(maven, "fetching Neo4j with Maven failed (is Maven Central reachable?)")
    classes = runtime / "classes"
    sources = [str(path) for path in _java_sources()]
    _run([str(tools["javac"]), "-cp", os.pathsep.join(_classpath(runtime)), "-d", str(classes), *sources],
         "compiling the Neo4j launcher failed")  # fmt: skip
    _run([str(tools["jar"]), "--create", "--file", str(runtime / LAUNCHER_JAR), "-C", str(classes), "."],
         "packing the Neo4j launcher failed")  # fmt: skip
    entries: list[str] = []
    for path in sorted(classes.glob("GraphflowsProcedures*.class")):
        entries += ["-C", str(classes), path.name]
    (runtime / PLUGINS).mkdir(exist_ok=True)
    plugin = runtime / PLUGINS / "graphflows-procedures.jar"
    _run([str(tools["jar"]), "--create", "--file", str(plugin), *entries],
         "packing graphflows' procedures failed")  # fmt: skip
    (runtime / CLASS_ARCHIVE).unlink(missing_ok=True)  # made for the previous jars
    (runtime / "ready").write_text("ok\n")
    return runtime


GDS_POM = SERVER_SOURCES / "gds.xml"


def gds_classpath(*, quiet: bool = True) -> list[str]:
    """The jars of Graph Data Science, Community edition (fetched by Maven into ~/.m2 the first time)."""
    return maven_classpath(GDS_POM, "gds", "fetching Neo4j Graph Data Science with Maven failed", quiet=quiet)


def maven_classpath(pom: Path, name: str, failure: str, *, quiet: bool = True) -> list[str]:
    """The runtime class path of ``pom`` (kept in the runtime folder, keyed by the pom's content)."""
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:12]
    listing = runtime_dir() / f"{name}-classpath-{digest}.txt"
    if listing.exists():
        jars = [p for p in listing.read_text().strip().split(os.pathsep) if p]
        if jars and all(Path(p).exists() for p in jars):
            return jars
    mvn = shutil.which("mvn")
    if mvn is None or shutil.which("java") is None:
        raise Neo4jServerError(f"{failure}: java or mvn not found; {INSTALL_HINT}")
    listing.parent.mkdir(parents=True, exist_ok=True)
    _run(
        [mvn, "-B", *(["-q"] if quiet else []), "-f", str(pom), "dependency:build-classpath",
         f"-Dmdep.outputFile={listing}", "-Dmdep.includeScope=runtime"],
        f"{failure} (is Maven Central reachable?)",
    )  # fmt: skip
    return [p for p in listing.read_text().strip().split(os.pathsep) if p]


def ensure_gds(runtime: Path) -> Path:
    """A plugin folder with GDS's jars and graphflows' procedures (Neo4j finds procedures in plugin jars)."""
    jars = gds_classpath()
    folder = runtime / "plugins-gds"
    folder.mkdir(exist_ok=True)
    wanted = {Path(jar).name: Path(jar) for jar in jars} | {
        "graphflows-procedures.jar": runtime / PLUGINS / "graphflows-procedures.jar"
    }
    for stale in folder.iterdir():
        if stale.name not in wanted:
            stale.unlink()
    for name, jar in wanted.items():
        link = folder / name
        if not link.exists():
            link.symlink_to(jar)
    return folder


def _java_sources() -> list[Path]:
    """The launcher and graphflows' procedures (``server/*.java``)."""
    return sorted(SERVER_SOURCES.glob("*.java"))


def _classpath(runtime: Path) -> list[str]:
    listing = runtime / "classpath.txt"
    if not listing.exists():
        return []
    return [p for p in listing.read_text().strip().split(os.pathsep) if p]


def start(
    data_dir: Path | None = None,
    *,
    port: int | None = None,
    browser: bool = True,
    http_port: int | None = None,
    heap: str = "1g",
    pagecache: str = "256m",
    timeout: float = 180.0,
    gds: bool = False,
    warm: bool = True,
) -> ServerInfo:
    """Start a server in the background on ``data_dir`` and wait until Bolt answers.

    ``gds``: with Neo4j Graph Data Science, Community edition (:func:`ensure_gds`). ``warm``: then create
    the schema and run every query of a load once, rolled back (:mod:`.warmup`), so the first load is fast.

    Raises :class:`AlreadyRunning` if one already runs on that folder, :class:`Neo4jServerError` if it
    cannot start (with the end of its log).
    """
    data_dir = (data_dir or default_data_dir()).expanduser().resolve()
    running = status(data_dir)
    if running is not None:
        raise AlreadyRunning(running)
    runtime = ensure_runtime()
    _private_folder(data_dir)
    password = _ensure_password(data_dir)
    last = last_ports(data_dir)
    port = port or reuse_port(last.get("bolt"))
    if browser:
        http_port = http_port or reuse_port(last.get("http"), avoid={port})
    java = shutil.which("java")
    if java is None:
        raise Neo4jServerError(f"cannot run a local Neo4j: java not found; {INSTALL_HINT}")
    plugins, extra = (ensure_gds(runtime), gds_classpath()) if gds else (runtime / PLUGINS, [])
    sharing = [] if gds else _class_sharing(runtime)  # the class archive is for the plain class path
    command = [
        java, f"-Xms{heap}", f"-Xmx{heap}", *JVM_OPTIONS, *sharing,
        "-cp", os.pathsep.join([*_classpath(runtime), *extra, str(runtime / LAUNCHER_JAR)]),
        LAUNCHER, "--home", str(data_dir), "--port", str(port), "--pagecache", pagecache,
        "--http-port", str(http_port if browser else 0), "--password-file", str(data_dir / PASSWORD_FILE),
        "--plugins", str(plugins),
    ]  # fmt: skip
    output = data_dir / OUTPUT_FILE
    with output.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    info = ServerInfo(
        pid=process.pid,
        bolt_uri=f"bolt://127.0.0.1:{port}",
        browser_url=f"http://127.0.0.1:{http_port}/browser/" if browser else None,
        data_dir=str(data_dir),
        heap=heap,
        pagecache=pagecache,
        gds=gds,
    )
    (data_dir / STATE_FILE).write_text(json.dumps(asdict(info)))
    (data_dir / PORTS_FILE).write_text(json.dumps({"bolt": port, "http": http_port if browser else None}))
    try:
        _wait_for_bolt(process, port, (USER, password), timeout, output)
        if warm:
            from .runner import Neo4jSettings, connect
            from .warmup import warm_up

            with connect(Neo4jSettings(uri=info.bolt_uri, user=USER, password=password)) as runner:
                warm_up(runner)
    except BaseException:
        _terminate(process.pid, timeout=30)
        (data_dir / STATE_FILE).unlink(missing_ok=True)
        raise
    return info


def restart(info: ServerInfo, between: Callable[[], None] | None = None) -> ServerInfo:
    """Stop the server ``info``, run ``between()`` while it is down, and start it again with the same
    ports, heap and page cache (so its URIs stay valid)."""
    data_dir = Path(info.data_dir)
    stop(data_dir)
    if between is not None:
        between()
    return start(
        data_dir,
        port=info.port,
        browser=info.http_port is not None,
        http_port=info.http_port,
        heap=info.heap,
        pagecache=info.pagecache,
        gds=info.gds,
    )


def _class_sharing(runtime: Path) -> list[str]:
    """JVM options: use the class archive if there is one, else write one (``classes.jsa.<pid>``, renamed
    by :func:`stop` once the JVM has exited, so no start ever maps a half-written archive)."""
    archive = runtime / CLASS_ARCHIVE
    if archive.exists():
        return [f"-XX:SharedArchiveFile={archive}", "-Xshare:auto"]
    return [f"-XX:ArchiveClassesAtExit={archive}.{os.getpid()}-{time.monotonic_ns()}"]


def _archive_being_written(pid: int) -> Path | None:
    """The class archive the server ``pid`` will write when it exits (None if it uses one, or no /proc)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    flag = b"-XX:ArchiveClassesAtExit="
    return next((Path(a[len(flag) :].decode()) for a in cmdline if a.startswith(flag)), None)


def _keep_class_archive(written: Path | None) -> None:
    """After the server exited: make the archive it wrote the one later starts use."""
    if written is not None and written.exists() and written.stat().st_size > 0:
        os.replace(written, written.with_name(CLASS_ARCHIVE))


def credentials(data_dir: Path | None = None) -> tuple[str, str] | None:
    """``(user, password)`` of the server on ``data_dir`` (None before its first start).

    Only the folder's owner can read the password file; for anyone else this is None.
    """
    data_dir = (data_dir or default_data_dir()).expanduser().resolve()
    try:
        password = (data_dir / PASSWORD_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return (USER, password) if password else None


def _private_folder(data_dir: Path) -> None:
    """Create ``data_dir`` (mode 0700), or make an existing one private to its owner."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if stat.S_IMODE(data_dir.stat().st_mode) & 0o077:
        data_dir.chmod(0o700)


def _ensure_password(data_dir: Path) -> str:
    """The password in the data folder, generated (mode 0600) if there is none yet."""
    path = data_dir / PASSWORD_FILE
    existing = credentials(data_dir)
    if existing is not None:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
        return existing[1]
    password = secrets.token_urlsafe(24)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    return password


def stop(data_dir: Path | None = None, *, timeout: float = 60.0) -> bool:
    """Stop the server on ``data_dir`` cleanly (SIGTERM, then wait). False if none was running."""
    data_dir = (data_dir or default_data_dir()).expanduser().resolve()
    info = status(data_dir)
    if info is None:
        (data_dir / STATE_FILE).unlink(missing_ok=True)
        return False
    archive = _archive_being_written(info.pid)
    if not _terminate(info.pid, timeout=timeout):
        raise Neo4jServerError(f"the Neo4j server (pid {info.pid}) did not stop within {timeout:.0f} s")
    _keep_class_archive(archive)
    (data_dir / STATE_FILE).unlink(missing_ok=True)
    return True


def status(data_dir: Path | None = None) -> ServerInfo | None:
    """The server running on ``data_dir``, or None (a stale state file from a dead process is ignored)."""
    data_dir = (data_dir or default_data_dir()).expanduser().resolve()
    state = data_dir / STATE_FILE
    if not state.exists():
        return None
    try:
        info = ServerInfo(**json.loads(state.read_text()))
    except (ValueError, TypeError):
        return None
    return info if _is_our_server(info.pid, data_dir) else None


def kill(data_dir: Path) -> None:
    """SIGKILL the server on ``data_dir`` (for tests of interrupted loads; the next start runs recovery)."""
    info = status(data_dir)
    if info is not None:
        os.kill(info.pid, signal.SIGKILL)
        _wait_gone(info.pid, 30)
        (Path(info.data_dir) / STATE_FILE).unlink(missing_ok=True)


def last_ports(data_dir: Path) -> dict[str, int]:
    """``{"bolt": 43117, "http": 40211}``: the ports of the last start on ``data_dir`` (empty if none)."""
    try:
        saved = json.loads((data_dir / PORTS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(saved, dict):
        return {}
    return {k: v for k, v in saved.items() if type(v) is int and 0 < v < 65536}


def reuse_port(previous: int | None, avoid: set[int] | frozenset[int] = frozenset()) -> int:
    """``previous`` if it is free right now (URIs from the last start stay valid), else :func:`free_port`."""
    if previous is not None and previous not in avoid and port_is_free(previous):
        return previous
    return free_port(avoid)


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:``port`` (connections closing on it do not count, as for Neo4j,
    which binds with SO_REUSEADDR)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(avoid: set[int] | frozenset[int] = frozenset()) -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in avoid:
            return port


def _wait_for_bolt(
    process: subprocess.Popen[bytes], port: int, auth: tuple[str, str], timeout: float, output: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Neo4jServerError(f"the Neo4j server exited during start-up: {_tail(output)}")
        if b"graphflows-neo4j ready" in output.read_bytes() and _bolt_answers(port, auth):
            return
        time.sleep(0.25)
    raise Neo4jServerError(
        f"the Neo4j server did not answer on port {port} within {timeout:.0f} s: {_tail(output)}"
    )


def _bolt_answers(port: int, auth: tuple[str, str]) -> bool:
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

    try:
        with GraphDatabase.driver(f"bolt://127.0.0.1:{port}", auth=auth) as driver:
            driver.verify_connectivity()
        return True
    except AuthError:
        raise Neo4jServerError(
            f"the Neo4j server on port {port} refused the password in its data folder ({PASSWORD_FILE})"
        ) from None
    except (ServiceUnavailable, Neo4jError, OSError):
        return False


def _is_our_server(pid: int, data_dir: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return _alive(pid)  # no /proc (macOS): trust the state file if the process exists
    return LAUNCHER.encode() in cmdline and str(data_dir).encode() in cmdline


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _terminate(pid: int, *, timeout: float) -> bool:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    return _wait_gone(pid, timeout)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:  # reap our own child
                return True
        if not _alive(pid) or _zombie(pid):
            return True
        time.sleep(0.2)
    return False


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no output)"
    causes = [line.strip() for line in text if "Exception" in line and not line.lstrip().startswith("at ")]
    if causes:
        return causes[-1]
    interesting = [line for line in text if "WARNING: Using incubator" not in line]
    return " | ".join(interesting[-lines:]) or "(no output)"


def _run(command: list[str], failure: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stdout + result.stderr).strip().splitlines()
        raise Neo4jServerError(f"{failure}: {' | '.join(detail[-5:]) or f'exit status {result.returncode}'}")
