"""The four pest models on constructed weather: what raises and lowers each risk."""

import numpy as np
import pytest
import xarray as xr
from pest_weather import constant_daily

from orchard.errors import InputError, ParameterError
from pests.model import run
from pests.paramsets import pest_parameters


def _host(ds, flush, fruit):
    shape = (ds.sizes["time"], ds.sizes["plot"])
    coords = {"time": ds["time"], "plot": ds["plot"]}
    return {
        "flush_fraction": xr.DataArray(np.full(shape, flush), dims=("time", "plot"), coords=coords),
        "fruit_susceptible": xr.DataArray(np.full(shape, fruit), dims=("time", "plot"), coords=coords),
    }


def test_wet_warm_week_raises_black_spot_and_canker_only_on_susceptible_host():
    wet = constant_daily(7, 22.0, 29.0, 95.0, 20.0)
    dry = constant_daily(7, 22.0, 32.0, 55.0, 0.0)
    on = run(None, wet, host=_host(wet, 1.0, 1.0))
    off = run(None, wet, host=_host(wet, 0.0, 0.0))
    dry_on = run(None, dry, host=_host(dry, 1.0, 1.0))
    for pest in ("black_spot", "canker"):
        assert int(on["event"].sel(pest=pest).sum()) >= 3
        assert int(off["event"].sel(pest=pest).sum()) == 0
        assert int(dry_on["event"].sel(pest=pest).sum()) == 0
    assert "growth model" in on.attrs["host_state_source"]


def test_default_calendar_gates_host_and_says_so():
    winter = constant_daily(7, 22.0, 29.0, 95.0, 20.0, start="2016-01-10")  # warm wet but no fruit, no flush
    r = run(None, winter)
    assert int(r["event"].sel(pest=["black_spot", "canker"]).sum()) == 0
    assert "default calendar" in r.attrs["host_state_source"]


def test_hot_dry_spell_raises_mites_and_heavy_rain_lowers_them():
    cool = run(None, constant_daily(30, 5.0, 13.0, 80.0, 0.0), pests=["mites"])
    hot_dry = run(None, constant_daily(30, 23.0, 31.0, 55.0, 0.0), pests=["mites"])
    storm = (np.arange(30) >= 20) & (np.arange(30) < 23)  # 3 days of 40 mm: 10-day rain above 100 mm
    rainy = run(
        None,
        constant_daily(30, 23.0, 31.0, np.where(storm, 90.0, 55.0), np.where(storm, 40.0, 0.0)),
        pests=["mites"],
    )
    # the peak: later the predators that follow the prey bring the hot-dry population down again
    d_cool = float(cool["mite_density"].max())
    d_hot = float(hot_dry["mite_density"].max())
    assert d_hot > 2 * d_cool
    assert float(rainy["mite_density"][22, 0]) < 0.6 * float(hot_dry["mite_density"][22, 0])
    assert float(rainy["mite_density"][19, 0]) == pytest.approx(float(hot_dry["mite_density"][19, 0]))
    assert bool(hot_dry["event"].sel(pest="mites").any()) and not bool(cool["event"].sel(pest="mites").any())


def test_leaf_miner_generations_advance_only_with_degree_days():
    cold = constant_daily(120, 2.0, 9.0, 80.0, 0.0, start="2016-06-01")  # below 10.4 degC all day
    warm = constant_daily(120, 24.0, 32.0, 80.0, 0.0, start="2016-06-01")
    host = _host(warm, 1.0, 0.0)
    assert int(run(None, cold, host=host, pests=["leaf_miner"])["event"].sum()) == 0
    n_warm = int(run(None, warm, host=host, pests=["leaf_miner"])["event"].sum())
    # ~18.6 DD/day above 10.4 (upper 33, single sine) over 120 days / 246 -> 9 generations; the first two
    # (a small population after the 1 January restart, build-up < 0.1) do not count as events
    assert 6 <= n_warm <= 8
    no_flush = run(None, warm, host=_host(warm, 0.0, 0.0), pests=["leaf_miner"])
    assert int(no_flush["event"].sum()) == 0


def test_leaf_miner_pressure_multiplies_canker_weight():
    wet = constant_daily(7, 22.0, 29.0, 95.0, 20.0)
    full = run(None, wet, host=_host(wet, 1.0, 1.0))
    p = {"canker": pest_parameters("canker", {"event.leafminer_multiplier": 1.0})}
    none = run(None, wet, host=_host(wet, 1.0, 1.0), params=p)
    w_full = float(full["weight"].sel(pest="canker").sum())
    w_none = float(none["weight"].sel(pest="canker").sum())
    assert w_full > w_none > 0


def test_unknown_pest_and_out_of_range_parameter_messages():
    ds = constant_daily(5, 20.0, 28.0, 90.0, 5.0)
    with pytest.raises(
        InputError, match="unknown pest 'aphid'; known pests are black_spot, canker, mites, leaf_miner"
    ):
        run(None, ds, pests=["aphid"])
    with pytest.raises(ParameterError, match=r"infection.topt = 40.0 degC is outside its range 25.0–30.0"):
        run(None, ds, params={"black_spot": {"infection.topt": 40.0}})
    with pytest.raises(InputError, match="has no humidity"):
        run(None, ds.drop_vars("rh_mean_pct"))
    with pytest.raises(InputError, match="out of order or repeated"):
        run(None, ds.isel(time=[0, 2, 1, 3, 4]))
    with pytest.raises(InputError, match="host state fruit_susceptible has values from 0 to 2"):
        run(
            None,
            ds,
            host={
                "fruit_susceptible": _host(ds, 0.0, 2.0)["fruit_susceptible"].where(
                    ds["time"] > ds["time"][0], 0.0
                )
            },
        )
