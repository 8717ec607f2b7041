"""The advice record every rule produces and the app, the CLI and the store read (design doc §3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

__all__ = ["TOPICS", "Recommendation"]

#: What a recommendation is about (the app has an icon and a translation for each).
TOPICS = ("spray", "skip_spray", "scout", "irrigate", "fertilise", "harvest", "inspect", "protect_from_frost",
          "data")


@dataclass
class Recommendation:
    """One piece of advice for one plot.

    ``action_key`` and ``reason_key`` are message keys (``advice.action.spray_protective``) that the app
    translates, filling in ``action_numbers`` / ``reason_numbers``; ``evidence`` is the English one-line
    reason with the numbers that drove it, and ``source`` says where the data came from (station, forecast,
    climatology, sensors, imagery). ``severity`` 1 (for information) … 5 (act now).
    """

    plot_id: str
    issued_on: date
    valid_from: date
    valid_to: date
    topic: str
    severity: int
    action_key: str
    reason_key: str
    module: str
    action_numbers: dict = field(default_factory=dict)
    reason_numbers: dict = field(default_factory=dict)
    evidence: str = ""
    source: str = ""
    confidence: float | None = None
    products: list = field(default_factory=list)

    def __post_init__(self):
        if self.topic not in TOPICS:
            raise ValueError(f"unknown topic {self.topic!r}; use one of {', '.join(TOPICS)}")
        if not 1 <= int(self.severity) <= 5:
            raise ValueError(f"severity {self.severity!r} is not 1-5")

    def record(self) -> dict:
        """As a row for ``orchard.store.store_advice_run`` (its dicts and lists copied one level deep:
        ``dataclasses.asdict`` copies recursively, a measurable cost at 100,000 plots)."""
        return {name: (dict(value) if isinstance(value, dict) else list(value) if isinstance(value, list)
                       else value) for name, value in vars(self).items()}
