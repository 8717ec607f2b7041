"""Message catalogues (zh-CN first, en) and ``t()``.

Streamlit has no built-in translation; widget chrome stays English. Keys are message ids; values may hold
``{name}`` fields filled from keyword arguments. A key missing in one language falls back to English, and a
test checks that both catalogues have the same keys.
"""

from __future__ import annotations

from i18n_staff import CATALOGUES as _STAFF  # agronomist and extension pages

LANGUAGES = {"zh-CN": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh-CN"

CATALOGUES: dict[str, dict[str, str]] = {
    "zh-CN": {
        "app.title": "柑橘果园决策助手",
        "app.caption": "样例区：{district}。地形与气象为真实数据，果园地块为示例。",
        "lang.label": "语言",
        "user.label": "演示用户",
        "auth.required": "请先登录。",
        "auth.forbidden": "您的账号无权查看此页面。",
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
        "home.to_plot": "查看地块详情：生长、病虫、水分、长势",
        "plot.title": "地块详情",
        "plot.choose": "选择地块",
        "plot.choose_placeholder": "请选择您的地块",
        "plot.denied": "不能打开这个地块：{error}",
        "plot.as_of": "日期",
        "plot.summary": "{plot}，{cultivar}，坡度 {slope:.0f}°，海拔 {elevation:.0f} 米",
        "plot.chart_date": "日期",
        "section.advice": "本周建议",
        "advice.none": "还没有这块地的建议。请先运行：orchard run-week --date 日期",
        "advice.issued": "{date} 发布；数据来源见各条说明。",
        "advice.products": "可选药剂/肥料：{items}",
        "advice.product_item": "{name} {amount}{unit}（约 {cost} 元，安全间隔期 {phi} 天）",
        "advice.example_catalogue": "注意：产品来自示例目录，使用前请核对登记标签。",
        "advice.severity": "紧急程度 {severity}/5",
        "advice.action.spray_protective": "{pest}：{latest_date} 前喷一次保护性药剂",
        "advice.action.spray_curative": "{pest}：已有侵染，尽快喷治疗性药剂（{latest_date} 前）",
        "advice.action.skip_calendar_spray": "{pest}：风险低，本期可不按日历喷药",
        "advice.action.scout_mites": "检查红蜘蛛：抽查 {leaves} 片叶再决定是否喷药",
        "advice.action.irrigate": "灌溉：净灌水 {net_mm} 毫米（毛灌水 {gross_mm} 毫米）",
        "advice.action.fertilise_nitrogen": "追施氮肥：每公顷 {kg_n_per_ha} 公斤纯氮",
        "advice.action.harvest_window": "预计采收期：{from} 至 {to}",
        "advice.action.inspect_zone": "到田间查看长势差的区域",
        "advice.action.check_data": "数据不全：{module}",
        "section.error": "暂时无法显示：{error}",
        "section.growth": "生长",
        "section.pests": "病虫害",
        "section.soil": "土壤水分",
        "section.crop": "长势（卫星）",
        "stage.dormant_induction": "花芽分化期（冬季）",
        "stage.bud_break_flush": "萌芽抽梢期",
        "stage.bloom": "开花期",
        "stage.fruit_set_stage_I": "坐果期（幼果期）",
        "stage.fruit_stage_II_expansion": "果实膨大期",
        "stage.fruit_stage_III_maturation": "果实转色成熟期",
        "stage.harvest_mature": "已成熟，可采收",
        "growth.stage": "当前物候期",
        "growth.bloom": "盛花期：{date}",
        "growth.fruit_now": "果实横径约 {diameter:.0f} 毫米，糖度约 {brix:.1f}°Brix",
        "growth.colour_break": "预计转色",
        "growth.maturity": "预计成熟",
        "growth.not_reached": "{end}前未达到",
        "growth.delay_later": "这块坡地比同海拔的平地晚熟约 {n} 天。",
        "growth.delay_earlier": "这块坡地比同海拔的平地早熟约 {n} 天。",
        "growth.delay_none": "这块地与同海拔的平地成熟时间相同。",
        "growth.delay_unknown": "本季成熟期还无法估算，暂不能和平地比较。",
        "growth.harvest_source": "预计日期：今年至今的天气，加上 {first}–{last} 年共 {n} 个往年的后续天气，"
                                 "取中位数。",
        "growth.outlook": "未来30天展望",
        "growth.expansion": "果实膨大速度（毫米/天）",
        "growth.brix": "糖度（°Brix）",
        "growth.band": "粗线为最可能的值；阴影为十年九遇的范围（P10–P90），由 {n} 个往年天气推算。",
        "pest.black_spot": "柑橘黑斑病",
        "pest.canker": "柑橘溃疡病",
        "pest.mites": "柑橘红蜘蛛",
        "pest.leaf_miner": "柑橘潜叶蛾",
        "level.1": "轻", "level.2": "偏轻", "level.3": "中等", "level.4": "偏重", "level.5": "大发生",
        "level.badge": "{n}级 {name}",
        "horizon.15d": "15天", "horizon.1m": "1个月", "horizon.3m": "3个月",
        "pests.horizon_item": "{horizon}内 {p}%（{level}）",
        "pests.probabilities": "发生概率：{items}",
        "pests.source": "天气：{source}",
        "list.sep": "；",
        "spray.curative": "治疗性用药",
        "spray.protective": "保护性用药",
        "spray.item": "{pest}（{action}，最迟 {date}）",
        "spray.needed": "需要喷药：{items}。",
        "spray.none": "未来15天无需喷药。",
        "soil.ks": "水分胁迫系数 Ks（1＝不缺水）",
        "soil.depletion": "根区缺水量（毫米）",
        "soil.no_irrigation": "根区缺水 {depletion:.0f} 毫米，未超过易吸收水量 {raw:.0f} 毫米"
                              "（总有效水 {taw:.0f} 毫米）：不用浇水。",
        "soil.irrigate": "根区缺水 {depletion:.0f} 毫米，已超过易吸收水量 {raw:.0f} 毫米："
                         "需要灌溉约 {gross:.0f} 毫米。",
        "soil.sensors": "已用 {n} 天的土壤水分传感器读数校正。",
        "soil.weather_only": "这段时间地块没有土壤水分传感器读数：只由天气估算。",
        "soil.none": "{date} 没有土壤水分数据。",
        "crop.ndvi": "植被指数 NDVI（{date}）",
        "crop.ndvi_help": "NDVI 越高叶片越茂盛；箭头为近30天的变化。",
        "crop.no_clear": "最新影像（{date}）被云遮挡，没有可用的长势数据。",
        "crop.no_alerts": "没有长势预警。",
        "crop.imagery_dates": "卫星影像只有 2021–2022 年：这里显示最新一景，与所选日期无关。",
        "monitoring.alert.weak_patch": "地块内约 {area_mu:.1f} 亩长势偏弱：NDVI 比全块中位数低 "
                                       "{percent_below:.0f}%（自 {since} 起）。",
        "monitoring.alert.below_peers": "长势比同品种的其他地块差（z = {peer_z:.1f}，"
                                        "自 {since} 起）。",
        "monitoring.alert.below_baseline": "长势低于本地块往年同期：NDVI {observed:.2f}，"
                                           "往年约 {baseline_mean:.2f}（自 {since} 起）。",
        "home.to_inputs": "投入品：记录农药和肥料的购买与施用",
        "inputs.title": "投入品",
        "inputs.example_catalogue": "产品目录为示例，不是登记产品清单；用药前请核对农药登记标签。",
        "inputs.what": "记录",
        "inputs.kind.application": "施用",
        "inputs.kind.purchase": "购买",
        "inputs.read_only": "您的账号只能查看记录，不能填写；请让果农或农艺师记录。",
        "inputs.no_plots": "您还没有地块，不能记录施用。",
        "inputs.product": "产品（作用机理分组）",
        "inputs.fertiliser": "肥料",
        "inputs.plot": "地块",
        "inputs.amount": "用量",
        "inputs.amount_hint": "填写数字",
        "inputs.amount_missing": "请填写用量。",
        "inputs.unit": "单位",
        "inputs.unit.pack": "包/瓶",
        "inputs.date_applied": "施用日期",
        "inputs.target": "防治对象或补充养分",
        "inputs.nutrient": "养分 {nutrient}",
        "inputs.save_application": "保存施用记录",
        "inputs.grower": "果农",
        "inputs.quantity": "数量",
        "inputs.date_bought": "购买日期",
        "inputs.price": "总价（元）",
        "inputs.supplier": "供应商",
        "inputs.save_purchase": "保存购买记录",
        "inputs.not_saved": "未保存：{error}",
        "inputs.applied": "已记录：{date}，地块 {plot}，{product} {amount} {unit}（{target}）。",
        "inputs.bought": "已记录购买：{date}，{product} {quantity} {unit}。",
        "inputs.applications": "施用记录",
        "inputs.purchases": "购买记录",
        "inputs.none": "还没有记录。",
        "inputs.more": "只显示最近 {n} 条，共 {total} 条。",
        "inputs.application_item": "{date} · {product} · {amount} {unit} · {plot} {target}",
        "inputs.purchase_item": "{date} · {product} · {quantity} {unit}",
        "inputs.price_item": " · {price} 元",
    },
    "en": {
        "app.title": "Citrus orchard advisor",
        "app.caption": "Sample district: {district}. Terrain and weather are real; the orchard plots are examples.",
        "lang.label": "Language",
        "user.label": "Demo user",
        "auth.required": "Please sign in first.",
        "auth.forbidden": "Your account may not open this page.",
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
        "home.to_plot": "Open a plot: growth, pests, soil water, crop condition",
        "plot.title": "Plot",
        "plot.choose": "Plot",
        "plot.choose_placeholder": "Choose one of your plots",
        "plot.denied": "This plot cannot be opened: {error}",
        "plot.as_of": "Date",
        "plot.summary": "{plot}, {cultivar}, slope {slope:.0f}°, elevation {elevation:.0f} m",
        "plot.chart_date": "Date",
        "section.advice": "This week's advice",
        "advice.none": "No advice for this plot yet. Run: orchard run-week --date DATE",
        "advice.issued": "Issued {date}; each item says where its data came from.",
        "advice.products": "Products that fit: {items}",
        "advice.product_item": "{name} {amount} {unit} (about {cost} yuan, pre-harvest interval {phi} d)",
        "advice.example_catalogue": "Note: products come from the example catalogue; check the registered label before use.",
        "advice.severity": "urgency {severity}/5",
        "advice.action.spray_protective": "{pest}: protective spray by {latest_date}",
        "advice.action.spray_curative": "{pest}: infection under way, curative spray now (by {latest_date})",
        "advice.action.skip_calendar_spray": "{pest}: low risk, skip this calendar spray",
        "advice.action.scout_mites": "Scout for mites: check {leaves} leaves before deciding to spray",
        "advice.action.irrigate": "Irrigate: {net_mm} mm net ({gross_mm} mm gross)",
        "advice.action.fertilise_nitrogen": "Nitrogen: {kg_n_per_ha} kg N per hectare",
        "advice.action.harvest_window": "Expected harvest: {from} to {to}",
        "advice.action.inspect_zone": "Inspect the poor-growth zone in the field",
        "advice.action.check_data": "Data missing: {module}",
        "section.error": "Not available: {error}",
        "section.growth": "Growth",
        "section.pests": "Pests and diseases",
        "section.soil": "Soil water",
        "section.crop": "Crop condition (satellite)",
        "stage.dormant_induction": "Flower-bud induction (winter)",
        "stage.bud_break_flush": "Bud break and flush",
        "stage.bloom": "Bloom",
        "stage.fruit_set_stage_I": "Fruit set (young fruit)",
        "stage.fruit_stage_II_expansion": "Fruit expansion",
        "stage.fruit_stage_III_maturation": "Fruit colouring and ripening",
        "stage.harvest_mature": "Mature, ready to pick",
        "growth.stage": "Growth stage now",
        "growth.bloom": "Full bloom: {date}",
        "growth.fruit_now": "Fruit about {diameter:.0f} mm across, sugar about {brix:.1f} °Brix",
        "growth.colour_break": "Expected colour break",
        "growth.maturity": "Expected maturity",
        "growth.not_reached": "not before {end}",
        "growth.delay_later": "This slope delays maturity by {n} days compared with flat ground at the same "
                              "elevation.",
        "growth.delay_earlier": "This slope brings maturity {n} days earlier than flat ground at the same "
                                "elevation.",
        "growth.delay_none": "This plot matures at the same time as flat ground at the same elevation.",
        "growth.delay_unknown": "Maturity cannot be estimated for this season yet, so no comparison with "
                                "flat ground.",
        "growth.harvest_source": "Expected dates: this season's weather so far, then the rest of the season "
                                 "from {n} past years ({first}–{last}); the median.",
        "growth.outlook": "Next 30 days",
        "growth.expansion": "Fruit expansion (mm/day)",
        "growth.brix": "Sugar (°Brix)",
        "growth.band": "Thick line: most likely value; shaded: 9 years in 10 (P10–P90), from {n} past years' "
                       "weather.",
        "pest.black_spot": "Citrus black spot",
        "pest.canker": "Citrus canker",
        "pest.mites": "Citrus red mite",
        "pest.leaf_miner": "Citrus leafminer",
        "level.1": "light", "level.2": "fairly light", "level.3": "moderate", "level.4": "fairly heavy",
        "level.5": "outbreak",
        "level.badge": "level {n} {name} ({zh})",
        "horizon.15d": "15 days", "horizon.1m": "1 month", "horizon.3m": "3 months",
        "pests.horizon_item": "{horizon} {p}% ({level})",
        "pests.probabilities": "Chance it occurs: {items}",
        "pests.source": "Weather: {source}",
        "list.sep": "; ",
        "spray.curative": "curative",
        "spray.protective": "protective",
        "spray.item": "{pest} ({action}, by {date})",
        "spray.needed": "Spray: {items}.",
        "spray.none": "No spray needed in the next 15 days.",
        "soil.ks": "Water stress Ks (1 = no stress)",
        "soil.depletion": "Root-zone water deficit (mm)",
        "soil.no_irrigation": "The root zone lacks {depletion:.0f} mm, within the {raw:.0f} mm the trees "
                              "take up easily (total available {taw:.0f} mm): no watering needed.",
        "soil.irrigate": "The root zone lacks {depletion:.0f} mm, more than the {raw:.0f} mm the trees take "
                         "up easily: irrigate about {gross:.0f} mm.",
        "soil.sensors": "Corrected with {n} days of soil-moisture sensor readings.",
        "soil.weather_only": "No soil-moisture sensor readings for this plot in this period: estimated from "
                             "weather only.",
        "soil.none": "No soil water data for {date}.",
        "crop.ndvi": "Vegetation index NDVI ({date})",
        "crop.ndvi_help": "Higher NDVI means denser, greener leaves; the arrow is the change over 30 days.",
        "crop.no_clear": "The latest image ({date}) is clouded: no crop condition data.",
        "crop.no_alerts": "No crop condition alerts.",
        "crop.imagery_dates": "Satellite images exist only for 2021–2022: the latest one is shown, whatever "
                              "the date chosen.",
        "monitoring.alert.weak_patch": "About {area_mu:.1f} mu of the plot grows weakly: NDVI "
                                       "{percent_below:.0f}% below the plot's median (since {since}).",
        "monitoring.alert.below_peers": "Growing worse than other plots of the same cultivar "
                                        "(z = {peer_z:.1f}, since {since}).",
        "monitoring.alert.below_baseline": "Growing below this plot's past years: NDVI {observed:.2f}, "
                                           "usually about {baseline_mean:.2f} (since {since}).",
        "home.to_inputs": "Inputs: record purchases and applications of sprays and fertilisers",
        "inputs.title": "Inputs",
        "inputs.example_catalogue": "The product catalogue is an EXAMPLE, not a list of registered products; "
                                    "check the registered label before spraying.",
        "inputs.what": "Record",
        "inputs.kind.application": "Application",
        "inputs.kind.purchase": "Purchase",
        "inputs.read_only": "Your account can view these records but not add to them; ask the grower or an "
                            "agronomist.",
        "inputs.no_plots": "You have no plots to record an application on.",
        "inputs.product": "Product (mode-of-action group)",
        "inputs.fertiliser": "fertiliser",
        "inputs.plot": "Plot",
        "inputs.amount": "Amount",
        "inputs.amount_hint": "Enter a number",
        "inputs.amount_missing": "enter the amount.",
        "inputs.unit": "Unit",
        "inputs.unit.pack": "pack",
        "inputs.date_applied": "Date applied",
        "inputs.target": "Target pest or nutrient",
        "inputs.nutrient": "nutrient {nutrient}",
        "inputs.save_application": "Save application",
        "inputs.grower": "Grower",
        "inputs.quantity": "Quantity",
        "inputs.date_bought": "Date bought",
        "inputs.price": "Price paid (yuan)",
        "inputs.supplier": "Supplier",
        "inputs.save_purchase": "Save purchase",
        "inputs.not_saved": "Not saved: {error}",
        "inputs.applied": "Recorded: {product} {amount} {unit} on plot {plot}, {date} ({target}).",
        "inputs.bought": "Recorded purchase: {product} {quantity} {unit}, {date}.",
        "inputs.applications": "Applications",
        "inputs.purchases": "Purchases",
        "inputs.none": "Nothing recorded yet.",
        "inputs.more": "Showing the newest {n} of {total}.",
        "inputs.application_item": "{date} · {product} · {amount} {unit} · {plot} {target}",
        "inputs.purchase_item": "{date} · {product} · {quantity} {unit}",
        "inputs.price_item": " · {price} yuan",
    },
}

def _merge(*extra: dict[str, dict[str, str]]) -> None:
    """Add other pages' catalogues (same languages); a key defined twice is a programming error."""
    for catalogues in extra:
        for lang, messages in catalogues.items():
            clash = set(messages) & set(CATALOGUES[lang])
            if clash:
                raise KeyError(f"message keys defined twice: {sorted(clash)}")
            CATALOGUES[lang].update(messages)


_merge(_STAFF)

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


def date_label(day, lang: str = DEFAULT_LANGUAGE) -> str:
    """A date as people write it: 2017年3月22日 / 22 Mar 2017 ("" for None)."""
    if day is None:
        return ""
    if lang == "zh-CN":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {day:%b %Y}"


def aspect_label(aspect_deg: float, slope_deg: float, lang: str = DEFAULT_LANGUAGE) -> str:
    """Compass name of an aspect [deg from north]; 'flat' below 2° slope where aspect means little."""
    if aspect_deg != aspect_deg or slope_deg != slope_deg or slope_deg < 2.0:  # NaN-safe
        return t("aspect.flat", lang)
    names = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
    return t(f"aspect.{names[int(((aspect_deg % 360) + 22.5) // 45) % 8]}", lang)
