"""Results as data: one record per (case, adapter, dtype, device), plus the environment.

The results JSON is the single interface between a run and everything after it
(reporters, the HTML page, the gate, merging runs from several machines). It is
deterministic apart from its ``environment`` block: records are sorted, floats are
written as decimal strings, and nothing time- or machine-dependent goes into a record.

Format (``schema_version`` 1)::

    {
      "schema_version": 1,
      "environment": {"conformance": "...", "python": "...", "platform": "...",
                      "numpy": "...", "mpmath": "...", "started": "ISO-8601",
                      "finished": "ISO-8601", "command": "...",
                      "adapters": {"numpy": {"profile": "...", "versions": {...}}}},
      "records": [Record.to_dict(), ...]
    }
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

SCHEMA_VERSION = 1

#: Verdicts, in report order. ``xfail``/``xpass`` only appear after gating against a baseline.
VERDICTS = ("pass", "fail", "error", "crash", "skip", "xfail", "xpass")


@dataclass
class Record:
    """The outcome of one cell: a case run by one adapter in one dtype on one device."""

    case: str
    family: str
    api: str
    title: str
    tags: list[str]
    adapter: str
    profile: str
    dtype: str
    device: str
    verdict: str
    #: Output values as decimal strings (shortest round-trip repr in the output dtype;
    #: ``nan``, ``inf``, ``-inf`` spelled out), flattened; ``shape`` gives the shape.
    output: list[str] | None = None
    output_dtype: str | None = None
    shape: list[int] | None = None
    #: The oracle's truth, flattened, as decimal strings of >= 40 significant digits.
    truth: list[str] | None = None
    #: The truth correctly rounded to the output dtype.
    truth_rounded: list[str] | None = None
    abs_error: float | None = None
    rel_error: float | None = None
    ulp_error: float | None = None
    tolerance: dict[str, Any] | None = None
    #: The check of a documented (printed) value, when the case has provenance.
    documented: dict[str, Any] | None = None
    expected_error: str | None = None
    error: dict[str, Any] | None = None
    message: str = ""
    location: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] | None = None
    #: Baseline reason, filled in by the gate for xfail/xpass cells.
    baseline_reason: str | None = None
    #: The verdict the run produced before gating (set on xfail/xpass cells only).
    original_verdict: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        """The identity of a cell across runs: (case, adapter, dtype, device)."""
        return (self.case, self.adapter, self.dtype, self.device)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Record":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Results:
    """A whole run: the environment it ran in and its records."""

    environment: dict[str, Any]
    records: list[Record]
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "environment": self.environment,
            "records": [r.to_dict() for r in sorted(self.records, key=lambda r: r.key)],
        }

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically: the file is complete or not there at all."""
        return write_json_atomic(path, self.to_dict())

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> "Results":
        """Read a results file; raises ``ValueError`` naming the file on a bad one."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"{p}: no such results file") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{p}:{exc.lineno}: not valid JSON: {exc.msg}") from None
        if not isinstance(data, dict) or "records" not in data:
            raise ValueError(f"{p}: not a results file (no 'records' field)")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"{p}: schema_version {version!r} is not supported (expected {SCHEMA_VERSION})")
        return cls(environment=data.get("environment", {}), records=[Record.from_dict(r) for r in data["records"]])


def merge(runs: Iterable[Results]) -> Results:
    """Merge runs (other adapters, devices, machines) into one. A later run's record for
    the same cell replaces an earlier one; environments are kept as a list."""
    cells: dict[tuple[str, str, str, str], Record] = {}
    envs: list[dict[str, Any]] = []
    for run in runs:
        envs.append(run.environment)
        for rec in run.records:
            cells[rec.key] = rec
    return Results(environment={"merged": envs}, records=list(cells.values()))


def environments(results: Results) -> list[dict[str, Any]]:
    """The environment blocks of a (possibly merged) run."""
    env = results.environment
    return list(env["merged"]) if "merged" in env else [env]


def base_environment() -> dict[str, Any]:
    """Versions, platform and start time; adapters add their own versions."""
    import mpmath
    import numpy

    from conformance import __version__

    return {
        "conformance": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "numpy": numpy.__version__,
        "mpmath": mpmath.__version__,
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["conformance", *sys.argv[1:]]),
        "adapters": {},
    }


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> Path:
    """Write JSON to ``path`` through a temporary file and a rename."""
    return write_text_atomic(path, json.dumps(data, indent=1, sort_keys=False, allow_nan=False) + "\n")


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename,
    so that readers never see half a report."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        # mkstemp creates the file 0600; give it the mode a plain open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return p
