"""The outlook's fast paths give the same values as the plain formulas they replace (bit for bit)."""

import json
import warnings

import numpy as np
import pytest

from pests.outlook import _EVENT_WORD, LEVEL_NAMES_EN, _member_arrays, _reasons
from pests.paramsets import PEST_LABELS, load_all
from pests.wetness import _es_kpa, rh_threshold_temperature, wet_hours_daily


def _wet_hours_plain(tmin, tmax, rh_mean, precip_mm, threshold=90.0, rain_intensity_mm_h=2.0, n_quad=6):
    """wet_hours_daily written plainly: every quadrature point evaluated, np.where throughout."""
    dtype = np.float32 if np.asarray(tmin).dtype == np.float32 else np.float64
    tmin = np.asarray(tmin, dtype)
    tmax = np.maximum(np.asarray(tmax, dtype), tmin)
    mean, half = (tmax + tmin) / 2.0, (tmax - tmin) / 2.0
    inv_es = np.zeros(np.broadcast(mean, half).shape, dtype)
    for th in (np.arange(n_quad) + 0.5) / n_quad * 2 * np.pi:
        inv_es += 1.0 / _es_kpa(mean + half * float(np.sin(th)))
    ea = np.asarray(rh_mean, dtype) / 100.0 / (inv_es / n_quad)
    t_star = rh_threshold_temperature(ea, threshold)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(
            half > 0, (t_star - mean) / np.where(half > 0, half, 1.0), np.where(t_star >= mean, 2.0, -2.0)
        )
    ang = np.arcsin(np.clip(ratio, -1.0, 1.0))
    frac = (ang + np.pi / 2) / np.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        t_dew = np.where(frac > 0, mean - half * np.cos(ang) / np.maximum(ang + np.pi / 2, 1e-9), mean)
    p = np.nan_to_num(np.asarray(precip_mm, dtype), nan=0.0)
    rain_h = np.clip(np.ceil(p / rain_intensity_mm_h), 0, 24)
    dew_h = 24.0 * frac
    wet = dew_h + rain_h * (1.0 - dew_h / 24.0)
    share_rain = np.where(wet > 0, rain_h * (1.0 - dew_h / 24.0) / np.maximum(wet, 1e-9), 0.0)
    t_wet = (1 - share_rain) * t_dew + share_rain * mean
    nan = np.isnan(ea) | np.isnan(mean)
    return np.where(nan, np.nan, wet), np.where(nan, np.nan, t_wet)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wet_hours_daily_equals_the_plain_quadrature(dtype):
    rng = np.random.default_rng(11)
    shape = (40, 6, 5)
    tmin = (15 + rng.normal(0, 8, shape)).astype(dtype)
    tmax = (tmin + rng.uniform(0, 12, shape)).astype(dtype)
    tmax[::5, 0] = tmin[::5, 0]  # flat days: wet all day or not at all
    rh = np.clip(80 + rng.normal(0, 15, shape), 0, 100).astype(dtype)
    rh[3, 2, 1] = np.nan
    precip = np.where(rng.random(shape) < 0.4, rng.gamma(0.9, 12, shape), 0.0).astype(dtype)
    precip[5, 5, 0] = np.nan
    tmin[6, 4, 4] = np.nan
    for args in [(tmin, tmax, rh, precip), (tmin[:, :1], tmax[:, :1], rh, precip)]:
        fast, plain = wet_hours_daily(*args), _wet_hours_plain(*args)
        for a, b in zip(fast, plain, strict=True):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)
    # scalars, including a flat humid day and missing humidity
    for args in [(10.0, 20.0, 85.0, 0.0), (15.0, 15.0, 95.0, 3.0), (10.0, 20.0, np.nan, 0.0)]:
        np.testing.assert_array_equal(wet_hours_daily(*args), _wet_hours_plain(*args))


def _reasons_plain(pests, horizon_days, prob, expected, weighted, level, params):
    """The reason strings formatted plot by plot."""
    shape = prob.shape
    reason, key, args = (np.empty(shape, dtype=object) for _ in range(3))
    for j, pest in enumerate(pests):
        for k, h in enumerate(horizon_days):
            for i in range(shape[0]):
                a, b, c = (
                    float(np.round(prob[i, j, k], 2)),
                    float(np.round(expected[i, j, k], 1)),
                    float(np.round(weighted[i, j, k], 2)),
                )
                name = LEVEL_NAMES_EN[int(level[i, j, k])]
                if pest == "mites":
                    thr = params["mites"]["action.threshold"]
                    text = (
                        f"P(above {thr:g} mites/leaf in {h} d) = {a:.2f}; expected peak {c:.1f} mites/leaf, "
                        f"{b:.1f} new generations; level {name}"
                    )
                    argv = {"p": a, "generations": b, "peak_per_leaf": c, "threshold": thr, "days": h}
                else:
                    one, many = _EVENT_WORD[pest]
                    text = (
                        f"P(≥1 {one} in {h} d) = {a:.2f}; expected {b:.1f} {many} (weighted {c:.1f}); "
                        f"level {name}"
                    )
                    argv = {"p": a, "events": b, "weighted": c, "days": h}
                reason[i, j, k] = f"{PEST_LABELS[pest]}: {text}"
                key[i, j, k] = f"pests.reason.{pest}"
                args[i, j, k] = json.dumps(argv)
    return reason.astype(str), key.astype(str), args.astype(str)


def test_reasons_equal_plot_by_plot_formatting():
    pests = ["black_spot", "canker", "leaf_miner", "mites"]
    params = load_all(None, pests)
    rng = np.random.default_rng(5)
    shape = (300, 4, 3)
    prob = rng.integers(0, 21, shape) / 20
    expected = rng.gamma(1.0, 2.0, shape)
    weighted = rng.gamma(1.0, 1.0, shape)
    # rounding edges, zeros and a large value
    expected[:5, 0, 0] = [0.05, 0.15, 0.25, 0.0, 1234.56]
    weighted[:5, 0, 0] = [0.005, 0.015, 0.125, 0.0, 99.995]
    level = rng.integers(1, 6, shape).astype(np.int8)
    fast = _reasons(pests, [15, 30, 91], prob, expected, weighted, level, params)
    plain = _reasons_plain(pests, [15, 30, 91], prob, expected, weighted, level, params)
    for a, b in zip(fast, plain, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_member_arrays_equal_stacking_the_years():
    rng = np.random.default_rng(2)
    record = {name: rng.normal(20, 5, (400, 7)).astype(np.float32) for name in ("tmin_c", "precip_mm")}
    record["tmin_c"][35, 2] = np.nan  # filled by the other members' mean
    record["precip_mm"][40:45, 3] = np.nan
    record["precip_mm"][[50, 140, 320], 4] = np.nan  # a day no member has: stays NaN
    index = np.stack([np.arange(30, 60), np.arange(120, 150), np.arange(300, 330)], axis=-1)  # (day, member)
    pick = np.array([0, 1, 2, 0, 1])
    plots = slice(1, 5)
    got = _member_arrays(record, index, plots, pick)
    for name, a in record.items():
        stacked = np.stack([a[index[:, m]] for m in range(index.shape[1])], axis=-1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # mean of the all-NaN day
            mean = np.nanmean(stacked, axis=-1, keepdims=True)
        expected = np.where(np.isnan(stacked), mean, stacked)[:, plots][..., pick]
        assert got[name].dtype == np.float32
        np.testing.assert_array_equal(got[name], expected)
    assert not np.isnan(got["tmin_c"]).any()
    assert np.isnan(got["precip_mm"][20, 3]).all() and np.isnan(got["precip_mm"]).sum() == 5
