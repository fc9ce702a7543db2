"""Batches: a few at a time on threads, stopping all at the first failure, and safe to retry.

>>> import threading
>>> sorted(in_parallel(lambda n: n * n, range(5), 2, threading.Event()))
[0, 1, 4, 9, 16]
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any


def in_parallel(
    work: Callable[[int], int], items: Sequence[int], workers: int, stop: threading.Event
) -> Iterator[int]:
    """``work(item)`` for every item, ``workers`` at a time (at most ``2 * workers`` submitted); results as
    they end.

    The first failure (or Ctrl-C) sets ``stop``, drops the items not started, and is raised once the
    running ones have returned: ``work`` should watch ``stop`` (the loader's retries check it before each
    try and while waiting to retry).
    """
    if workers == 1:
        yield from map(work, items)
        return
    pool = ThreadPoolExecutor(workers, thread_name_prefix="graphflows-load")
    pending: set[Future[int]] = set()
    try:
        for item in items:
            if len(pending) >= 2 * workers:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in finished)
            pending.add(pool.submit(work, item))
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (future.result() for future in finished)
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class LoadStopped(Exception):
    """Raised in a loading thread that was told to stop because another one failed."""


def create_then_merge(run: Callable[[str], Any], create: str, merge: str) -> Callable[[], Any]:
    """A call that runs ``create`` the first time and ``merge`` on every retry (the first may have committed).

    >>> call = create_then_merge(lambda query: query, "CREATE", "MERGE")
    >>> call(), call(), call()
    ('CREATE', 'MERGE', 'MERGE')
    """
    tries = iter([create])
    return lambda: run(next(tries, merge))
