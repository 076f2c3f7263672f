"""Walking the disjoint spans (Presidio results) chosen in one text."""

from __future__ import annotations

from collections.abc import Iterator

from presidio_analyzer import RecognizerResult


def with_bounds(
    chosen: list[RecognizerResult], length: int
) -> Iterator[tuple[RecognizerResult, int, int]]:
    """Each span in text order, with where the span before it ends and the one after starts.

    Read lazily: a span widened while walking moves the bound its neighbour sees.
    """
    ordered = sorted(chosen, key=lambda r: r.start)
    for i, span in enumerate(ordered):
        floor = ordered[i - 1].end if i else 0
        limit = ordered[i + 1].start if i + 1 < len(ordered) else length
        yield span, floor, limit
