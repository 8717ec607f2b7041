"""Generation and population models against Yasuda 1982 (P. citri) and the leafminer thermal constant."""

import numpy as np
import pytest

from orchard.errors import InputError
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
