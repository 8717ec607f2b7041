"""Message catalogues (zh-CN first, en) and ``t()``.

Streamlit has no built-in translation; widget chrome stays English. Keys are message ids; values may hold
``{name}`` fields filled from keyword arguments. A key missing in one language falls back to English, and a
test checks that both catalogues have the same keys.
"""

from __future__ import annotations

LANGUAGES = {"zh-CN": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh-CN"

CATALOGUES: dict[str, dict[str, str]] = {
    "zh-CN": {
        "app.title": "柑橘果园决策助手",
        "app.caption": "样例区：{district}。地形与气象为真实数据，果园地块为示例。",
        "lang.label": "语言",
        "user.label": "演示用户",
        "home.weather_source": "气象站观测",
        "home.no_plots": "数据库中还没有地块。请先运行：orchard init --sample",
        "home.db_error": "无法打开数据库：{error}",
        "home.map": "地块分布图",
        "home.map_legend": "颜色表示坡向：橙色＝南坡（向阳），蓝色＝北坡（背阴），灰色＝东西坡或平地。底图为地形晕渲。",
        "home.plots": "地块与地形",
        "home.weather": "最新气象",
        "home.weather_none": "尚无气象数据。",
        "home.weather_date": "{station} 站，{date}（{source}）",
        "home.n_plots": "共 {n} 块地，{area:.1f} 公顷（{mu:.0f} 亩）",
        "col.plot_id": "地块编号",
        "col.name": "名称",
        "col.owner": "果农",
        "col.cultivar": "品种",
        "col.area_mu": "面积（亩）",
        "col.elevation_m": "海拔（米）",
        "col.slope_deg": "坡度（度）",
        "col.aspect": "坡向",
        "col.sky_view_factor": "天空开阔度",
        "var.tmin_c": "最低气温（°C）",
        "var.tmax_c": "最高气温（°C）",
        "var.tmean_c": "平均气温（°C）",
        "var.precip_mm": "降水（毫米）",
        "var.rh_mean_pct": "平均相对湿度（%）",
        "var.wind_ms": "风速（米/秒）",
        "var.rs_mj_m2": "太阳辐射（MJ/m²）",
        "var.sunshine_h": "日照（小时）",
        "cultivar.lane_late_navel": "兰肯晚脐橙",
        "cultivar.powell_navel": "鲍威尔晚脐橙",
        "cultivar.valencia": "伏令夏橙",
        "aspect.N": "北", "aspect.NE": "东北", "aspect.E": "东", "aspect.SE": "东南",
        "aspect.S": "南", "aspect.SW": "西南", "aspect.W": "西", "aspect.NW": "西北", "aspect.flat": "平地",
    },
    "en": {
        "app.title": "Citrus orchard advisor",
        "app.caption": "Sample district: {district}. Terrain and weather are real; the orchard plots are examples.",
        "lang.label": "Language",
        "user.label": "Demo user",
        "home.weather_source": "station observation",
        "home.no_plots": "There are no plots in the database yet. Run: orchard init --sample",
        "home.db_error": "Cannot open the database: {error}",
        "home.map": "Plot map",
        "home.map_legend": "Colour shows aspect: orange = south-facing (sunny), blue = north-facing (shaded), "
                           "grey = east/west-facing or flat. Background: shaded relief of the terrain.",
        "home.plots": "Plots and terrain",
        "home.weather": "Latest weather",
        "home.weather_none": "No weather data yet.",
        "home.weather_date": "Station {station}, {date} ({source})",
        "home.n_plots": "{n} plots, {area:.1f} ha ({mu:.0f} mu)",
        "col.plot_id": "Plot",
        "col.name": "Name",
        "col.owner": "Grower",
        "col.cultivar": "Cultivar",
        "col.area_mu": "Area (mu)",
        "col.elevation_m": "Elevation (m)",
        "col.slope_deg": "Slope (°)",
        "col.aspect": "Aspect",
        "col.sky_view_factor": "Sky-view factor",
        "var.tmin_c": "Min temperature (°C)",
        "var.tmax_c": "Max temperature (°C)",
        "var.tmean_c": "Mean temperature (°C)",
        "var.precip_mm": "Rain (mm)",
        "var.rh_mean_pct": "Mean relative humidity (%)",
        "var.wind_ms": "Wind speed (m/s)",
        "var.rs_mj_m2": "Solar radiation (MJ/m²)",
        "var.sunshine_h": "Sunshine (h)",
        "cultivar.lane_late_navel": "Lane Late navel",
        "cultivar.powell_navel": "Powell navel",
        "cultivar.valencia": "Valencia",
        "aspect.N": "N", "aspect.NE": "NE", "aspect.E": "E", "aspect.SE": "SE",
        "aspect.S": "S", "aspect.SW": "SW", "aspect.W": "W", "aspect.NW": "NW", "aspect.flat": "flat",
    },
}

#: 1 mu (亩) = 666.67 m², the unit Chinese growers use for area.
M2_PER_MU = 2000.0 / 3.0


def t(key: str, lang: str = DEFAULT_LANGUAGE, **fields) -> str:
    """The message ``key`` in ``lang`` (falling back to English, then to the key itself)."""
    text = CATALOGUES.get(lang, {}).get(key) or CATALOGUES["en"].get(key) or key
    return text.format(**fields) if fields else text


def cultivar_label(code: str | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """Display name of a cultivar code (the code itself when the catalogue does not know it)."""
    if not code:
        return ""
    key = f"cultivar.{code}"
    text = t(key, lang)
    return code if text == key else text


def aspect_label(aspect_deg: float, slope_deg: float, lang: str = DEFAULT_LANGUAGE) -> str:
    """Compass name of an aspect [deg from north]; 'flat' below 2° slope where aspect means little."""
    if aspect_deg != aspect_deg or slope_deg != slope_deg or slope_deg < 2.0:  # NaN-safe
        return t("aspect.flat", lang)
    names = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
    return t(f"aspect.{names[int(((aspect_deg % 360) + 22.5) // 45) % 8]}", lang)
