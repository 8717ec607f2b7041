"""Hand-made season replay folders in the layout ``orchard replay`` writes (advice/replay_store.py), for the
tests of the readers: the accounting CLI and page, and ``orchard skill --replay``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

#: The programmes of the hand-made summary (median, p10, p90 over the plots).
ADVICE = {"sprays": (5, 4, 7), "tfi": (7.8, 6.0, 9.5), "kg_ai_ha": (6.6, 5.0, 8.0),
          "kg_cu_ha": (2.1, 1.5, 3.0), "field_eiq": (180.0, 150.0, 220.0), "kg_co2e_ha": (95.0, 80.0, 110.0),
          "cost_cny_per_mu": (120.0, 100.0, 150.0), "unprotected_events": (1, 0, 2),
          "label_breaches": (0, 0, 0), "events_mites": (3, 1, 5)}
CALENDAR = {"sprays": (8, 8, 8), "tfi": (13.0, 13.0, 13.0), "kg_ai_ha": (11.1, 11.1, 11.1),
            "kg_cu_ha": (3.0, 3.0, 3.0), "field_eiq": (300.0, 300.0, 300.0),
            "kg_co2e_ha": (150.0, 150.0, 150.0),
            "cost_cny_per_mu": (200.0, 200.0, 200.0), "unprotected_events": (1, 1, 2),
            "label_breaches": (0, 0, 0), "events_mites": (3, 1, 5)}


def _stats(table):
    return {m: {"median": v[0], "p10": v[1], "p90": v[2]} for m, v in table.items()}


def write_replay(home, season: int = 2016, follow: str = "advice", plot_ids=("CT01", "CT02"),
                 weekly: pd.DataFrame | None = None) -> Path:
    """Write ``home/replays/<season>-<follow>/`` with summary.json, plots.csv and weekly.csv."""
    folder = Path(home) / "replays" / f"{season}-{follow}"
    folder.mkdir(parents=True, exist_ok=True)
    ratio = {m: ADVICE[m][0] / CALENDAR[m][0] for m in ("sprays", "tfi", "kg_ai_ha")}
    summary = {"season": season, "follow": follow, "district": None,
               "created": f"{season + 10}-12-07T21:00:00Z",
               "plots": len(plot_ids), "programmes": {"advice": _stats(ADVICE), "calendar": _stats(CALENDAR)},
               "ratio_to_calendar": ratio, "bundle": {"pests": 1}, "seconds": 95.0}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    rows = [{"programme": programme, "plot_id": pid, **{m: v[0] for m, v in table.items()}}
            for programme, table in (("advice", ADVICE), ("calendar", CALENDAR)) for pid in plot_ids]
    pd.DataFrame(rows).to_csv(folder / "plots.csv", index=False)
    if weekly is None:
        weekly = pd.DataFrame([{"plot_id": plot_ids[0], "issued_on": f"{season}-05-01", "pest": "mites",
                                "level_15d": 4, "level_1m": 4, "level_3m": 3, "probability_15d": 0.8,
                                "decision": "spray", "protected_until": f"{season}-05-15",
                                "product_id": "abamectin_18ec"}])
    weekly.to_csv(folder / "weekly.csv", index=False)
    return folder
