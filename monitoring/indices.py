"""Vegetation indices: pure functions on arrays (numpy, xarray or dask), broadcasting as numpy does.

Multispectral indices take surface reflectance [1] (never raw DN: EVI in particular is wrong on DN).
Visible-band indices take red, green and blue in any common unit (camera DN or reflectance); they are ratios,
so the unit cancels, but uncalibrated drone values must only be compared within one image (monitoring.md
§1.4). Where a denominator is 0 the result is NaN.

References
----------
Formulas and sources as tabulated in the science note ``monitoring.md`` §1.4.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "normalized_difference",
    "ndvi",
    "ndre",
    "evi",
    "evi2",
    "ndmi",
    "vari",
    "exg",
    "gli",
    "ngrdi",
    "otsu_threshold",
    "INDICES",
]


def _div(numerator, denominator):
    """numerator / denominator with NaN where the denominator is 0 (no warnings)."""
    if hasattr(numerator, "where") or hasattr(denominator, "where") or hasattr(numerator, "map_blocks"):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = numerator / denominator
        zero = denominator == 0
        return out.where(~zero) if hasattr(out, "where") else np.where(zero, np.nan, out)
    numerator, denominator = np.asarray(numerator), np.asarray(denominator)
    dtype = np.result_type(numerator, denominator, np.float32)
    out = np.full(np.broadcast_shapes(numerator.shape, denominator.shape), np.nan, dtype=dtype)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out if out.ndim else out[()]


def normalized_difference(a, b):
    """(a − b) / (a + b) [1], NaN where a + b = 0."""
    return _div(a - b, a + b)


def ndvi(nir, red):
    """Normalised difference vegetation index [1]: (NIR − R) / (NIR + R); Sentinel-2 B08, B04.

    Saturates over dense canopy.

    References
    ----------
    Rouse et al. 1974, NASA SP-351 (Third ERTS Symposium) 309–317; monitoring.md §1.4.
    """
    return normalized_difference(nir, red)


def ndre(nir, red_edge):
    """Normalised difference red-edge index [1]: (NIR − RE) / (NIR + RE); Sentinel-2 B8A, B05 (20 m).

    References
    ----------
    Gitelson & Merzlyak 1994; as tabulated in Plant Methods 16 (2020), s13007-020-00693-3, Table 1.
    """
    return normalized_difference(nir, red_edge)


def evi(nir, red, blue, gain=2.5, c1=6.0, c2=7.5, canopy_l=1.0):
    """Enhanced vegetation index [1]: 2.5 (NIR − R) / (NIR + 6 R − 7.5 B + 1); Sentinel-2 B08, B04, B02.

    Needs surface reflectance in 0–1 (the constant 1 makes it invalid on DN).

    References
    ----------
    Huete et al. 2002, Remote Sens. Environ. 83:195–213.
    """
    return gain * _div(nir - red, nir + c1 * red - c2 * blue + canopy_l)


def evi2(nir, red):
    """Two-band EVI [1]: 2.5 (NIR − R) / (NIR + 2.4 R + 1), no blue band.

    References
    ----------
    Jiang et al. 2008, Remote Sens. Environ. 112:3833–3845.
    """
    return 2.5 * _div(nir - red, nir + 2.4 * red + 1.0)


def ndmi(nir, swir):
    """Normalised difference moisture index [1]: (NIR − SWIR) / (NIR + SWIR); Sentinel-2 B8A (or B08), B11.

    References
    ----------
    Gao 1996 (NDWI), Remote Sens. Environ. 58:257–266; Wilson & Sader 2002 (NDMI naming).
    """
    return normalized_difference(nir, swir)


def vari(green, red, blue):
    """Visible atmospherically resistant index [1]: (G − R) / (G + R − B), clipped to [−1, 1].

    The denominator can reach 0 on dark or grey pixels: those give NaN, extremes are clipped.

    References
    ----------
    Gitelson et al. 2002, Remote Sens. Environ. 80:76–87; ArcGIS VARI documentation.
    """
    out = _div(green - red, green + red - blue)
    return out.clip(-1.0, 1.0) if hasattr(out, "clip") else np.clip(out, -1.0, 1.0)


def exg(green, red, blue, chromatic=True):
    """Excess green [1]: 2g − r − b on chromatic coordinates (g = G / (R + G + B)), or 2G − R − B raw.

    References
    ----------
    Woebbecke et al. 1995, Trans. ASAE 38(1):259–269; Front. Plant Sci. 2023, fpls.2023.1248152, Table 3.
    """
    if not chromatic:
        return 2 * green - red - blue
    total = red + green + blue
    return _div(2 * green - red - blue, total)


def gli(green, red, blue):
    """Green leaf index [1]: (2G − R − B) / (2G + R + B).

    References
    ----------
    Louhaichi, Borman & Johnson 2001, Geocarto Int. 16(1):65–70.
    """
    return _div(2 * green - red - blue, 2 * green + red + blue)


def ngrdi(green, red):
    """Normalised green–red difference index [1]: (G − R) / (G + R).

    References
    ----------
    Hunt et al. 2005, Precision Agric. 6:359–378.
    """
    return normalized_difference(green, red)


def otsu_threshold(values, bins: int = 256) -> float:
    """Otsu's threshold of finite values (e.g. ExG canopy vs soil) [same unit as ``values``].

    References
    ----------
    Otsu 1979, IEEE Trans. Syst. Man Cybern. 9(1):62–66 (used on ExG, Front. Plant Sci. fpls.2023.1248152).
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan")
    hist, edges = np.histogram(v, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean0 = m0 / w0
        mean1 = (m0[-1] - m0) / w1
        between = w0 * w1 * (mean0 - mean1) ** 2
    return float(centres[int(np.nanargmax(between))])


#: Index name -> (function, bands in argument order) for the orchestrator and the CLI.
INDICES = {
    "ndvi": (ndvi, ("B08", "B04")),
    "ndre": (ndre, ("B8A", "B05")),
    "evi": (evi, ("B08", "B04", "B02")),
    "evi2": (evi2, ("B08", "B04")),
    "ndmi": (ndmi, ("B8A", "B11")),
    "vari": (vari, ("green", "red", "blue")),
    "exg": (exg, ("green", "red", "blue")),
    "gli": (gli, ("green", "red", "blue")),
    "ngrdi": (ngrdi, ("green", "red")),
}
