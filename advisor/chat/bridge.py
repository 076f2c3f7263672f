"""Run a blocking generator (a model's token stream) in a thread and consume it async."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


async def iterate_in_thread(source: Iterator[T], cancel: threading.Event) -> AsyncIterator[T]:
    """Yield the items of `source` produced in a worker thread; setting `cancel` stops it."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()

    def push(item: object) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone: the consumer left
            cancel.set()

    def work() -> None:
        try:
            for item in source:
                push(item)
                if cancel.is_set():
                    break
        except BaseException as exc:  # handed to the consumer, re-raised there
            push(exc)
        finally:
            close = getattr(source, "close", None)
            if close:
                close()
            push(_END)

    threading.Thread(target=work, name="llm-stream", daemon=True).start()
    try:
        while (item := await queue.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        cancel.set()
