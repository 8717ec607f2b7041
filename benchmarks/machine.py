"""One line describing the machine a benchmark ran on (CPU, cores, memory, OS, Python, library versions)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine(**versions: str) -> str:
    """E.g. ``machine(numpy=np.__version__)`` -> "AMD EPYC …, 2 logical CPUs, 24 GB RAM; Linux …; Python …"."""
    cpu = platform.processor() or platform.machine()
    mem = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1024**2:.0f} GB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    libraries = "".join(f", {name} {version}" for name, version in versions.items())
    return (f"{cpu}, {os.cpu_count()} logical CPUs{mem}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}{libraries}")
