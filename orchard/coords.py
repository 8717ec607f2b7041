"""Chinese web-map coordinate systems: GCJ-02 and BD-09 to WGS84.

Maps published in China (Amap/Gaode, Tencent, Google China roads) show coordinates in GCJ-02, an obfuscated
system offset 100–700 m from WGS84 in a location-dependent way; Baidu adds a further offset (BD-09). Plot
boundaries digitised on such maps must be converted before they meet a DEM or satellite image. The toolkit
stores WGS84/CGCS2000 only and never converts silently: callers say ``coords="gcj02"``.

The forward transform (WGS84 -> GCJ-02) is the widely reproduced public algorithm (Krasovsky ellipsoid
a = 6378245 m); there is no closed-form inverse, so GCJ-02 -> WGS84 is solved by fixed-point iteration to
better than 1e-9 degrees (~0.1 mm). Outside mainland China's bounding box the offset is zero.

No maintained, vectorised library does this (PyPI's ``eviltransform`` 2018, ``coord-convert`` 2019 are scalar
and unmaintained), hence these few lines; tests cross-check them against ``eviltransform``'s output.
"""

from __future__ import annotations

import numpy as np

_A_KRASOVSKY_M = 6378245.0
_EE_KRASOVSKY = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

#: Systems ``read_plots(coords=...)`` accepts. "wgs84" and "cgcs2000" need no conversion (cm–dm apart).
KNOWN_SYSTEMS = ("wgs84", "cgcs2000", "gcj02", "bd09")


def _outside_china(lon, lat):
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _gcj02_offset_deg(lon, lat):
    """GCJ-02 minus WGS84 at a WGS84 point, as (dlon, dlat) [deg]."""
    x = lon - 105.0
    y = lat - 35.0
    periodic = 20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + (periodic + 20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)
               + 160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + (periodic + 20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)
               + 150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    lat_rad = np.radians(lat)
    magic = 1.0 - _EE_KRASOVSKY * np.sin(lat_rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A_KRASOVSKY_M * (1.0 - _EE_KRASOVSKY)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_A_KRASOVSKY_M / sqrt_magic * np.cos(lat_rad) * np.pi)
    outside = _outside_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon, lat):
    """Obfuscate WGS84 longitude/latitude into GCJ-02 [deg] (arrays broadcast)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlon, dlat = _gcj02_offset_deg(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat, tolerance_deg=1e-9, max_iterations=30):
    """Recover WGS84 longitude/latitude from GCJ-02 [deg] by fixed-point iteration.

    Each step moves the WGS84 guess by the residual ``gcj - wgs84_to_gcj02(guess)``; the offset field is
    smooth (its gradient is ~1e-5), so the error shrinks by about that factor per step and 3–4 steps reach
    ``tolerance_deg``.
    """
    gcj_lon = np.asarray(lon, dtype=float)
    gcj_lat = np.asarray(lat, dtype=float)
    wgs_lon, wgs_lat = gcj_lon.copy(), gcj_lat.copy()
    for _ in range(max_iterations):
        est_lon, est_lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
        res_lon, res_lat = gcj_lon - est_lon, gcj_lat - est_lat
        wgs_lon, wgs_lat = wgs_lon + res_lon, wgs_lat + res_lat
        if np.all(np.abs(res_lon) < tolerance_deg) and np.all(np.abs(res_lat) < tolerance_deg):
            break
    return wgs_lon, wgs_lat


def bd09_to_gcj02(lon, lat):
    """Remove Baidu's BD-09 offset, giving GCJ-02 [deg]."""
    x = np.asarray(lon, dtype=float) - 0.0065
    y = np.asarray(lat, dtype=float) - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def to_wgs84(lon, lat, system):
    """Convert longitude/latitude from ``system`` (one of :data:`KNOWN_SYSTEMS`) to WGS84 [deg]."""
    if system in ("wgs84", "cgcs2000"):
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if system == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if system == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
    raise ValueError(f"unknown coordinate system {system!r}")
