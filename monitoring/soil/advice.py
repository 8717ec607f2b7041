"""Advice signals from the soil: irrigation, nitrogen and nutrient status, pH and salinity warnings.

These are signals (numbers with their evidence), not the final recommendations: the advice module turns them
into recommendations and products. Sources are in ``parameters/advice.toml``,
``parameters/water_balance.toml``
and the standards tables ``data/leaf_standards.csv`` and ``data/soil_standards.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from orchard.errors import InputError
from orchard.params import ParameterSet, load_parameters

__all__ = [
    "PARAMETER_FILE",
    "default_parameters",
    "irrigation_advice",
    "nitrogen_rate",
    "nitrogen_split",
    "leaf_status",
    "soil_status",
    "ec_to_25c",
    "ece_from_bulk_ec",
    "salinity_yield_loss_pct",
    "salinity_warning",
    "ph_warning",
]

PARAMETER_FILE = Path(__file__).resolve().parent / "parameters" / "advice.toml"
DATA = Path(__file__).resolve().parent / "data"
STAGES = ("pre_spring_flush", "fruit_set", "fruit_enlargement", "post_harvest")
STAGE_MONTHS = {
    "pre_spring_flush": "Feb-Mar",
    "fruit_set": "May",
    "fruit_enlargement": "Jul-Aug",
    "post_harvest": "Nov-Dec",
}
LEAF_CLASSES = ("deficient", "low", "optimum", "high", "excess")


def default_parameters() -> ParameterSet:
    return load_parameters(PARAMETER_FILE)


def irrigation_advice(
    balance: xr.Dataset,
    wb_params: ParameterSet,
    *,
    irrigation: np.ndarray | None = None,
    forecast_precip_mm=None,
    day=-1,
) -> pd.DataFrame:
    """When and how much to irrigate each plot on one day of a water-balance run.

    Irrigate when the depletion exceeds RAW; net depth = depletion (refill to field capacity) capped at
    ``irrigation.max_event_mm``; gross = net / efficiency of the system; hours = gross / (capacity / 24) for
    the plot's system capacity [mm/d]. No irrigation when the forecast rain over the next days reaches
    ``irrigation.rain_forecast_threshold`` (deferred, with the forecast in the reason).

    Parameters
    ----------
    balance : xarray.Dataset
        Output of :func:`monitoring.soil.water_balance.water_balance`.
    irrigation : array of str, optional
        System per plot (none/drip/sprinkler); default from the balance's ``irrigation`` variable or "none".
    forecast_precip_mm : array-like, optional
        Forecast rain per plot over the coming days [mm], shape ``(plot,)`` or ``(day, plot)`` (summed).
    day : int or date
        Which day of the run (default the last).

    Returns
    -------
    pandas.DataFrame, one row per plot: plot_id, date, depletion_mm, raw_mm, taw_mm, ks, irrigate (bool),
    net_mm, gross_mm, hours, forecast_precip_mm, reason.
    """
    ds = balance.isel(time=day) if isinstance(day, int) else balance.sel(time=pd.Timestamp(day))
    n = ds.sizes["plot"]
    systems = np.asarray(
        irrigation
        if irrigation is not None
        else (ds["irrigation"].values if "irrigation" in ds else ["none"] * n),
        dtype=object,
    )
    capacity = ds["irrigation_capacity_mm_d"].values if "irrigation_capacity_mm_d" in ds else np.zeros(n)
    forecast = np.zeros(n) if forecast_precip_mm is None else np.asarray(forecast_precip_mm, float)
    if forecast.ndim == 2:
        forecast = np.nansum(forecast, axis=0)
    forecast = np.broadcast_to(forecast, (n,))
    dr, raw, taw = ds["depletion_mm"].values, ds["raw_mm"].values, ds["taw_mm"].values
    needed = dr > raw
    deferred = needed & (forecast >= float(wb_params["irrigation.rain_forecast_threshold"]))
    efficiency = np.where(
        systems == "sprinkler",
        float(wb_params["irrigation.efficiency_sprinkler"]),
        float(wb_params["irrigation.efficiency_drip"]),
    )
    irrigate = needed & ~deferred
    net = np.where(irrigate, np.minimum(dr, float(wb_params["irrigation.max_event_mm"])), 0.0)
    gross = net / efficiency
    with np.errstate(divide="ignore", invalid="ignore"):
        hours = np.where(irrigate & (capacity > 0), gross / (capacity / 24.0), np.nan)
    reasons = []
    for i in range(n):
        base = f"depletion {dr[i]:.0f} mm vs RAW {raw[i]:.0f} mm (TAW {taw[i]:.0f} mm)"
        if deferred[i]:
            reasons.append(f"{base}; deferred: {forecast[i]:.0f} mm of rain forecast")
        elif irrigate[i] and systems[i] in ("none", ""):
            reasons.append(f"{base}; irrigate {net[i]:.0f} mm net, but the plot has no irrigation system")
        elif irrigate[i]:
            reasons.append(
                f"{base}; irrigate {net[i]:.0f} mm net ({gross[i]:.0f} mm gross, {hours[i]:.1f} h)"
            )
        else:
            reasons.append(f"{base}; no irrigation needed")
    return pd.DataFrame(
        {
            "plot_id": ds["plot"].values.astype(str),
            "date": pd.Timestamp(ds["time"].values).date(),
            "depletion_mm": dr,
            "raw_mm": raw,
            "taw_mm": taw,
            "ks": ds["ks"].values,
            "irrigate": irrigate,
            "net_mm": net,
            "gross_mm": gross,
            "hours": hours,
            "forecast_precip_mm": forecast,
            "reason": reasons,
        }
    )


def nitrogen_rate(
    expected_yield_t_ha, params: ParameterSet | None = None, *, crop="sweet_orange", other_supply_kg_ha=0.0
):
    """Annual nitrogen rate [kg N/ha] from the expected yield, bounded by the Chinese survey ranges.

    ``N = (removal_per_t × yield − other supply) / efficiency``, clipped to the crop's recommended range.

    Returns
    -------
    (rate, unbounded) : numpy arrays [kg ha-1]
    """
    params = params or default_parameters()
    if crop not in ("sweet_orange", "mandarin"):
        raise InputError(f"crop '{crop}' has no nitrogen range; use sweet_orange or mandarin.")
    y = np.asarray(expected_yield_t_ha, float)
    if (y < 0).any():
        raise InputError("expected yield is negative; give tonnes of fresh fruit per hectare.")
    raw = (float(params["nitrogen.removal_per_t"]) * y - np.asarray(other_supply_kg_ha, float)) / float(
        params["nitrogen.use_efficiency"]
    )
    lo, hi = params[f"nitrogen.{crop}_range"]
    return np.clip(raw, lo, hi), raw


def nitrogen_split(total_kg_ha, params: ParameterSet | None = None) -> dict[str, float]:
    """Split an annual N rate over the four phenology stages (fractions from ``nitrogen.split``)."""
    params = params or default_parameters()
    shares = np.asarray(params["nitrogen.split"], float)
    shares = shares / shares.sum()
    return {stage: float(total_kg_ha) * share for stage, share in zip(STAGES, shares, strict=False)}


def _standards(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, comment="#")


def leaf_status(analysis: dict[str, float]) -> pd.DataFrame:
    """Classify a leaf analysis (element -> value in % or mg/kg) against the citrus standards.

    Returns element, value, unit, class (deficient/low/optimum/high/excess), optimum range and source.
    """
    table = _standards("leaf_standards.csv").set_index("element")
    rows = []
    for element, value in analysis.items():
        if element not in table.index:
            raise InputError(
                f"leaf analysis: element '{element}' has no standard; use one of {', '.join(table.index)}."
            )
        r = table.loc[element]
        edges = [r["low"], r["optimum"], r["high"], r["excess"]]
        cls = LEAF_CLASSES[int(np.searchsorted(edges, float(value), side="right"))]
        rows.append(
            {
                "element": element,
                "value": float(value),
                "unit": r["unit"],
                "class": cls,
                "optimum": f"{r['optimum']}-{r['high']}",
                "source": r["source"],
            }
        )
    return pd.DataFrame(rows)


def soil_status(analysis: dict[str, float]) -> pd.DataFrame:
    """Classify a soil analysis against the targets: below / within / above, with the source."""
    table = _standards("soil_standards.csv").set_index("element")
    rows = []
    for element, value in analysis.items():
        if element not in table.index:
            raise InputError(
                f"soil analysis: element '{element}' has no target; use one of {', '.join(table.index)}."
            )
        r = table.loc[element]
        cls = "below" if value < r["target_low"] else "above" if value > r["target_high"] else "within"
        rows.append(
            {
                "element": element,
                "value": float(value),
                "unit": r["unit"],
                "class": cls,
                "target": f"{r['target_low']}-{r['target_high']}",
                "source": r["source"],
            }
        )
    return pd.DataFrame(rows)


def ec_to_25c(ec_ds_m, soil_temp_c, coefficient=0.02):
    """Electrical conductivity corrected to 25 °C [dS m-1]: ``EC / (1 + c (T − 25))``."""
    return np.asarray(ec_ds_m, float) / (1.0 + coefficient * (np.asarray(soil_temp_c, float) - 25.0))


def ece_from_bulk_ec(ec25_ds_m, theta_m3_m3, saturation_m3_m3, a=1.3, b=-0.1, surface_ec=0.2):
    """Rough saturated-paste ECe from bulk EC at 25 °C [dS m-1] (calibrate before trusting it).

    Pore-water EC from the Rhoades form ``ECw = (ECb − ECs) / (θ (aθ + b))``, then diluted
    to saturation, ``ECe ≈ ECw θ / θs``.
    """
    theta = np.asarray(theta_m3_m3, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ecw = np.maximum(np.asarray(ec25_ds_m, float) - surface_ec, 0.0) / (
            theta * np.maximum(a * theta + b, 0.05)
        )
        return ecw * theta / np.asarray(saturation_m3_m3, float)


def salinity_yield_loss_pct(ece_ds_m, threshold=1.4, slope=13.0):
    """Relative yield loss of citrus [%]: ``slope (ECe − threshold)`` above it, in [0, 100] (Maas 1993)."""
    return np.clip(slope * (np.asarray(ece_ds_m, float) - threshold), 0.0, 100.0)


def salinity_warning(ec_ds_m, soil_temp_c, theta_m3_m3, saturation_m3_m3, params: ParameterSet | None = None):
    """ECe estimate, expected yield loss and a warning flag (ECe above the citrus threshold)."""
    params = params or default_parameters()
    ec25 = ec_to_25c(ec_ds_m, soil_temp_c, params["salinity.temperature_coefficient"])
    ece = ece_from_bulk_ec(
        ec25,
        theta_m3_m3,
        saturation_m3_m3,
        params["salinity.tortuosity_a"],
        params["salinity.tortuosity_b"],
        params["salinity.surface_ec"],
    )
    loss = salinity_yield_loss_pct(ece, params["salinity.threshold_ece"], params["salinity.slope"])
    return {"ece_ds_m": ece, "yield_loss_pct": loss, "warning": ece > float(params["salinity.threshold_ece"])}


def ph_warning(ph, params: ParameterSet | None = None) -> np.ndarray:
    """'acid' (lime), 'alkaline' (acidify) or '' per value, against the citrus optimum pH range."""
    params = params or default_parameters()
    lo, hi = params["ph.optimum"]
    ph = np.asarray(ph, float)
    return np.where(ph < lo, "acid", np.where(ph > hi, "alkaline", ""))
