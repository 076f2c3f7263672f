"""Suggestions with their joined outcomes as a Parquet or CSV file (pyarrow), written whole or
not at all: into a temporary file beside the target, renamed over it once complete."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from advisor.learning.join import Joined, utc

FORMATS = ("parquet", "csv")
SCHEMA = pa.schema([
    ("suggestion_id", pa.string()), ("customer_id", pa.string()), ("channel", pa.string()),
    ("served_at", pa.timestamp("us", tz="UTC")), ("policy", pa.string()),
    ("model_version", pa.int64()), ("chosen", pa.string()), ("propensity", pa.float64()),
    ("candidates", pa.string()), ("shown", pa.string()), ("context", pa.string()),
    ("trace_id", pa.string()), ("action_id", pa.string()), ("outcomes", pa.string()),
    ("outcome_names", pa.string()), ("reward", pa.float64()), ("status", pa.string()),
])  # fmt: skip


def record(item: Joined) -> dict[str, Any]:
    """One export row: lists and the context as JSON text, so CSV holds them too."""
    row, outcomes = item.row, item.outcomes
    return {
        "suggestion_id": row.id, "customer_id": row.customer_id, "channel": row.channel,
        "served_at": utc(row.served_at), "policy": row.policy, "model_version": row.model_version,
        "chosen": row.chosen, "propensity": row.propensity, "candidates": row.candidates,
        "shown": row.shown, "context": row.context, "trace_id": row.trace_id,
        "action_id": row.action_id,
        "outcomes": json.dumps([{"outcome": o.outcome, "at": o.at.isoformat(),
                                 "source": o.source} for o in outcomes]),
        "outcome_names": ";".join(dict.fromkeys(o.outcome for o in outcomes)),
        "reward": item.reward, "status": item.status,
    }  # fmt: skip


def write(items: list[Joined], out: Path, fmt: str) -> int:
    """Write the rows to `out` as `fmt`; the number of rows."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    table = pa.Table.from_pylist([record(i) for i in items], schema=SCHEMA)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        if fmt == "parquet":
            pq.write_table(table, tmp)
        else:
            pa_csv.write_csv(table, tmp)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return int(table.num_rows)


def parse_since(text: str) -> dt.datetime:
    """A date (YYYY-MM-DD, from its midnight UTC) or an ISO time; ValueError otherwise."""
    if len(text) == 10:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
    return utc(dt.datetime.fromisoformat(text))
