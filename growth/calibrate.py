"""Calibrate cultivar parameters against observed bloom and maturity dates, fruit diameters and Brix.

Least squares (``scipy.optimize.least_squares``, bounded by each parameter's [min, max]) on residuals in
natural units: days for dates, mm for diameters, °Brix for sugar. Dates enter smoothly: the residual of an
observed bloom date is how far the model's heat sum on that day is from the bloom requirement, divided
by the day's heat rate, i.e. the model's bloom error in days without the staircase of whole days
(the usual way phenology models are fitted to observed dates; APSIM fits flowering and maturity this way).
A maturity date enters the same way through the quality margin min(R/R*, TA*/TA) − 1.

Fitted values stay inside each parameter's published [min, max]; a value that ends on (or within 1 % of the
range from) a bound is reported in ``CalibrationResult.at_bounds`` and the table's warnings: the data pull it
outside the published range, so the range, the data or the model structure needs a look.
The weather is moved onto the slopes once, before the fit, and the fit runs without the flat-ground pass.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from scipy.optimize import least_squares

from growth import cultivars, model, slope
from orchard import limits
from orchard import params as orchard_params
from orchard.errors import InputError, check_input_file

__all__ = ["DEFAULT_KEYS", "OBSERVATION_VARIABLES", "CalibrationResult", "ObservationFault",
           "ObservationFileError", "calibrate", "observation_faults", "read_observations", "residuals"]

#: What an observation file may hold: dates of stages, or measured values with a unit.
OBSERVATION_VARIABLES = {"bloom_date": "date", "maturity_date": "date", "fruit_diameter_mm": "mm",
                         "brix": "Brix"}
#: Parameters fitted by default, per observed variable.
DEFAULT_KEYS = {
    "bloom_date": ("bloom.required_gdd",),
    "fruit_diameter_mm": ("fruit.final_diameter", "fruit.midpoint_gdd", "fruit.growth_rate"),
    "brix": ("quality.tss_intercept", "quality.tss_temperature_coef"),
    "maturity_date": ("quality.acid_rate_15c",),
}
#: A fitted value within this fraction of its range from a bound counts as "on the bound".
BOUND_TOLERANCE = 0.01


@dataclass
class CalibrationResult:
    """Fitted parameter set with the error before and after, per observed variable (RMSE in its unit)."""

    params: orchard_params.ParameterSet
    keys: tuple[str, ...]
    rmse_before: dict[str, float]
    rmse_after: dict[str, float]
    n_observations: dict[str, int]
    values_before: dict[str, float] = field(default_factory=dict)
    values_after: dict[str, float] = field(default_factory=dict)
    at_bounds: dict[str, str] = field(default_factory=dict)
    seconds: float = float("nan")

    @property
    def warnings(self) -> list[str]:
        """One sentence per fitted value that ended on a bound of its published range."""
        return [f"{key} ended on its {side} bound ({self.values_after[key]:g}): the observations pull it "
                "outside its published range; check the observations, the range's source or the model before "
                "using it."
                for key, side in self.at_bounds.items()]

    def table(self) -> pd.DataFrame:
        units = {"bloom_date": "d", "maturity_date": "d", "fruit_diameter_mm": "mm", "brix": "Brix"}
        return pd.DataFrame([{"variable": v, "n": self.n_observations[v], "unit": units[v],
                              "rmse_before": self.rmse_before[v], "rmse_after": self.rmse_after[v]}
                             for v in self.n_observations])


@dataclass(frozen=True)
class ObservationFault:
    """One fault of an observation file, as data (a page says it in its own language).

    Attributes
    ----------
    kind : str
        One of ``columns_missing``, ``empty``, ``no_plot``, ``unknown_variable``, ``bad_date``, ``no_value``,
        ``implausible``, ``unknown_plot``.
    rows : tuple of int
        Line numbers in the file (the header is line 1); empty for a fault of the whole file.
    value : str
        The offending text: the missing columns, the unknown variable, the date, the variable without a
        value, or the plot ids.
    sentence : str
        The fault in English (what, where, what to do), as the CLI prints it.
    """

    kind: str
    rows: tuple[int, ...]
    value: str
    sentence: str


class ObservationFileError(InputError):
    """Every fault found in an observation file (``faults``), not only the first: the file is fixed in one
    go. ``str(error)`` lists them all in one message naming the file."""

    def __init__(self, name: str, faults: list[ObservationFault]):
        self.name = name
        self.faults = list(faults)
        if len(self.faults) == 1:
            message = f"{name}: {self.faults[0].sentence}."
        else:
            message = (f"{name} has {len(self.faults)} faults: "
                       + "; ".join(f.sentence for f in self.faults) + ". Fix them and read the file again.")
        super().__init__(message)


def _rows_text(rows) -> str:
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:10]) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")
    return f"row {shown}" if len(rows) == 1 else f"rows {shown}"


def observation_faults(frame: pd.DataFrame) -> list[ObservationFault]:
    """Every fault of an observation table as read from its CSV (text cells): missing columns or no rows
    (then nothing else is checked), rows without a plot, unknown variables, dates not written YYYY-MM-DD or
    not plausible (:func:`orchard.limits.parse_date`: within ``dates.years``, not in the future), measured
    variables without a number or with one no fruit can have (``observation.<variable>`` in
    ``orchard/parameters/limits.toml``). Rows are the file's line numbers (header = 1)."""
    missing = [c for c in ("plot_id", "date", "variable") if c not in frame.columns]
    if missing:
        names = ", ".join(f"'{c}'" for c in missing)
        verb = "is" if len(missing) == 1 else "are"
        noun = "column" if len(missing) == 1 else "columns"
        return [ObservationFault("columns_missing", (), ", ".join(missing),
                                 f"{noun} {names} {verb} missing (the file needs plot_id, date, variable and "
                                 "value)")]
    if frame.empty:
        return [ObservationFault("empty", (), "", "holds no observations (add rows of plot_id, date, variable, "
                                 "value)")]
    faults = []
    line = np.arange(len(frame)) + 2
    for i in np.flatnonzero(frame["plot_id"].isna().to_numpy()):
        faults.append(ObservationFault("no_plot", (int(line[i]),), "",
                                       f"row {line[i]} has no plot_id (every observation names its plot)"))
    variables = frame["variable"].astype(str)
    known = variables.isin(list(OBSERVATION_VARIABLES))
    for name in sorted(set(variables[~known])):
        rows = tuple(int(r) for r in line[(variables == name).to_numpy()])
        faults.append(ObservationFault("unknown_variable", rows, name,
                                       f"{_rows_text(rows)} name{'s' if len(rows) == 1 else ''} the unknown "
                                       f"variable '{name}' (use one of {', '.join(OBSERVATION_VARIABLES)})"))
    dates = pd.to_datetime(frame["date"], errors="coerce", format="%Y-%m-%d")
    first, last = limits.datebounds(past=True)  # observed, so not in the future
    for i in range(len(frame)):
        text = frame["date"].iloc[i]
        shown = "" if pd.isna(text) else str(text)
        if pd.isna(dates.iloc[i]):
            faults.append(ObservationFault("bad_date", (int(line[i]),), shown,
                                           f"row {line[i]} has date {shown!r} (write dates as YYYY-MM-DD)"))
        elif not first <= dates.iloc[i].date() <= last:
            faults.append(ObservationFault("bad_date", (int(line[i]),), shown,
                                           f"row {line[i]} has date {shown!r}, which is not plausible (give a "
                                           f"date between {first} and {last})"))
    measured = (variables.map(OBSERVATION_VARIABLES) != "date") & known
    values = (pd.to_numeric(frame["value"], errors="coerce") if "value" in frame
              else pd.Series(np.nan, index=frame.index))
    for i in np.flatnonzero((measured & values.isna()).to_numpy()):
        faults.append(ObservationFault("no_value", (int(line[i]),), variables.iloc[i],
                                       f"row {line[i]} ({variables.iloc[i]}) has no numeric value"))
    for i in np.flatnonzero((measured & values.notna()).to_numpy()):  # a diameter or Brix a fruit can have
        variable = variables.iloc[i]
        try:
            limits.check_number(float(values.iloc[i]), f"observation.{variable}", f"row {line[i]}: {variable}")
        except InputError as exc:
            faults.append(ObservationFault("implausible", (int(line[i]),), variable,
                                           str(exc).rstrip(".")))
    return sorted(faults, key=lambda f: f.rows[:1])


def read_observations(path) -> pd.DataFrame:
    """Read observations: CSV with columns ``plot_id, date, variable, value`` (value empty for dates).

    ``variable`` is one of bloom_date, maturity_date (the ``date`` column is the observed date),
    fruit_diameter_mm, brix (measured on ``date``).

    Raises
    ------
    ObservationFileError
        Every fault of the file at once (:func:`observation_faults`), so it can be fixed in one go.
    """
    path = check_input_file(path, what="observation file")
    try:
        frame = pd.read_csv(path, dtype={"plot_id": str, "variable": str, "date": str})
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path.name}: not a readable CSV ({str(exc).splitlines()[0]}).") from None
    faults = observation_faults(frame)
    if faults:
        raise ObservationFileError(path.name, faults)
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    frame["value"] = (pd.to_numeric(frame["value"], errors="coerce") if "value" in frame
                      else pd.Series(np.nan, index=frame.index))
    return frame


def residuals(ds: xr.Dataset, obs: pd.DataFrame, pset: orchard_params.ParameterSet) -> dict[str, np.ndarray]:
    """Model − observation per variable: dates [d] (smooth, from thermal time), diameter [mm], Brix.

    Public so the app's calibration page can show each observation's residual before and after the fit.
    """
    out: dict[str, list[float]] = {v: [] for v in OBSERVATION_VARIABLES}
    names = {"bloom_heat_c_d", "ratio", "acid_pct", "fruit_diameter_mm", "brix"} & set(ds.data_vars)
    series = {name: ds[name].transpose("time", "plot").to_pandas() for name in names}  # once, not per row
    for row in obs.itertuples(index=False):
        day = pd.Timestamp(row.date)
        if row.variable == "bloom_date":
            heat = series["bloom_heat_c_d"][row.plot_id]
            start = pd.Timestamp(year=day.year, month=1, day=1) + pd.Timedelta(
                days=int(pset["bloom.start_doy"]) - 1)
            cumulative = heat[start:day].sum()
            rate = max(float(heat[day - pd.Timedelta(days=7):day + pd.Timedelta(days=7)].mean()), 0.5)
            out["bloom_date"].append((float(pset["bloom.required_gdd"]) - cumulative) / rate)
        elif row.variable == "maturity_date":
            # quality margin: > 0 once both the ratio and the acid criteria are met
            margin = np.minimum(series["ratio"][row.plot_id] / float(pset["maturity.ratio_required"]),
                                float(pset["maturity.acid_max"]) / series["acid_pct"][row.plot_id]) - 1.0
            week = margin[day - pd.Timedelta(days=10):day + pd.Timedelta(days=10)].dropna()
            slope = max(float(np.polyfit(np.arange(len(week)), week.to_numpy(), 1)[0]), 1e-4) \
                if len(week) > 2 else 1e-2
            out["maturity_date"].append(-float(margin.get(day, np.nan)) / slope)
        else:
            out[row.variable].append(float(series[row.variable].at[day, row.plot_id]) - row.value)
    return {v: np.asarray(r) for v, r in out.items() if r}


def calibrate(plots, weather: xr.Dataset, observations: pd.DataFrame, pset: orchard_params.ParameterSet,
              keys=None, *, slope_correction: bool = True) -> CalibrationResult:
    """Fit parameters of one cultivar's set to observations on its plots.

    Parameters
    ----------
    plots : PlotSet or xarray.Dataset
        Plots with observations (other plots are ignored).
    weather : xarray.Dataset
        Daily plot weather covering the season(s) observed (from 1 October before the bloom).
    observations : pandas.DataFrame
        From :func:`read_observations`.
    pset : ParameterSet
        Starting values (and bounds: each parameter's min and max).
    keys : sequence of str, optional
        Parameters to fit; default those of :data:`DEFAULT_KEYS` for the observed variables.

    Returns
    -------
    CalibrationResult
    """
    plots_ds = model._plots_dataset(plots)
    known = set(plots_ds["plot"].values.astype(str))
    unknown = sorted(set(observations["plot_id"]) - known)
    if unknown:
        raise InputError(f"observations name plot '{unknown[0]}', which is not among the plots.")
    used = sorted(set(observations["plot_id"]))
    started = time.perf_counter()
    plots_ds = plots_ds.sel(plot=used)
    weather = weather.sel(plot=used)
    if slope_correction and "tmin_flat_c" not in weather:  # once, not in every model run of the fit
        weather = slope.slope_weather(weather, plots_ds)
    observed = [v for v in OBSERVATION_VARIABLES if (observations["variable"] == v).any()]
    keys = tuple(keys) if keys else tuple(k for v in observed for k in DEFAULT_KEYS[v])
    for key in keys:
        pset.entry(key)  # unknown keys raise with a suggestion
    lower = np.array([float(pset.entry(k).min) for k in keys])
    upper = np.array([float(pset.entry(k).max) for k in keys])

    def with_values(x):
        values = lower + x * (upper - lower)
        return pset.with_overrides({k: float(v) for k, v in zip(keys, values, strict=True)})

    def objective(x):
        trial = with_values(x)
        ds = model.run(plots_ds, weather, trial, slope_correction=slope_correction, flat_reference=False)
        parts = residuals(ds, observations, trial)
        # Put the variables on comparable scales: a day of bloom error ~ a mm of diameter ~ 0.1 Brix.
        scale = {"bloom_date": 1.0, "maturity_date": 1.0, "fruit_diameter_mm": 1.0, "brix": 10.0}
        return np.concatenate([np.nan_to_num(parts[v], nan=100.0) * scale[v] for v in parts])

    def rmse(x):
        trial = with_values(x)
        parts = residuals(model.run(plots_ds, weather, trial, slope_correction=slope_correction,
                                    flat_reference=False), observations, trial)
        return {v: float(np.sqrt(np.nanmean(r ** 2))) for v, r in parts.items()}

    x0 = np.clip((np.array([float(pset[k]) for k in keys]) - lower) / (upper - lower), 0.0, 1.0)
    before = rmse(x0)
    fit = least_squares(objective, x0, bounds=(0.0, 1.0), diff_step=1e-3, x_scale=1.0, max_nfev=200)
    fitted = with_values(fit.x)
    at_bounds = {k: ("lower" if x <= BOUND_TOLERANCE else "upper") for k, x in zip(keys, fit.x, strict=True)
                 if x <= BOUND_TOLERANCE or x >= 1.0 - BOUND_TOLERANCE}
    return CalibrationResult(
        params=orchard_params.ParameterSet(pset.name, fitted.entries), keys=keys, rmse_before=before,
        rmse_after=rmse(fit.x),
        n_observations={v: int((observations["variable"] == v).sum()) for v in observed},
        values_before={k: float(pset[k]) for k in keys}, values_after={k: float(fitted[k]) for k in keys},
        at_bounds=at_bounds, seconds=time.perf_counter() - started)


def cultivar_of_observations(plots_ds: xr.Dataset, observations: pd.DataFrame) -> str:
    """The one cultivar of the observed plots (calibration fits one cultivar at a time)."""
    known = set(plots_ds["plot"].values.astype(str))
    unknown = sorted(set(observations["plot_id"].astype(str)) - known)
    if unknown:
        raise InputError(f"the observations name plot '{unknown[0]}', which is not in the database; "
                         "check the plot ids (orchard plots list).")
    codes = {str(plots_ds["cultivar"].sel(plot=pid).item()) for pid in set(observations["plot_id"])}
    if len(codes) != 1:
        raise InputError(f"the observations cover plots of {len(codes)} cultivars "
                         f"({', '.join(sorted(codes))}); "
                         "calibrate one cultivar at a time (--cultivar, or split the file).")
    code = codes.pop()
    cultivars.cultivar_parameters(code)  # unknown cultivar: a clear error
    return code
