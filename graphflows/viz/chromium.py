"""Headless Chromium (the Debian ``chromium`` package) driven by Playwright: still pictures of views.

Playwright's own browser download is not needed: the system Chromium is used. Every request other
than ``file:`` is refused, so taking a picture never touches the network.

>>> write_png("view.html", "view.png")          # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphflows.model import GraphflowsError
from graphflows.outputs import OutputFiles

if TYPE_CHECKING:
    from playwright.sync_api import Browser

#: Flags that make Chromium work headless as root in a container, with no background traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--mute-audio",
]
CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
#: What a page sets once it has drawn; pictures are taken after it.
READY = "window.graphflowsReady === true"


def chromium_path() -> str:
    """``$GRAPHFLOWS_CHROMIUM``, else the first Chromium found on this machine."""
    configured = os.environ.get("GRAPHFLOWS_CHROMIUM")
    if configured:
        if not Path(configured).exists():
            raise GraphflowsError(f"GRAPHFLOWS_CHROMIUM={configured}: no such file")
        return configured
    for candidate in CANDIDATES:
        found = candidate if Path(candidate).is_file() else shutil.which(candidate)
        if found:
            return found
    raise GraphflowsError(
        "no Chromium found for the picture: install it (Debian/Ubuntu: apt-get install chromium) "
        "or set GRAPHFLOWS_CHROMIUM to its path"
    )


@contextmanager
def launch_chromium(**launch_options: Any) -> Iterator[Browser]:
    """A headless Chromium for the length of a ``with`` block (always closed afterwards)."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise GraphflowsError("pictures need Playwright: pip install 'graphflows[png]'") from None
    executable = chromium_path()
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, **launch_options)
        except PlaywrightError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise GraphflowsError(f"could not start Chromium ({executable}): {first}") from None
        try:
            yield browser
        finally:
            browser.close()


def refuse_network(route: Any) -> None:
    """Playwright route handler: let ``file:`` through, abort everything else."""
    if route.request.url.startswith("file:"):
        route.continue_()
    else:
        route.abort("blockedbyclient")


def write_png(
    html_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
    *,
    width: int = 1600,
    height: int = 1000,
    timeout_s: float = 60.0,
) -> Path:
    """Screenshot of a graphflows page (network or Sankey) once it has drawn, as a PNG file.

    Written all or nothing through :mod:`graphflows.outputs` (an existing file graphflows did not write
    is never overwritten).
    """
    with OutputFiles(inputs=[html_path]) as out:
        out.check(png_path)
        screenshot(html_path, out.stage(png_path), width=width, height=height, timeout_s=timeout_s)
    return Path(png_path)


def screenshot(
    html_path: str | os.PathLike[str],
    png_path: Path,
    *,
    width: int = 1600,
    height: int = 1000,
    timeout_s: float = 60.0,
) -> Path:
    """Take the picture of ``html_path`` straight into ``png_path`` (a staged file of an OutputFiles)."""
    source = Path(html_path).resolve()
    if not source.is_file():
        raise GraphflowsError(f"{html_path}: no such file")
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        _screenshot(source, png_path, width, height, timeout_s)
    else:  # inside Jupyter's event loop: Playwright's sync API must run in another thread
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(_screenshot, source, png_path, width, height, timeout_s).result()
    return png_path


def _screenshot(source: Path, target: Path, width: int, height: int, timeout_s: float) -> None:
    from playwright.sync_api import Error as PlaywrightError

    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
        try:
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.route("**/*", refuse_network)
            page.goto(source.as_uri())
            try:
                page.wait_for_function(
                    f"{READY} || window.__graphflowsFailed === true", timeout=timeout_s * 1000
                )
            except PlaywrightError:
                errors.append(f"it did not finish drawing within {timeout_s:g} s")
            if errors or not page.evaluate(READY):
                raise GraphflowsError(
                    f"{source}: cannot take the picture: {errors[0] if errors else 'not drawn'}"
                )
            page.wait_for_timeout(150)
            page.screenshot(path=str(target))
        finally:
            context.close()
