"""Generation and population models against Yasuda 1982 (P. citri) and the leafminer thermal constant."""

import numpy as np
import pytest

from pest_weather import constant_daily

from orchard.errors import InputError
from pests.model import run
from pests.population import (
    development_days,
    generations,
    heat_suppression,
    mite_growth_rate,
    mite_population,
    rain_suppression,
    rolling_sum,
)


def test_mite_development_days_yasuda():
    # 217/(T - 8.2): 9.1 d at 32 degC matches the measured egg-to-adult time (Yasuda 1982)
    assert development_days(32.0, 8.2, 217.0) == pytest.approx(9.1, abs=0.05)
    np.testing.assert_allclose(
        development_days([12.0, 20.0, 24.0], 8.2, 217.0), [57.1, 18.4, 13.7], atol=0.05
    )
    assert np.isinf(development_days(8.0, 8.2, 217.0))


def test_leafminer_thermal_constant():
    # 14.25 d at 27.67 degC (Sanchez et al. 2002) with T0 10.4 -> K about 246
    assert 14.25 * (27.67 - 10.4) == pytest.approx(246.0, abs=0.2)
    assert development_days(27.67, 10.4, 246.0) == pytest.approx(14.25, abs=0.02)
    assert generations(492.0, 246.0) == pytest.approx(2.0)
    with pytest.raises(InputError, match="must be positive"):
        generations(10.0, 0.0)


def test_mite_growth_rate_curve():
    assert mite_growth_rate(24.0, 8.2, 24.0, 34.0, 0.171) == pytest.approx(0.171)
    assert mite_growth_rate(8.2, 8.2, 24.0, 34.0, 0.171) == 0.0
    assert mite_growth_rate(35.0, 8.2, 24.0, 34.0, 0.171) == 0.0
    assert 0 < mite_growth_rate(15.0, 8.2, 24.0, 34.0, 0.171) < 0.171


def test_rain_crash_once_per_spell_and_heat():
    rain = np.zeros((20, 1))
    rain[5:9] = 40.0
    r10 = rolling_sum(rain, 10)
    assert r10[8, 0] == 160.0 and r10[4, 0] == 0.0
    s = rain_suppression(r10, 100.0, 0.5)
    assert (s < 1).sum() == 1 and s[7, 0] == 0.5  # crosses 100 mm on day 7 (120 mm)
    np.testing.assert_array_equal(heat_suppression([31.9, 32.0], 32.0, 0.8), [1.0, 0.8])


def test_population_growth_and_cap():
    rm = np.full((200, 1), 0.171)
    n = mite_population(0.1, rm, np.ones((200, 1)), cap=20.0)
    assert n[9, 0] == pytest.approx(0.1 * np.exp(0.171 * 10), rel=0.1)
    assert n[-1, 0] == pytest.approx(20.0, rel=0.01)
    declining = mite_population(1.0, np.zeros((10, 1)), np.ones((10, 1)), cap=20.0, mortality=0.05)
    assert declining[-1, 0] == pytest.approx(np.exp(-0.5))


def test_mite_check_value_11_rain_and_ten_day_heat():
    """Decisions check-value 11: a single 30 mm rain -> density x <= 0.5; 10-day mean 29 degC -> rm <= 0."""
    from pests.paramsets import pest_parameters
    from pests.population import rain_washoff

    p = pest_parameters("mites")
    assert rain_washoff(30.0, p["washoff.start_mm"], p["washoff.per_mm"]) <= 0.5
    light = rain_washoff([0.0, 5.0, 15.0], p["washoff.start_mm"], p["washoff.per_mm"])
    assert light.tolist() == [1.0, 1.0, 1.0]
    # ten days at 29 degC mean (Tmax 31: no heat mortality), no predators, no rain: the population falls
    hot = run(None, constant_daily(20, 27.0, 31.0, 75.0, 0.0), pests=["mites"],
              params={"mites": {"predator.initial": 0.0, "predator.floor": 0.0}})
    d = hot["mite_density"].values[:, 0]
    assert d[-1] < d[9]  # from day 10 on rm = 0 and the background mortality remains
    assert (np.diff(d[10:]) <= 0).all()


def test_temperature_mortality_rises_above_31_and_below_12():
    from pests.population import temperature_mortality

    m = temperature_mortality([30.0, 31.0, 33.0, 36.0, 20.0], [25, 25, 25, 25, 9.0], 31.0, 0.05, 12.0, 0.03)
    np.testing.assert_allclose(m, [0.0, 0.0, 0.1, 0.25, 0.09])


def test_predators_bring_a_prey_outbreak_down():
    from pests.population import mite_predator_population

    days = 60
    rm = np.full((days, 1), 0.15)
    zero, one = np.zeros((days, 1)), np.ones((days, 1))
    alone, _ = mite_predator_population(0.5, 0.0, rm, zero, one, 10.0, 3.7, 1.5, 0.12, 0.024, 0.0)
    hunted, pred = mite_predator_population(0.5, 0.01, rm, zero, one, 10.0, 3.7, 1.5, 0.12, 0.024, 0.0)
    assert alone[-1, 0] > 9.0  # at the logistic cap
    assert hunted[-1, 0] < 0.1 * alone[-1, 0] and pred.max() > 0.1  # predators grew on the prey and won
    cold, _ = mite_predator_population(
        0.5, 0.01, rm, zero, one, 10.0, 3.7, 1.5, 0.12, 0.024, 0.0, activity=np.zeros((days, 1))
    )
    assert cold[-1, 0] == pytest.approx(alone[-1, 0])  # inactive predators eat nothing
