"""Property-based tests (hypothesis): generated and mutated weather CSV and plot GeoJSON files fed to the
readers, and what they accept fed on to the store.

Whatever the file, only the project's own errors (:class:`orchard.errors.OrchardError`, one sentence) may
escape a reader; a file a reader accepts is stored without a database or library error. Before issue #18
these found, among others, a ValueError from one garbled time cell, plot ids of spaces and newlines that the
store took, and coordinates of 1e300 read into a 300-digit message.
"""

from __future__ import annotations

import json
import math
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from orchard import ingest, params, store
from orchard.errors import OrchardError
from orchard.plots import read_plots

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"

FAST = settings(max_examples=80, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def engine():
    """An in-memory database with the sample's users and one station, shared by the examples (each rolls
    back what it wrote)."""
    from orchard.sample import SAMPLE_USERS

    engine = store.init_db("sqlite://")
    with store.session_scope(engine) as session:
        store.upsert_users(session, SAMPLE_USERS)
    yield engine
    engine.dispose()


def _rolled_back(engine, write) -> None:
    """Run ``write(session)`` in a transaction that is rolled back: the store's checks run, nothing stays."""
    session = Session(engine)
    try:
        write(session)
        session.flush()
    finally:
        session.rollback()
        session.close()


# ----------------------------------------------------------------------------------------------------------
# Mutations of delimited text
# ----------------------------------------------------------------------------------------------------------
NASTY_CELLS = ["", " ", "nan", "NaN", "inf", "-inf", "1e308", "-1e308", "1e-320", "0", "-0", "abc", "NA",
               "32766", "2099-01-01", "0001-01-01", "9999-12-31", "2016-02-30", "2016-13-01 25:61",
               "2010-01-02 20:0-01-13 20:00:00", "2016-07-01T08:00+08:00", "2016-07-01Z", "１２", "\u3000",
               '"', '""', "a,b", ";", "\t", "#LOCALTIME abc", "#LOCALTIME 99", "#UTCTIME", "2016/7/1",
               "20160701", "1e9", "-999", "99999999999999999999999"]
cell = st.one_of(st.sampled_from(NASTY_CELLS), st.text(max_size=12),
                 st.floats(allow_nan=True, allow_infinity=True).map(repr),
                 st.integers(min_value=-10**20, max_value=10**20).map(str))


@st.composite
def mutated_lines(draw, lines: list[str], delimiter: str = ",") -> str:
    """The lines of a file after a few random edits: cells replaced, lines dropped, doubled, swapped, cut or
    invented, fields added, characters inserted."""
    lines = list(lines)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not lines:
            lines.append(draw(st.text(max_size=30)))
            continue
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        kind = draw(st.sampled_from(["cell", "cell", "cell", "drop", "double", "swap", "cut", "invent",
                                     "extra field", "insert char", "delimiter"]))
        if kind == "cell":
            fields = lines[i].split(delimiter)
            j = draw(st.integers(min_value=0, max_value=len(fields) - 1))
            fields[j] = draw(cell)
            lines[i] = delimiter.join(fields)
        elif kind == "drop":
            del lines[i]
        elif kind == "double":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = draw(st.integers(min_value=0, max_value=len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "cut":
            lines[i] = lines[i][: draw(st.integers(min_value=0, max_value=len(lines[i])))]
        elif kind == "invent":
            lines.insert(i, draw(st.text(alphabet=string.printable, max_size=40)))
        elif kind == "extra field":
            lines[i] = lines[i] + delimiter + draw(cell)
        elif kind == "insert char":
            k = draw(st.integers(min_value=0, max_value=len(lines[i])))
            lines[i] = lines[i][:k] + draw(st.characters(exclude_categories=("Cs",))) + lines[i][k:]
        else:
            lines[i] = lines[i].replace(delimiter, draw(st.sampled_from([";", "\t", "|", ",,", " "])))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n", "\n\n"]))


def _encoded(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


DAILY_OUR_NAMES = ["time,tmin_c,tmax_c,tmean_c,rh_mean_pct,precip_mm,wind_ms,sunshine_h"] + [
    f"2016-07-{d:02d},{22 + d % 3},{31 + d % 4},{26 + d % 2},{80 + d % 9},{(d * 7) % 13},{1 + d % 3 / 2},"
    f"{d % 9}" for d in range(1, 21)]
HOURLY_OUR_NAMES = ["#LOCALTIME 8", "time,t_c,rh_pct,precip_mm,wind_ms"] + [
    f"2016-07-01 {h:02d}:00,{24 + h % 7},{70 + h % 20},{h % 3 * 0.5},{1 + h % 4 / 3}" for h in range(24)]
CHANGTING = (SAMPLE / "weather" / "changting_58911_meteo_daily.csv").read_text(encoding="utf-8").splitlines()[:30]


def _read_and_store(engine, path: Path, fmt: str, **options) -> None:
    """The import path of ``orchard import-weather``: read, check, QC, then the store (rolled back)."""
    try:
        ds, _ = ingest.read_and_check_weather(path, format=fmt, parameters=params.core_parameters(), **options)
    except OrchardError:
        return
    times = ds["time"].values
    assert len(times) > 0 and (times[1:] > times[:-1]).all(), "accepted a file whose times are not in order"
    try:
        _rolled_back(engine, lambda session: ingest.store_weather(session, ds))
    except OrchardError:
        pass


@FAST
@given(data=st.data(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "latin-1"]))
def test_mutated_daily_weather_csv_gives_a_dataset_or_a_sentence(data, encoding, engine, tmp_path):
    text = data.draw(mutated_lines(DAILY_OUR_NAMES))
    path = tmp_path / "daily.csv"
    path.write_bytes(_encoded(text, encoding))
    _read_and_store(engine, path, "csv", station_id="S1", lat=25.75, lon=116.33, elevation_m=265.0)


@FAST
@given(data=st.data())
def test_mutated_hourly_weather_csv_gives_a_dataset_or_a_sentence(data, engine, tmp_path):
    path = tmp_path / "hourly.csv"
    path.write_text(data.draw(mutated_lines(HOURLY_OUR_NAMES)), encoding="utf-8")
    _read_and_store(engine, path, "csv", station_id="H1", lat=30.66, lon=104.07)


@FAST
@given(data=st.data(), delimiter=st.sampled_from([",", ";", ";;", "", "\t", "ab", "\n"]))
def test_mutated_station_files_and_delimiters_give_a_dataset_or_a_sentence(data, delimiter, engine, tmp_path):
    path = tmp_path / "meteo.csv"
    path.write_text(data.draw(mutated_lines(CHANGTING)), encoding="utf-8")
    _read_and_store(engine, path, "changting")
    path.write_text(data.draw(mutated_lines(DAILY_OUR_NAMES)).replace(",", ";"), encoding="utf-8")
    _read_and_store(engine, path, "csv", station_id="S2", lat=25.0, lon=116.0, delimiter=delimiter)


@FAST
@given(lat=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none()),
       lon=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none()),
       elevation=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none()))
def test_any_station_position_is_stored_in_range_or_refused(lat, lon, elevation, engine, tmp_path):
    path = tmp_path / "daily.csv"
    path.write_text("\n".join(DAILY_OUR_NAMES) + "\n", encoding="utf-8")
    try:
        ds, _ = ingest.read_and_check_weather(path, format="csv", station_id="P1", lat=lat, lon=lon,
                                              elevation_m=elevation, parameters=params.core_parameters())
    except OrchardError:
        return

    def write(session):
        try:
            ingest.store_weather(session, ds)
        except OrchardError:
            return
        station = session.get(store.Station, "P1")
        assert -90 <= station.lat <= 90 and -180 <= station.lon <= 180
        assert station.elevation_m is None or -500 <= station.elevation_m <= 9000

    _rolled_back(engine, write)


# ----------------------------------------------------------------------------------------------------------
# Mutations of plot GeoJSON
# ----------------------------------------------------------------------------------------------------------
PLOTS = json.loads((SAMPLE / "plots.geojson").read_text(encoding="utf-8"))
PLOTS["features"] = PLOTS["features"][:3]
json_value = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**12, max_value=10**12),
                       st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
                       st.sampled_from(["", " ", "a\nb", "x" * 70, "CT01", "grower_li", "drip", "李家湾"]))
coordinate = st.one_of(st.floats(min_value=-200, max_value=200, allow_nan=False),
                       st.floats(allow_nan=False, allow_infinity=False),
                       st.sampled_from([0.0, 1e300, -1e300, 116.45, 25.68, 1e-300]))
CRS_NAMES = ["EPSG:4326", "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::32650", "EPSG:4490",
             "urn:ogc:def:crs:EPSG::99999", "EPSG:0", "", "not a crs", "urn:ogc:def:crs:EPSG::3857"]
PROPERTIES = ["plot_id", "name", "owner_id", "cultivar", "planting_year", "trees_per_ha", "canopy_cover",
              "field_capacity", "wilting_point", "root_depth_m", "irrigation", "irrigation_capacity_mm_d",
              "station_id", "district", "elevation_m", "slope_deg", "aspect_deg", "sky_view_factor"]


@st.composite
def mutated_geojson(draw) -> str:
    collection = json.loads(json.dumps(PLOTS))
    features = collection["features"]
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["property", "property", "property", "vertex", "vertex", "geometry type",
                                     "drop vertex", "drop feature", "double feature", "crs", "drop key"]))
        if not features:
            break
        feature = features[draw(st.integers(min_value=0, max_value=len(features) - 1))]
        if kind == "property":
            feature["properties"][draw(st.sampled_from(PROPERTIES))] = draw(json_value)
        elif kind in ("vertex", "drop vertex") and feature.get("geometry"):
            ring = feature["geometry"]["coordinates"][0]
            k = draw(st.integers(min_value=0, max_value=len(ring) - 1))
            if kind == "vertex":
                ring[k] = [draw(coordinate), draw(coordinate)]
            else:
                del ring[k]
        elif kind == "geometry type" and feature.get("geometry"):
            feature["geometry"]["type"] = draw(st.sampled_from(["Point", "LineString", "MultiPolygon",
                                                                "Polygon", "Nonsense"]))
        elif kind == "drop feature":
            features.remove(feature)
        elif kind == "double feature":
            features.append(json.loads(json.dumps(feature)))
        elif kind == "crs":
            collection["crs"] = {"type": "name", "properties": {"name": draw(st.sampled_from(CRS_NAMES))}}
        elif kind == "drop key":
            feature.pop(draw(st.sampled_from(["geometry", "properties", "type"])), None)
    text = json.dumps(collection, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):  # damage the text itself now and then
        k = draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:k] + draw(st.sampled_from(["", "}", "]", ",", '"', "\x00", "NaN"])) + \
            text[k + draw(st.integers(min_value=0, max_value=3)):]
    return text


@FAST
@given(text=mutated_geojson(), coords=st.sampled_from(["wgs84", "wgs84", "gcj02"]),
       owner=st.sampled_from([None, "grower_li"]))
def test_mutated_plot_geojson_gives_plots_the_store_takes_or_a_sentence(text, coords, owner, engine, tmp_path):
    path = tmp_path / "plots.geojson"
    path.write_text(text, encoding="utf-8")
    try:
        plots = read_plots(path, coords=coords)
    except OrchardError:
        return
    assert len(plots) > 0
    assert all(0 < len(p) <= 64 and p == p.strip() and p.isprintable() for p in plots.plot_ids)
    lon, lat = plots.frame["lon"].to_numpy(float), plots.frame["lat"].to_numpy(float)
    assert all(-180 <= x <= 180 for x in lon) and all(-90 <= y <= 90 for y in lat)
    assert all(math.isfinite(a) and a > 0 for a in plots.frame["area_ha"])
    if owner:
        plots = plots.with_owner(owner)
    elif plots.frame["owner_id"].isna().any():
        return  # the command asks for --owner before storing
    try:
        _rolled_back(engine, lambda session: store.upsert_plots(session, plots.to_records(given_only=True)))
    except OrchardError:
        pass  # e.g. an owner that is not a user: refused by the store in a sentence


@FAST
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_named_geojson_are_refused_in_a_sentence(data, tmp_path):
    path = tmp_path / "plots.geojson"
    path.write_bytes(data or b"{")
    try:
        read_plots(path)
    except OrchardError:
        pass
