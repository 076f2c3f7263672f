"""The spans (Presidio results) of one text: folding it, cutting it into windows, choosing
disjoint spans, joining names, walking them."""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Callable, Iterator

from presidio_analyzer import RecognizerResult

MAX_PARTICLES = 3  # "van der", "de la", "van den" between two parts of one name


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


def outside_phone_numbers(
    text: str, found: list[RecognizerResult], threshold: float
) -> list[RecognizerResult]:
    """Drop IDs read into part of a phone number: any after a country code ("+39 320452561"
    holds a valid routing number), a weaker one otherwise ("96 228011 office")."""
    phones = [r for r in found if r.entity_type == "PHONE_NUMBER" and r.score >= threshold]

    def outranked(r: RecognizerResult, phone: RecognizerResult) -> bool:
        dialled = text.startswith(("+", "00"), phone.start)
        return _part_of(r, phone) and (dialled or r.score <= phone.score)

    return [
        r
        for r in found
        if r.entity_type == "PHONE_NUMBER" or not any(outranked(r, p) for p in phones)
    ]


def _part_of(inner: RecognizerResult, outer: RecognizerResult) -> bool:
    """The inner span lies within the outer one and is shorter."""
    inside = outer.start <= inner.start and inner.end <= outer.end
    return inside and inner.end - inner.start < outer.end - outer.start


def windows(text: str, size: int) -> Iterator[tuple[int, int]]:
    """Consecutive (start, cut) pieces of at most size characters, cut after a line or sentence.

    Each piece is analysed with WINDOW_MARGIN more characters, and keeps the spans that start
    before its cut: an entity across a cut is found whole, once."""
    start = 0
    while len(text) - start > size:
        cut = max(text.rfind("\n", start, start + size), text.rfind(". ", start, start + size))
        cut = cut if cut > start else text.rfind(" ", start, start + size)
        end = cut + 1 if cut > start else start + size
        yield start, end
        start = end
    yield start, len(text)


def trim(text: str, result: RecognizerResult) -> RecognizerResult:
    """The result without whitespace at its ends."""
    span = text[result.start : result.end]
    result.start += len(span) - len(span.lstrip())
    result.end -= len(span) - len(span.rstrip())
    return result


def choose(
    found: list[RecognizerResult], rank: Callable[[RecognizerResult], tuple[int, float, int]]
) -> list[RecognizerResult]:
    """Non-overlapping spans, best first; an overlapping span of the same type widens one.

    The chosen spans stay disjoint and sorted by start, so a clash is found by bisection.
    """
    chosen: list[RecognizerResult] = []
    starts: list[int] = []
    for r in sorted(found, key=rank):
        at = bisect.bisect_left(starts, r.start)
        clash = _clashes(chosen, at, r)
        if not clash:
            chosen.insert(at, r)
            starts.insert(at, r.start)
        elif len(clash) == 1 and clash[0].entity_type == r.entity_type:
            _widen(chosen, starts, clash[0], r)
    return chosen


def _clashes(
    chosen: list[RecognizerResult], at: int, r: RecognizerResult
) -> list[RecognizerResult]:
    """The chosen spans (sorted, disjoint) that overlap r, which would be inserted at `at`."""
    clash = [chosen[at - 1]] if at and chosen[at - 1].end > r.start else []
    while at < len(chosen) and chosen[at].start < r.end:
        clash.append(chosen[at])
        at += 1
    return clash


def _widen(
    chosen: list[RecognizerResult], starts: list[int], kept: RecognizerResult, r: RecognizerResult
) -> None:
    """Widen a chosen span over r when that touches no other chosen span."""
    i = bisect.bisect_left(starts, kept.start)
    start, end = min(r.start, kept.start), max(r.end, kept.end)
    if (i == 0 or chosen[i - 1].end <= start) and (i + 1 == len(chosen) or end <= starts[i + 1]):
        kept.start, kept.end, starts[i] = start, end, start


def join_names(
    text: str, chosen: list[RecognizerResult], particles: frozenset[str] = frozenset()
) -> list[RecognizerResult]:
    """Adjacent people with only a space, or name particles, between are one name ("tomasz" +
    "kowalczyk", "Frits" + " van den " + "Heuvel")."""
    joined: list[RecognizerResult] = []
    for r in sorted(chosen, key=lambda r: r.start):
        last = joined[-1] if joined else None
        same = last is not None and last.entity_type == r.entity_type == "PERSON"
        if same and last is not None and _name_gap(text[last.end : r.start], particles):
            last.end = r.end
        else:
            joined.append(r)
    return joined


def _name_gap(gap: str, particles: frozenset[str]) -> bool:
    """A single space, or up to three name particles between single spaces."""
    words = gap[1:-1].split(" ") if len(gap) > 2 and gap[0] == gap[-1] == " " else []
    # One-letter particles ("y", "e") also join two people ("Ana y Juan"): not used here.
    particle = [len(w) > 1 and w.lower() in particles for w in words]
    in_name = 0 < len(words) <= MAX_PARTICLES and all(particle)
    return gap == " " or in_name


def fold(text: str) -> tuple[str, list[int]]:
    """Text without invisible characters and with compatibility forms folded, plus an index map.

    `origin[i]` is the position in `text` of character i of the folded text, so spans found
    in the folded text map back to the original (a zero-width space cannot split a card number).
    """
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if unicodedata.category(ch) == "Cf":
            continue
        folded = unicodedata.normalize("NFKC", ch)
        chars.append(folded if len(folded) == 1 else ch)
        origin.append(i)
    origin.append(len(text))
    return "".join(chars), origin
