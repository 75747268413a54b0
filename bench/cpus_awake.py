"""Keep the machine's idle CPUs polling instead of halting while a latency benchmark runs.

A single event on PostgreSQL hands work back and forth between the client and the server's
backend four to six times (each round trip out and back), and between hand-offs the side that
waits is idle. On a virtual machine whose guest halts an idle vCPU at once (the `haltpoll` idle
driver with `guest_halt_poll_ns` = 0, as on this project's machine kind), each hand-off then waits
for the host to wake a halted vCPU. Decision 32 measured what that costs an event; this lets a
benchmark show it beside the plain figure, so that what belongs to the machine is not read as the
engine's.

Holding 0 in `/dev/cpu_dma_latency` (the kernel's PM QoS request, what tuned's
`latency-performance` profile does on database hosts) keeps idle CPUs in their polling state for
as long as the file stays open, and the kernel drops the request when it is closed, so nothing
outlives the benchmark. It needs root; the benchmark reports whether the request held.
"""
from __future__ import annotations

import os
import struct
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

PM_QOS = Path("/dev/cpu_dma_latency")
IDLE_DRIVER = Path("/sys/devices/system/cpu/cpuidle/current_driver")


@contextmanager
def cpus_awake(wanted: bool) -> Iterator[str]:
    """While the block runs, idle CPUs poll if `wanted` and the machine allows it. Yields what
    held, for the benchmark's JSON: "not asked", "held" or "not held: <why>"."""
    if not wanted:
        yield "not asked"
        return
    try:
        descriptor = os.open(PM_QOS, os.O_WRONLY)
    except OSError as error:
        yield f"not held: {PM_QOS}: {error.strerror}"
        return
    try:
        os.write(descriptor, struct.pack("i", 0))  # the request: no idle state with any exit latency
        yield "held"
    finally:
        os.close(descriptor)  # the kernel withdraws the request with the last descriptor


def idle_driver() -> str | None:
    """The kernel's idle driver (`haltpoll` on this project's virtual machines), if it says."""
    try:
        return IDLE_DRIVER.read_text().strip()
    except OSError:
        return None
