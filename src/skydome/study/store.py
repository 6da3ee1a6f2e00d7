"""The study directory: lock, manifest, append-only parts, final tables.

A study directory holds `manifest.json` (written first), then one append-only
part file per finished chunk, each written through `skydome.io.atomic_output`
(`parts/part-NNNNNN.parquet`, and `parts/events-NNNNNN.parquet` before it when
events are kept). After a crash, even ``kill -9``, a resumed study reads the
parts, runs only the missing replications, and assembles the same tables as
an uninterrupted run. One study at a time per directory: the directory is
held with `skydome.io.target_lock` while the study runs.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from skydome import __version__
from skydome.errors import UserError
from skydome.io import atomic_output, target_lock, write_atomic_file
from skydome.study.metrics import Row
from skydome.study.options import StudyOptions
from skydome.study.plan import StudyPlan

__all__ = ["MANIFEST_FORMAT", "StudyDir", "manifest", "precheck", "write_parquet"]

MANIFEST_FORMAT = "skydome-study/1"
"""Version of the study directory layout, recorded in `manifest.json`."""

# pyarrow.parquet carries no annotations; these typed aliases keep mypy strict elsewhere.
read_table: Callable[..., pa.Table] = pq.read_table
read_schema: Callable[..., pa.Schema] = pq.read_schema
_write_table: Callable[..., None] = pq.write_table
_ParquetWriter: Callable[..., Any] = pq.ParquetWriter


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write a Parquet file (zstd) atomically: a temporary file, fsync, `os.replace`."""
    with atomic_output(path) as tmp:
        _write_table(table, tmp, compression="zstd")


def manifest(plan: StudyPlan, n: int, options: StudyOptions) -> dict[str, Any]:
    """The `manifest.json` of a study: what a resumed study must match."""
    return {
        "format": MANIFEST_FORMAT,
        "skydome_version": __version__,
        "study": "sweep" if plan.is_sweep else "mc",
        "scenario": plan.label,
        "scenario_name": plan.name,
        "scenario_sha256": plan.digest,
        "seed": plan.seed,
        "n": n,
        "settings": [{"path": s.path, "values": list(s.values)} for s in plan.settings],
        "events": options.events,
        "until_ci": options.stopping_rule,
    }


_COMPARED = {
    "format": "study directory format",
    "skydome_version": "skydome version",
    "scenario_sha256": "scenario content",
    "seed": "seed",
    "settings": "--set settings",
    "events": "--events",
    "until_ci": "--until-ci / --ci-metric / --confidence",
}


def precheck(root: Path, resume: bool) -> dict[str, Any] | None:
    """Read-only checks before anything starts; the existing manifest, if resuming one."""
    if root.exists() and not root.is_dir():
        raise UserError(f"{root}: exists and is not a directory")
    entries = sorted(root.iterdir()) if root.is_dir() else []
    if not entries:
        return None
    if not resume:
        raise UserError(
            f"{root}: already exists and is not empty; add --resume to complete or extend "
            "the study there, or choose another --out"
        )
    mf = root / "manifest.json"
    if not mf.is_file():
        raise UserError(f"{root}: not a skydome study directory (no manifest.json)")
    try:
        data = json.loads(mf.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        raise UserError(f"{mf}: cannot be read: {e}") from None
    return data


def _check_manifest(root: Path, old: dict[str, Any], new: dict[str, Any]) -> None:
    diffs = [
        f"{what}: {_short(old.get(k))} in the directory, {_short(new.get(k))} now"
        for k, what in _COMPARED.items()
        if json.dumps(old.get(k), sort_keys=True, default=str)
        != json.dumps(new.get(k), sort_keys=True, default=str)
    ]
    if diffs:
        raise UserError(
            f"{root}: holds a different study, refusing to resume it:\n  "
            + "\n  ".join(diffs)
            + "\nresume with the same scenario and options, or choose another --out"
        )


def _short(v: Any) -> str:
    s = json.dumps(v, default=str)
    return s if len(s) <= 20 else s[:8] + "..."


def _seq(p: Path) -> int:
    """The sequence number of ``part-NNNNNN.parquet`` (or ``events-...``, ``....damaged``)."""
    return int(p.name.split(".")[0].split("-")[1])


class StudyDir:
    """The study directory: lock, manifest, append-only parts, final tables."""

    def __init__(self, root: Path) -> None:
        """A study directory at `root`; nothing is touched until `open`."""
        self.root = root
        self.parts = root / "parts"
        self._held = contextlib.ExitStack()
        self._seq = 0

    def open(self, manifest: dict[str, Any], old: dict[str, Any] | None) -> None:
        """Create the directory, take its lock, check and write the manifest."""
        try:
            self.parts.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"{self.root}: cannot create the study directory: {e}") from None
        busy = f"{self.root}: another skydome study is running in this directory"
        self._held.enter_context(target_lock(self.root, busy))
        if old is not None:
            _check_manifest(self.root, old, manifest)
        write_atomic_file(self.root / "manifest.json", json.dumps(manifest, indent=2) + "\n")

    def write_cells(self, plan: StudyPlan) -> None:
        """Each cell's scenario as a file: ``skydome run CELL.yaml --seed SEED`` re-runs a row."""
        if not plan.is_sweep:
            return
        cells = self.root / "cells"
        cells.mkdir(exist_ok=True)
        for c in plan.cells:
            text = yaml.safe_dump(c.scenario.model_dump(mode="json"), sort_keys=False)
            write_atomic_file(cells / f"cell-{c.index:04d}.yaml", text)

    def close(self) -> None:
        """Release the lock."""
        self._held.close()

    def load(self) -> list[Row]:
        """Rows of every complete part; drop leftovers of an interrupted write."""
        for tmp in [*self.parts.glob(".*.tmp"), *self.parts.glob(".*.skydome-part-*")]:
            tmp.unlink(missing_ok=True)
        seqs = set()
        rows: list[Row] = []
        for p in sorted(self.parts.glob("part-*.parquet")):
            try:
                rows.extend(read_table(p).to_pylist())
            except (OSError, pa.ArrowException):
                # Unreadable (a damaged disk, a hand-edited file): set it aside and
                # run its replications again.
                p.rename(p.with_name(p.name + ".damaged"))
                continue
            seqs.add(_seq(p))
        for p in self.parts.glob("events-*.parquet"):
            if _seq(p) not in seqs:
                p.unlink()  # its rows part never landed: the replications run again
        found = [_seq(p) for p in self.parts.glob("*-*.parquet*")]
        self._seq = max(found, default=-1) + 1
        return rows

    def write_part(self, rows: pa.Table, events: pa.Table | None) -> None:
        """Events first, then the rows part that commits the chunk."""
        seq = self._seq
        self._seq += 1
        if events is not None:
            write_parquet(events, self.parts / f"events-{seq:06d}.parquet")
        write_parquet(rows, self.parts / f"part-{seq:06d}.parquet")

    def event_parts(self) -> list[Path]:
        """The events parts on disk, in sequence order."""
        return sorted(self.parts.glob("events-*.parquet"))

    def assemble_events(self, keys: set[tuple[int, int]], keep_cell: bool) -> None:
        """Stream the events parts into ``events.parquet``, ordered by cell and replication.

        Parts hold consecutive replications of one cell, so writing them in order
        of their first replication gives a sorted file without loading it all. The
        `cell` column is dropped for a plain study, as in `replications.parquet`.
        """
        parts: list[tuple[tuple[int, int], Path]] = []
        schema: pa.Schema | None = None
        for p in self.event_parts():
            schema = schema if schema is not None else read_schema(p)
            first = read_table(p, columns=["cell", "replication"]).slice(0, 1).to_pylist()
            if first:
                parts.append(((first[0]["cell"], first[0]["replication"]), p))
        parts.sort()
        emitted: set[tuple[int, int]] = set()
        last = (-1, -1)
        schema = schema or _EMPTY_EVENTS
        if not keep_cell:
            schema = schema.remove(schema.get_field_index("cell"))
        with (
            atomic_output(self.root / "events.parquet") as tmp,
            _ParquetWriter(tmp, schema, compression="zstd") as writer,
        ):
            for _, p in parts:
                t = read_table(p)
                pairs = list(
                    zip(
                        t.column("cell").to_pylist(),
                        t.column("replication").to_pylist(),
                        strict=True,
                    )
                )
                keep = [k in keys and k not in emitted for k in pairs]
                if not any(keep):
                    continue
                kept = sorted({k for k, ok in zip(pairs, keep, strict=True) if ok})
                if kept[0] < last:  # pragma: no cover - parts never overlap
                    raise RuntimeError(f"{p}: replications out of order")
                emitted.update(kept)
                last = kept[-1]
                t = t.filter(pa.array(keep, type=pa.bool_()))
                writer.write_table(t if keep_cell else t.drop_columns(["cell"]))


_EMPTY_EVENTS = pa.schema([("cell", pa.int64()), ("replication", pa.int64())])
