"""What every workload reports: the plans (sizes per mode), a ``Figure`` beside its limit, and timing."""

from __future__ import annotations

import os
import platform
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Sequence

from ledger.domain.clock import system_clock

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SPREAD = timedelta(days=10)  # seeded handshakes were requested over the last 10 days: all visible
ROUNDS = 5  # interleaved rounds: the machine is shared, its load drifts


@dataclass(frozen=True)
class Plan:
    mode: str
    sizes: tuple[int, ...]  # ledger sizes (handshakes) at which List latency is measured
    org_size: int  # handshakes per seeded organization
    command_orgs: int  # organizations in the command benchmark (12 commands each)
    samples: int  # List pages sampled per size and operation
    http_reads: int  # HTTP requests per read operation
    http_declines: int
    http_clients: int = 4


PLANS = {
    "quick": Plan("quick", (1_000, 4_000), org_size=100, command_orgs=4, samples=60,
                  http_reads=300, http_declines=60),
    "default": Plan("default", (10_000, 100_000), org_size=1000, command_orgs=150, samples=500,
                    http_reads=4000, http_declines=1000),
    "full": Plan("full", (10_000, 100_000, 1_000_000), org_size=1000, command_orgs=150, samples=500,
                 http_reads=4000, http_declines=1000),
}


@dataclass
class Figure:
    """One measured figure, its physical limit from the same run, and the ratio between them."""

    key: str
    title: str
    value: float | None
    unit: str
    limit_title: str = ""
    limit: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)


def throughput_figure(key: str, title: str, value: float, limit_title: str, limit: float,
                      unit: str, target: float | None = None, **details: Any) -> Figure:
    """A rate against the rate of its limit; the target, if any, is a minimum ratio."""
    ratio = value / limit if limit else None
    met = None if target is None or ratio is None else ratio >= target
    return Figure(key, title, value, unit, limit_title, limit, ratio,
                  f">= {target}x" if target is not None else "", met, details)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    answer = work()
    return time.perf_counter() - began, answer


def latencies(calls: Sequence[Callable[[], Any]]) -> list[float]:
    """Seconds per call, each call timed alone."""
    out = []
    for call in calls:
        began = time.perf_counter()
        call()
        out.append(time.perf_counter() - began)
    return out


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"date": system_clock.now().isoformat(timespec="seconds"), "host": platform.node(), "cpu": cpu,
            "cores": os.cpu_count(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform()}



def size_label(size: int) -> str:
    """1000 -> 1k, 1000000 -> 1M."""
    return f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1000}k" if size >= 1000 else str(size)
