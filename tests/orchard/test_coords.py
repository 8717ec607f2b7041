"""GCJ-02 / BD-09 conversion against an independent implementation, and round trips."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchard import coords
from tests.conftest import TEST_DATA

REFERENCE = pd.read_csv(TEST_DATA / "validation" / "gcj02_eviltransform.csv", comment="#")


def _metres(dlon, dlat, lat):
    return np.hypot(dlon * 111_320 * np.cos(np.radians(lat)), dlat * 110_574)


def test_forward_matches_eviltransform_within_5_cm():
    lon, lat = coords.wgs84_to_gcj02(REFERENCE.wgs84_lon, REFERENCE.wgs84_lat)
    error_m = _metres(lon - REFERENCE.gcj02_lon, lat - REFERENCE.gcj02_lat, REFERENCE.wgs84_lat)
    assert error_m.max() < 0.05


def test_offset_is_hundreds_of_metres_in_chongqing():
    lon, lat = coords.wgs84_to_gcj02(106.577, 29.557)
    assert 100 < _metres(lon - 106.577, lat - 29.557, 29.557) < 700


def test_inverse_recovers_wgs84_from_reference_gcj02():
    lon, lat = coords.gcj02_to_wgs84(REFERENCE.gcj02_lon, REFERENCE.gcj02_lat)
    assert _metres(lon - REFERENCE.wgs84_lon, lat - REFERENCE.wgs84_lat, REFERENCE.wgs84_lat).max() < 0.05


def test_bd09_to_wgs84_matches_reference():
    lon, lat = coords.to_wgs84(REFERENCE.bd09_lon, REFERENCE.bd09_lat, "bd09")
    # BD-09 inversion is itself approximate (Baidu's published formula); 1 m is far below plot size.
    assert _metres(lon - REFERENCE.wgs84_lon, lat - REFERENCE.wgs84_lat, REFERENCE.wgs84_lat).max() < 1.0


def test_no_offset_outside_china():
    lon, lat = coords.wgs84_to_gcj02(np.array([13.4, -70.0]), np.array([52.5, -33.0]))
    np.testing.assert_array_equal(lon, [13.4, -70.0])
    np.testing.assert_array_equal(lat, [52.5, -33.0])


@settings(max_examples=200, deadline=None)
@given(st.floats(74, 134), st.floats(18, 53))
def test_round_trip_below_a_millimetre(lon, lat):
    back_lon, back_lat = coords.gcj02_to_wgs84(*coords.wgs84_to_gcj02(lon, lat))
    assert _metres(back_lon - lon, back_lat - lat, lat) < 1e-3


def test_unknown_system_is_refused():
    with pytest.raises(ValueError, match="unknown coordinate system"):
        coords.to_wgs84(106.5, 29.5, "mars")
