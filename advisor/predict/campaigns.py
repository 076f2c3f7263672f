"""UCI Bank Marketing campaign files: read, validate (naming the column or line), encode."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from advisor.errors import InvalidInput

SCHEMA_FILE = Path(__file__).with_name("campaign_schema.yaml")
# Days before each month in a non-leap year; index 12 (an unknown month, NaN code) gives NaN.
DAYS_BEFORE_MONTH = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, np.nan])


class CampaignFileError(InvalidInput):
    """A campaign file the offer-response model cannot read (missing column, bad number...)."""


@dataclass(frozen=True)
class Column:
    """One feature column of the campaign schema."""

    name: str
    kind: str  # "numeric", "categorical" or "derived"
    values: tuple[str, ...] = ()
    low: float = -math.inf
    high: float = math.inf


@dataclass(frozen=True)
class CampaignTable:
    """Validated rows of a campaign file; `target` is 1 for a subscription, None if absent."""

    rows: list[dict[str, str]]
    target: np.ndarray | None


@cache
def schema() -> dict[str, Any]:
    """The campaign schema (campaign_schema.yaml)."""
    loaded: dict[str, Any] = yaml.safe_load(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


@cache
def columns() -> tuple[Column, ...]:
    """The feature columns, in the model's feature order."""
    return tuple(
        Column(
            c["name"],
            c["kind"],
            tuple(c.get("values", ())),
            float(c.get("min", -math.inf)),
            float(c.get("max", math.inf)),
        )
        for c in schema()["features"]
    )


def feature_names() -> list[str]:
    """The model's feature names (never `duration`)."""
    return [c.name for c in columns()]


def file_columns() -> list[str]:
    """The feature columns a campaign file must have (the derived ones are computed)."""
    return [c.name for c in columns() if c.kind != "derived"]


def categorical_indices() -> list[int]:
    """Positions of the categorical features in the encoded matrix."""
    return [i for i, c in enumerate(columns()) if c.kind == "categorical"]


def read_campaign_file(path: Path, require_target: bool) -> CampaignTable:
    """Read a semicolon-separated campaign file; CampaignFileError names the column or line."""
    try:
        with Path(path).open(encoding="utf-8", newline="") as handle:
            return _read(csv.reader(handle, delimiter=";"), path.name, require_target)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CampaignFileError(f"cannot read campaign file {path}: {exc}") from None


def _read(reader: Any, label: str, require_target: bool) -> CampaignTable:
    """Header check, then every data row checked; the target column parsed when present."""
    header = [h.strip() for h in next(reader, [])]
    if not any(header):
        raise CampaignFileError(f"{label} is empty: no header line, no rows")
    target = schema()["target"]["name"]
    needed = file_columns() + ([target] if require_target else [])
    missing = [name for name in needed if name not in header]
    if missing:
        raise CampaignFileError(f"{label}: missing column(s) {', '.join(missing)}")
    rows: list[dict[str, str]] = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise CampaignFileError(
                f"{label} line {reader.line_num}: {len(cells)} fields, the header has {len(header)}"
            )
        row = dict(zip(header, (c.strip() for c in cells), strict=True))
        check_row(row, f"{label} line {reader.line_num}", with_target=target in header)
        rows.append(row)
    if not rows:
        raise CampaignFileError(f"{label} has no data rows")
    return CampaignTable(rows, _target(rows) if target in header else None)


def check_row(row: dict[str, str], where: str, with_target: bool = False) -> None:
    """Raise CampaignFileError on a bad number (not one, or out of range) or a bad target."""
    spec = schema()["target"]
    if with_target and row[spec["name"]].lower() not in (spec["positive"], spec["negative"]):
        raise CampaignFileError(
            f"{where}: column {spec['name']} must be {spec['positive']} or "
            f"{spec['negative']}, got {row[spec['name']]!r}"
        )
    for column in columns():
        if column.kind != "numeric":
            continue
        text = row.get(column.name, "")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise CampaignFileError(f"{where}: column {column.name} is not a number: {text!r}")
        if not column.low <= value <= column.high:
            raise CampaignFileError(
                f"{where}: column {column.name} = {text} is outside [{column.low:g}, "
                f"{column.high:g}]"
            )


def _target(rows: list[dict[str, str]]) -> np.ndarray:
    """The 0/1 target of checked rows (1: subscribed)."""
    spec = schema()["target"]
    return np.array([row[spec["name"]].lower() == spec["positive"] for row in rows], np.int8)


def encode(rows: list[dict[str, str]]) -> np.ndarray:
    """The float feature matrix: numbers as is, categories as vocabulary codes (NaN unknown)."""
    matrix = np.full((len(rows), len(columns())), np.nan, dtype=np.float64)
    for j, column in enumerate(columns()):
        if column.kind == "numeric":
            matrix[:, j] = [float(row[column.name]) for row in rows]
        elif column.kind == "categorical":
            codes = {value: float(k) for k, value in enumerate(column.values)}
            matrix[:, j] = [codes.get(row.get(column.name, "").lower(), np.nan) for row in rows]
    names = feature_names()
    if "day_of_year" in names:
        month, day = matrix[:, names.index("month")], matrix[:, names.index("day")]
        known = np.where(np.isnan(month), 12, month).astype(int)
        matrix[:, names.index("day_of_year")] = DAYS_BEFORE_MONTH[known] + day
    return matrix
