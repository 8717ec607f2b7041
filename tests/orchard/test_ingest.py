"""Imports take their processing defaults from the core parameter set."""

import numpy as np

from orchard.ingest import read_and_check_weather
from orchard.params import core_parameters
from orchard.weather import QC_FILLED, QC_MISSING

METEO = "weather/changting_58911_meteo_daily.csv"


def test_angstrom_coefficients_come_from_the_parameter_set(sample_dir):
    core = core_parameters()
    default, _ = read_and_check_weather(sample_dir / METEO, format="changting", parameters=core)
    brighter = core.with_overrides({"radiation.angstrom_a": 0.30, "radiation.angstrom_b": 0.55})
    changed, _ = read_and_check_weather(sample_dir / METEO, format="changting", parameters=brighter)
    ratio = (changed["rs_mj_m2"] / default["rs_mj_m2"]).values
    sunshine_h = default["sunshine_h"].values
    assert np.all(ratio[np.isfinite(ratio)] > 1.0)
    # On a day without sunshine Rs = a_s Ra, so the ratio is exactly 0.30 / 0.25.
    dark = (sunshine_h == 0) & np.isfinite(ratio)
    np.testing.assert_allclose(ratio[dark], 0.30 / 0.25, rtol=1e-9)


def test_gap_filling_limit_comes_from_the_parameter_set(tmp_path):
    rows = ["time,tmin_c,tmax_c"] + [f"2016-03-{d:02d},{8 + d % 3},{15 + d % 4}" for d in range(1, 21)
                                     if d not in (5, 6, 7)]  # a 3-day gap
    path = tmp_path / "gap.csv"
    path.write_text("\n".join(rows) + "\n")
    core = core_parameters()
    two_days, _ = read_and_check_weather(path, format="csv", station_id="T", parameters=core)  # fill ≤ 2 d
    three_days, _ = read_and_check_weather(path, format="csv", station_id="T",
                                           parameters=core.with_overrides({"gaps.max_fill_days": 3}))
    gap = slice("2016-03-05", "2016-03-07")
    assert np.all(two_days["tmin_c_qc"].sel(time=gap).values & QC_MISSING)
    assert np.isnan(two_days["tmin_c"].sel(time=gap).values).all()
    assert np.all(three_days["tmin_c_qc"].sel(time=gap).values & QC_FILLED)
    assert np.isfinite(three_days["tmin_c"].sel(time=gap).values).all()
