"""Background jobs the app starts (a re-run of the weekly chain is a job, not a page render).

A job is a JSON status file ``ORCHARD_HOME/jobs/<job_id>.json`` written by the page that starts it
(``staff_data.start_rerun``): the command, who asked and why, ``state`` ("starting"), the log path. The page
then starts this file as its own process::

    python app/jobs.py ORCHARD_HOME/jobs/<job_id>.json

which marks the job "running" with its pid, runs the command (``python -m orchard.cli run-week --date D``)
with its output in the log, and writes the end: ``state`` "done" or "failed", ``exit_code``, ``finished_utc``,
the new ``run_id`` (from the command's "stored as run …" line) and, on failure, the command's last line (the
CLI's one-sentence error) as ``error``. Every write replaces the file whole (a reader never sees half a file).
This file imports neither Streamlit nor the app, so it runs in a plain Python.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

#: Where the command says which run it stored (``orchard run-week``'s last line).
STORED_AS = re.compile(r"stored as run (\S+)")
#: Bytes of the log read back at the end (the run id and the error are in its last lines).
LOG_TAIL_BYTES = 16_384


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_job(path: str | os.PathLike) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_job(path: str | os.PathLike, job: dict) -> None:
    """Write a job's status file whole (a temporary file moved into place)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(job, f, ensure_ascii=False, indent=1, default=str)
    os.replace(tmp, path)


def update_job(path: str | os.PathLike, **fields) -> dict:
    job = read_job(path)
    job.update(fields)
    write_job(path, job)
    return job


def log_tail(path: str | os.PathLike, n_bytes: int = LOG_TAIL_BYTES) -> str:
    """The end of a job's log as text ("" without one)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(f.tell() - n_bytes, 0))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def last_sentence(text: str) -> str:
    """The last non-empty line of a log: the CLI's one-sentence error after a failure."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run(path: str | os.PathLike) -> int:
    """Run the job of a status file to its end and record how it ended; returns the command's exit code."""
    job = update_job(path, state="running", pid=os.getpid(), started_utc=now_utc())
    log_path = Path(job["log"])
    try:
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(job["command"], stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, cwd=job.get("cwd") or None)
            update_job(path, child_pid=proc.pid)
            code = proc.wait()
    except OSError as exc:
        update_job(path, state="failed", exit_code=None, finished_utc=now_utc(),
                   error=f"the job could not start its command ({exc}).")
        return 1
    tail = log_tail(log_path)
    found = STORED_AS.findall(tail)
    ok = code == 0 and bool(found)
    update_job(path, state="done" if ok else "failed", exit_code=code, finished_utc=now_utc(),
               run_id=found[-1] if found else None,
               error=None if ok else (last_sentence(tail) or f"the command ended with exit code {code}."))
    return code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python app/jobs.py JOB.json", file=sys.stderr)
        return 2
    return run(argv[0])


if __name__ == "__main__":
    sys.exit(main())
