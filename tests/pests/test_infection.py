"""Magarey infection model: temperature response, required wetness, cohorts and the daily form."""

import numpy as np
import pytest

from orchard.errors import ParameterError
from pests.infection import (
    infection_events_daily,
    infection_events_hourly,
    infection_temperature_response,
    required_wetness_hours,
)

CBS = dict(tmin=12.0, topt=27.0, tmax=34.0)


def test_response_one_at_optimum_zero_outside():
    f = infection_temperature_response([11.0, 12.0, 27.0, 34.0, 40.0], **CBS)
    np.testing.assert_allclose(f, [0, 0, 1, 0, 0])
    inside = infection_temperature_response(np.linspace(12.5, 33.5, 50), **CBS)
    assert ((inside > 0) & (inside <= 1)).all()
    assert np.isnan(infection_temperature_response(np.nan, **CBS))


def test_required_wetness():
    assert required_wetness_hours(27.0, 13.0, 40.0, **CBS) == pytest.approx(13.0)
    t = np.array([27.0, 22.0, 17.0])
    w = required_wetness_hours(t, 13.0, 40.0, **CBS)
    assert np.all(np.diff(w) > 0)  # rises towards Tmin
    t_hot = np.array([27.0, 30.0, 32.0])
    w_hot = required_wetness_hours(t_hot, 13.0, 1000.0, **CBS)
    assert np.all(np.diff(w_hot) > 0)  # rises towards Tmax
    assert np.isinf(required_wetness_hours(35.0, 13.0, 40.0, **CBS))
    assert np.isinf(required_wetness_hours(13.0, 13.0, 40.0, **CBS))  # W > Wmax: impossible
    with pytest.raises(ParameterError, match="Tmin < Topt < Tmax"):
        infection_temperature_response(20.0, 27.0, 12.0, 34.0)


def test_cohort_fires_after_required_hours():
    wet = np.zeros(48, bool)
    wet[5:30] = True
    ev, w = infection_events_hourly(wet, np.full(48, 27.0), wmin=13.0, wmax=40.0, d50=3.0, **CBS)
    first = int(np.flatnonzero(ev)[0])
    assert first == 5 + 13 - 1  # the 13th wet hour
    assert ev.sum() == 25 - 13 + 1  # every cohort started early enough completes
    assert w[first] == pytest.approx(1.0)


def test_dry_interruption_shorter_than_d50_continues_longer_resets():
    t = np.full(60, 27.0)
    short = np.zeros(60, bool)
    short[0:8] = True
    short[10:18] = True  # 2 h dry < D50 3 h: 16 wet hours in one period
    assert infection_events_hourly(short, t, wmin=13.0, wmax=40.0, d50=3.0, **CBS)[0].sum() > 0
    long = np.zeros(60, bool)
    long[0:8] = True
    long[13:21] = True  # 5 h dry > D50: two periods of 8 h, no infection
    assert infection_events_hourly(long, t, wmin=13.0, wmax=40.0, d50=3.0, **CBS)[0].sum() == 0


def test_cold_wet_period_never_infects_and_columns_are_independent():
    wet = np.ones((48, 2), bool)
    t = np.stack([np.full(48, 10.0), np.full(48, 25.0)], axis=1)
    ev, _ = infection_events_hourly(wet, t, wmin=13.0, wmax=40.0, d50=3.0, **CBS)
    assert ev[:, 0].sum() == 0 and ev[:, 1].sum() > 0


def test_daily_form_with_carry():
    wet = np.array([[10.0], [23.0], [10.0], [0.0]])
    t = np.full((4, 1), 27.0)
    ev, wt, _ = infection_events_daily(wet, t, wmin=13.0, wmax=40.0, d50=3.0, **CBS)
    # day 0: 10 h < 13 and dry 14 h > D50: reset; day 1: 23 h >= 13 -> event; day 3 dry
    np.testing.assert_array_equal(ev[:, 0], [False, True, False, False])
    ev2, _, _ = infection_events_daily(
        np.array([[22.0], [22.0]]), np.full((2, 1), 19.0), wmin=13.0, wmax=40.0, d50=3.0, **CBS
    )
    # at 19 degC W = 13/f(19) ~ 31 h: only reached by carrying day 1 (dry 2 h <= D50) into day 2
    assert required_wetness_hours(19.0, 13.0, 40.0, **CBS) == pytest.approx(31.1, abs=0.1)
    np.testing.assert_array_equal(ev2[:, 0], [False, True])
