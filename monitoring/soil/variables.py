"""The sensor variables the toolkit stores, their canonical units, the names files use for them, and unit
conversion.

Every reading is stored in the canonical unit of its variable (the name carries it: ``moisture_m3_m3``,
``ec_ds_m``); the unit a file used is converted on the way in and reported by the ingest
(:class:`monitoring.soil.ingest.IngestReport`). An unknown unit is an error, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from orchard.errors import InputError

__all__ = ["Variable", "VARIABLES", "ALIASES", "canonical_variable", "unit_converter", "split_name_unit"]


@dataclass(frozen=True)
class Variable:
    name: str
    unit: str
    long_name: str
    quantity: str  # key into UNIT_TABLE


VARIABLES: dict[str, Variable] = {
    v.name: v
    for v in (
        Variable("moisture_m3_m3", "m3 m-3", "Volumetric soil water content", "fraction_volume"),
        Variable("soil_temp_c", "degC", "Soil temperature", "temperature"),
        Variable(
            "ec_ds_m", "dS m-1", "Bulk soil electrical conductivity (as measured, not ECe)", "conductivity"
        ),
        Variable("ph", "1", "Soil pH", "ph"),
        Variable(
            "n_index_mg_kg",
            "mg kg-1",
            "Probe nitrogen channel: an uncalibrated index, not a measurement",
            "mass_fraction",
        ),
        Variable(
            "p_index_mg_kg", "mg kg-1", "Probe phosphorus channel: an uncalibrated index", "mass_fraction"
        ),
        Variable(
            "k_index_mg_kg", "mg kg-1", "Probe potassium channel: an uncalibrated index", "mass_fraction"
        ),
        Variable("t_c", "degC", "Air temperature", "temperature"),
        Variable("rh_pct", "%", "Relative humidity", "percent"),
        Variable("precip_mm", "mm", "Rainfall over the reading interval", "depth"),
        Variable("wind_ms", "m s-1", "Wind speed at 2 m", "speed"),
        Variable("ghi_w_m2", "W m-2", "Global horizontal irradiance, mean over the interval", "irradiance"),
        Variable("pressure_kpa", "kPa", "Air pressure", "pressure"),
    )
}

#: Channels of the RS485 "7-in-1" probes that are indices, not chemical measurements (science note §5.1).
INDEX_VARIABLES = ("n_index_mg_kg", "p_index_mg_kg", "k_index_mg_kg")
SOIL_VARIABLES = ("moisture_m3_m3", "soil_temp_c", "ec_ds_m", "ph") + INDEX_VARIABLES

#: Names used in files (lower case, without unit) -> canonical variable. "@temperature" is air or soil
#: temperature depending on the kind of sensor.
ALIASES: dict[str, str] = {name: name for name in VARIABLES}
for _canonical, _names in {
    "moisture_m3_m3": (
        "moisture",
        "vwc",
        "soil_moisture",
        "theta",
        "water_content",
        "swc",
        "水分",
        "含水率",
        "土壤水分",
        "湿度(土壤)",
    ),
    "soil_temp_c": ("soil_temp", "soil_temperature", "tsoil", "t107_c", "土壤温度"),
    "@temperature": ("temperature", "temp", "温度"),
    "ec_ds_m": ("ec", "conductivity", "bulk_ec", "ec_bulk", "电导率", "电导"),
    "ph": ("ph值", "酸碱度"),
    "n_index_mg_kg": ("n", "nitrogen", "氮", "氮含量"),
    "p_index_mg_kg": ("p", "phosphorus", "磷", "磷含量"),
    "k_index_mg_kg": ("k", "potassium", "钾", "钾含量"),
    "t_c": ("airtc", "air_temp", "air_temperature", "t_air", "tair", "气温", "空气温度"),
    "rh_pct": ("rh", "humidity", "relative_humidity", "空气湿度", "相对湿度"),
    "precip_mm": (
        "rain",
        "rain_mm",
        "rain_tot",
        "precip",
        "precipitation",
        "rainfall",
        "降雨",
        "雨量",
        "降雨量",
    ),
    "wind_ms": ("ws", "ws_ms", "wind", "wind_speed", "风速"),
    "ghi_w_m2": (
        "slrw",
        "solar",
        "solar_radiation",
        "radiation",
        "ghi",
        "rs_w_m2",
        "辐射",
        "太阳辐射",
        "总辐射",
    ),
    "pressure_kpa": ("bp", "pressure", "air_pressure", "bp_kpa", "气压"),
}.items():
    for _name in _names:
        ALIASES[_name] = _canonical

_SUFFIXES = ("_avg", "_tot", "_smp", "_mean")


def _key(text: str) -> str:
    return re.sub(r"\s+", "_", text.strip().lower())


def split_name_unit(header: str) -> tuple[str, str | None]:
    """``"水分(%)"`` -> ``("水分", "%")``; ``"moisture [m3/m3]"`` -> ``("moisture", "m3/m3")``."""
    match = re.match(r"^\s*(.*?)\s*[\(\[（]\s*(.*?)\s*[\)\]）]\s*$", header)
    if match:
        return match.group(1), match.group(2)
    return header.strip(), None


def canonical_variable(name: str, sensor_kind: str = "") -> str | None:
    """The canonical variable for a column or variable name (None when unknown)."""
    key = _key(name)
    found = ALIASES.get(key)
    if found is None:
        for suffix in _SUFFIXES:
            if key.endswith(suffix):
                found = ALIASES.get(key[: -len(suffix)])
                break
    if found == "@temperature":
        found = "t_c" if "station" in sensor_kind or "weather" in sensor_kind else "soil_temp_c"
    return found


def _linear(scale: float, offset: float = 0.0) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: x * scale + offset


#: quantity -> {normalised unit text: converter to the canonical unit}
UNIT_TABLE: dict[str, dict[str, Callable[[np.ndarray], np.ndarray]]] = {
    "fraction_volume": {
        **dict.fromkeys(("m3 m-3", "m3/m3", "m^3/m^3", "m3m-3", "cm3/cm3", "fraction", "vwc"), _linear(1.0)),
        **dict.fromkeys(("%", "vol%", "vol-%", "%vol", "% vol", "%vwc", "pct", "percent"), _linear(0.01)),
    },
    "temperature": {
        **dict.fromkeys(("degc", "°c", "c", "℃", "deg c", "deg_c", "celsius"), _linear(1.0)),
        **dict.fromkeys(("degf", "°f", "f", "deg f", "fahrenheit"), _linear(1 / 1.8, -32 / 1.8)),
        "k": _linear(1.0, -273.15),
    },
    "conductivity": {
        **dict.fromkeys(("ds/m", "ds m-1", "ms/cm", "ms cm-1"), _linear(1.0)),
        **dict.fromkeys(("us/cm", "µs/cm", "μs/cm", "us cm-1", "µs cm-1"), _linear(0.001)),
        "s/m": _linear(10.0),
        "ms/m": _linear(0.01),
    },
    "ph": dict.fromkeys(("1", "ph", "-", ""), _linear(1.0)),
    "mass_fraction": dict.fromkeys(("mg/kg", "mg kg-1", "ppm"), _linear(1.0)),
    "percent": {**dict.fromkeys(("%", "pct", "percent", "%rh"), _linear(1.0)), "fraction": _linear(100.0)},
    "depth": {"mm": _linear(1.0), "cm": _linear(10.0), "in": _linear(25.4), "inch": _linear(25.4)},
    "speed": {
        **dict.fromkeys(("m/s", "m s-1", "meters/second"), _linear(1.0)),
        "km/h": _linear(1 / 3.6),
        "mph": _linear(0.44704),
    },
    "irradiance": {
        **dict.fromkeys(("w/m2", "w m-2", "w/m^2", "w/m²"), _linear(1.0)),
        "kw/m2": _linear(1000.0),
    },
    "pressure": {"kpa": _linear(1.0), "hpa": _linear(0.1), "mbar": _linear(0.1), "pa": _linear(0.001)},
}


def _norm_unit(unit: str) -> str:
    return re.sub(r"\s+", " ", str(unit).strip().lower().replace("³", "3").replace("²", "2"))


def unit_converter(variable: str, unit: str | None, where: str) -> Callable[[np.ndarray], np.ndarray]:
    """Function converting values of ``variable`` given in ``unit`` to its canonical unit.

    ``unit`` None means the canonical unit. Raises InputError with ``where`` for an unknown unit.
    """
    spec = VARIABLES[variable]
    if unit is None or _norm_unit(unit) == _norm_unit(spec.unit):
        return _linear(1.0)
    table = UNIT_TABLE[spec.quantity]
    converter = table.get(_norm_unit(unit))
    if converter is None:
        known = ", ".join(sorted({k for k in table if k}))
        raise InputError(
            f"{where}: unit '{unit}' is not a known unit of {spec.long_name.lower()} "
            f"({variable}); use one of {known}."
        )
    return converter
