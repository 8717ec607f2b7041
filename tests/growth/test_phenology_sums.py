"""The time sums every growth process relies on: ``cumsum_days`` adds whole days in order (faster than numpy's
column-wise accumulate on thousands of plots) and must give numpy's answer bit for bit; ``running_mean`` has a
fast path for series without gaps that must agree with the general one."""

import numpy as np
import pytest

from growth.phenology import cumsum_days, running_mean


@pytest.mark.parametrize("shape", [(400, 300), (30, 5, 40), (1, 500), (500,), (3, 10)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, bool, np.int8])
def test_cumsum_days_is_numpy_cumsum_bit_for_bit(shape, dtype):
    rng = np.random.default_rng(3)
    values = (rng.random(shape) * 30).astype(dtype) if dtype is not bool else rng.random(shape) > 0.5
    if np.issubdtype(np.dtype(dtype), np.floating):
        values[rng.random(shape) < 0.01] = np.nan  # NaN carries forward as numpy's does
    expected = np.cumsum(values, axis=0)
    got = cumsum_days(values)
    assert got.dtype == expected.dtype
    assert np.array_equal(got, expected, equal_nan=np.issubdtype(expected.dtype, np.floating))


def test_running_mean_fast_path_matches_the_general_one():
    rng = np.random.default_rng(5)
    values = rng.normal(20, 5, (200, 150))
    gappy = values.copy()
    gappy[0, 0] = np.nan  # one gap sends the whole array down the general path
    fast = running_mean(values, 7)
    general = running_mean(gappy, 7)
    assert np.allclose(fast[:, 1:], general[:, 1:], rtol=0, atol=1e-12)
    # by hand: the trailing mean of the first day is the day itself, of day 10 the mean of days 4-10
    assert fast[0, 3] == values[0, 3]
    assert np.isclose(fast[10, 3], values[4:11, 3].mean())
