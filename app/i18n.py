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
        "auth.required": "请先登录。",
        "auth.forbidden": "您的账号无权查看此页面。",
        "home.db_error": "无法打开数据库：{error}",
        "error.access": "没有这个记录，或您的账号不能使用它",
        "error.input": "填写的内容有误，请检查后再试",
        "error.not_stored": "本周计算没有这部分结果，请管理员重新计算这一周",
        "error.storage": "数据库暂时打不开，请稍后再试",
        "error.other": "出了问题，请稍后再试或联系管理员",
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
        "plot.title": "地块详情",
        "plot.choose": "选择地块",
        "plot.choose_placeholder": "请选择您的地块",
        "plot.denied": "不能打开这个地块：没有这个地块，或它不属于您的账号。",
        "plot.summary": "{plot}，{cultivar}，坡度 {slope:.0f}°，海拔 {elevation:.0f} 米",
        "plot.chart_date": "日期",
        "section.advice": "本周建议",
        "advice.none": "{date} 的每周计算没有这块地的建议。",
        "advice.issued": "{date} 发布。",
        "advice.under_review": "{date} 的建议正在由农艺师审核，审核后会显示在这里。",
        "advice.review_note": "农艺师备注：{note}",
        "advice.products": "可选药剂/肥料：{items}",
        "advice.product_item": "{name}：全块 {amount}{unit}（约 {cost} 元）",
        "advice.product_safety": "安全间隔期 {phi} 天",
        "advice.product_rei": "喷后 {rei} 小时内不要进园",
        "advice.product_drone": "无人机：每亩兑水 {drone_water_l_per_mu} 升，每 {drone_tank_l} 升药箱加 "
                                "{per_drone_tank}{per_drone_tank_unit}，可喷 {mu_per_drone_tank} 亩（限登记可飞防的药剂）",
        "window.range": "{start}–{end}",
        "window.before_rain": "{range}，下雨前",
        "advice.product_dose": "每亩 {per_mu}{per_mu_unit}，{dilution} 倍液，每亩兑水 {water_l_per_mu} 升；"
                               "每 {knapsack_l} 升喷雾器加 {per_knapsack}{per_knapsack_unit}",
        "advice.example_catalogue": "注意：产品来自示例目录，使用前请核对登记标签。",
        "advice.severity": "紧急程度 {severity}/5",
        "advice.action.spray_protective": "{pest}：{action_window}喷一次保护性药剂",
        "advice.action.spray_curative": "{pest}：已有侵染，{action_window}喷治疗性药剂",
        "advice.action.skip_calendar_spray": "{pest}：风险低，本期可不按日历喷药",
        "advice.action.protected": "{pest}：{sprayed_on} 喷的{product_zh}仍在保护期，约到 {until}"
                                   "（其间累计降雨超过 {rain_mm_left} 毫米就失效），本期不用喷",
        "advice.action.too_soon": "{pest}：风险偏高，但上次喷药才 {days_since_spray} 天，本周不再喷，下周再看",
        "advice.action.scout_symptoms": "{pest}：{scout_on} 起到园里查看有没有新病斑",
        "advice.action.no_product": "{pest}：本该喷药，但所有药剂本次都不能用（已到标签最多使用次数、需轮换或安全间隔期超过采收期）；"
                                    "请查园、剪除虫梢",
        "advice.action.copper_cap": "{pest}：本该喷药，但今年铜制剂已用到上限（或天太热不宜用铜），又没有别的药可用；"
                                    "控梢、剪除病梢",
        "advice.action.scout_mites": "检查红蜘蛛：抽查 {leaves} 片叶再决定是否喷药",
        "advice.action.irrigate": "灌溉：净灌水 {net_mm} 毫米（毛灌水 {gross_mm} 毫米）",
        "advice.action.fertilise_nitrogen": "追施氮肥：每亩 {kg_n_per_mu} 公斤纯氮",
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
        "growth.fruit_now": "果实横径约 {diameter:.1f} 毫米，糖度约 {brix:.1f}°Brix",
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
        "weather.observed": "到 {date} 为本地气象站实测",
        "weather.climatology": "之后按往年同期天气推算（{n} 年：{years}）",
        "weather.forecast": "之后为天气预报",
        "list.sep": "；",
        "list.comma": "，",
        "spray.curative": "治疗性用药",
        "spray.protective": "保护性用药",
        "spray.item": "{pest}（{action}，{date}）",
        "spray.needed": "需要喷药：{items}。",
        "spray.none": "未来15天无需喷药。",
        "soil.water": "水分",
        "soil.water.ample": "充足", "soil.water.dry": "偏干", "soil.water.short": "缺水",
        "soil.water_help": "根区缺水 {depletion:.0f} 毫米；超过 {raw:.0f} 毫米果树就缺水。",
        "soil.depletion": "根区缺水量（毫米）",
        "soil.no_irrigation": "根区缺水 {depletion:.0f} 毫米，未超过易吸收水量 {raw:.0f} 毫米"
                              "（总有效水 {taw:.0f} 毫米）：不用浇水。",
        "soil.irrigate": "根区缺水 {depletion:.0f} 毫米，已超过易吸收水量 {raw:.0f} 毫米："
                         "需要灌溉约 {gross:.0f} 毫米。",
        "soil.sensors": "已用 {n} 天的土壤水分传感器读数校正。",
        "soil.weather_only": "这段时间地块没有土壤水分传感器读数：只由天气估算。",
        "soil.none": "{date} 没有土壤水分数据。",
        "crop.growth": "长势（卫星，{date}）",
        "crop.trend.better": "变好", "crop.trend.steady": "持平", "crop.trend.worse": "变差",
        "crop.trend.unknown": "暂无变化数据",
        "crop.growth_help": "由卫星影像的植被指数看近30天叶片是否更茂盛（本期 {ndvi:.2f}，越高越茂盛）。",
        "crop.index": "植被指数",
        "crop.no_clear": "最新影像（{date}）被云遮挡，没有可用的长势数据。",
        "crop.no_alerts": "没有长势预警。",
        "crop.imagery_dates": "卫星影像截至 {date}（本周计算所用的最新一景）。",
        "monitoring.alert.weak_patch": "地块内约 {area_mu:.1f} 亩长势偏弱：植被指数比全块中位数低 "
                                       "{percent_below:.0f}%（自 {since} 起）。",
        "monitoring.alert.below_peers": "长势比同品种的其他地块差（自 {since} 起）。",
        "monitoring.alert.below_baseline": "长势低于本地块往年同期：植被指数 {observed:.2f}，"
                                           "往年约 {baseline_mean:.2f}（自 {since} 起）。",
        "inputs.title": "投入品",
        "inputs.example_catalogue": "产品目录为示例，不是登记产品清单；用药前请核对农药登记标签。",
        "inputs.what": "记录",
        "inputs.kind.application": "施用",
        "inputs.kind.purchase": "购买",
        "inputs.read_only": "您的账号只能查看记录，不能填写；请让果农或农艺师记录。",
        "inputs.no_plots": "您还没有地块，不能记录施用。",
        "inputs.product": "产品",
        "inputs.product_moa": "产品（作用机理分组）",
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
        "app.caption": "Sample district: {district}. Terrain and weather are real; the orchard plots are "
                       "examples.",
        "lang.label": "Language",
        "auth.required": "Please sign in first.",
        "auth.forbidden": "Your account may not open this page.",
        "home.db_error": "Cannot open the database: {error}",
        "error.access": "no such record, or your account may not use it",
        "error.input": "something entered is not right; check it and try again",
        "error.not_stored": "the weekly run stored no results for this part; ask the administrator to run "
                            "the week again",
        "error.storage": "the database cannot be opened just now; try again later",
        "error.other": "something went wrong; try again later or ask the administrator",
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
        "plot.title": "Plot",
        "plot.choose": "Plot",
        "plot.choose_placeholder": "Choose one of your plots",
        "plot.denied": "This plot cannot be opened: {error}",
        "plot.summary": "{plot}, {cultivar}, slope {slope:.0f}°, elevation {elevation:.0f} m",
        "plot.chart_date": "Date",
        "section.advice": "This week's advice",
        "advice.none": "The weekly run of {date} has no advice for this plot.",
        "advice.issued": "Issued {date}.",
        "advice.under_review": "The advice of {date} is being reviewed by an agronomist; it shows here once "
                               "approved.",
        "advice.review_note": "Agronomist's note: {note}",
        "advice.products": "Products that fit: {items}",
        "advice.product_item": "{name}: {amount} {unit} for the plot (about {cost} yuan)",
        "advice.product_safety": "pre-harvest interval {phi} d",
        "advice.product_rei": "keep out of the plot for {rei} h after spraying",
        "advice.product_drone": "drone: {drone_water_l_per_mu} L of water per mu, {per_drone_tank} "
                                "{per_drone_tank_unit} per {drone_tank_l} L tank covering "
                                "{mu_per_drone_tank} mu (only products registered for aerial spraying)",
        "window.range": "{start} – {end}",
        "window.before_rain": "{range}, before the rain",
        "advice.product_dose": "{per_mu} {per_mu_unit} per mu at {dilution}x dilution in {water_l_per_mu} L of "
                               "water per mu; {per_knapsack} {per_knapsack_unit} per {knapsack_l} L knapsack",
        "advice.example_catalogue": "Note: products come from the example catalogue; check the registered "
                                    "label before use.",
        "advice.severity": "urgency {severity}/5",
        "advice.action.spray_protective": "{pest}: protective spray {action_window}",
        "advice.action.spray_curative": "{pest}: infection under way, curative spray {action_window}",
        "advice.action.skip_calendar_spray": "{pest}: low risk, skip this calendar spray",
        "advice.action.protected": "{pest}: protected by the {sprayed_on} {product_en} spray until about "
                                   "{until} (unless more than {rain_mm_left} mm of rain); no spray needed",
        "advice.action.too_soon": "{pest}: risk is high, but the last spray was only {days_since_spray} days ago; "
                                  "no spray this week, check again next week",
        "advice.action.scout_symptoms": "{pest}: from {scout_on}, look for new lesions in the orchard",
        "advice.action.no_product": "{pest}: a spray would be needed, but every product is blocked this time "
                                     "(label maximum uses, rotation, or a pre-harvest interval past the harvest); "
                                     "scout and cut out infested shoots",
        "advice.action.copper_cap": "{pest}: a spray would be needed, but this year's copper has reached the cap "
                                    "(or it is too hot for copper) and no other product controls it; keep the "
                                    "flush short and cut out infected shoots",
        "advice.action.scout_mites": "Scout for mites: check {leaves} leaves before deciding to spray",
        "advice.action.irrigate": "Irrigate: {net_mm} mm net ({gross_mm} mm gross)",
        "advice.action.fertilise_nitrogen": "Nitrogen: {kg_n_per_mu} kg N per mu",
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
        "growth.fruit_now": "Fruit about {diameter:.1f} mm across, sugar about {brix:.1f} °Brix",
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
        "level.badge": "level {n} {name}",
        "horizon.15d": "15 days", "horizon.1m": "1 month", "horizon.3m": "3 months",
        "pests.horizon_item": "{horizon} {p}% ({level})",
        "pests.probabilities": "Chance it occurs: {items}",
        "pests.source": "Weather: {source}",
        "weather.observed": "station observations up to {date}",
        "weather.climatology": "then the same days of {n} past years ({years})",
        "weather.forecast": "then the weather forecast",
        "list.sep": "; ",
        "list.comma": ", ",
        "spray.curative": "curative",
        "spray.protective": "protective",
        "spray.item": "{pest} ({action}, {date})",
        "spray.needed": "Spray: {items}.",
        "spray.none": "No spray needed in the next 15 days.",
        "soil.water": "Water",
        "soil.water.ample": "enough", "soil.water.dry": "drying", "soil.water.short": "short",
        "soil.water_help": "The root zone lacks {depletion:.0f} mm; past {raw:.0f} mm the trees lack water.",
        "soil.depletion": "Root-zone water deficit (mm)",
        "soil.no_irrigation": "The root zone lacks {depletion:.0f} mm, within the {raw:.0f} mm the trees "
                              "take up easily (total available {taw:.0f} mm): no watering needed.",
        "soil.irrigate": "The root zone lacks {depletion:.0f} mm, more than the {raw:.0f} mm the trees take "
                         "up easily: irrigate about {gross:.0f} mm.",
        "soil.sensors": "Corrected with {n} days of soil-moisture sensor readings.",
        "soil.weather_only": "No soil-moisture sensor readings for this plot in this period: estimated from "
                             "weather only.",
        "soil.none": "No soil water data for {date}.",
        "crop.growth": "Growth (satellite, {date})",
        "crop.trend.better": "improving", "crop.trend.steady": "steady", "crop.trend.worse": "declining",
        "crop.trend.unknown": "no change known yet",
        "crop.growth_help": "Whether the leaves grew denser over the last 30 days, from the satellite "
                            "vegetation index (NDVI {ndvi:.2f} now; higher is denser).",
        "crop.index": "NDVI",
        "crop.no_clear": "The latest image ({date}) is clouded: no crop condition data.",
        "crop.no_alerts": "No crop condition alerts.",
        "crop.imagery_dates": "Satellite images up to {date} (the latest the weekly run used).",
        "monitoring.alert.weak_patch": "About {area_mu:.1f} mu of the plot grows weakly: NDVI "
                                       "{percent_below:.0f}% below the plot's median (since {since}).",
        "monitoring.alert.below_peers": "Growing worse than other plots of the same cultivar "
                                        "(z = {peer_z:.1f}, since {since}).",
        "monitoring.alert.below_baseline": "Growing below this plot's past years: NDVI {observed:.2f}, "
                                           "usually about {baseline_mean:.2f} (since {since}).",
        "inputs.title": "Inputs",
        "inputs.example_catalogue": "The product catalogue is an EXAMPLE, not a list of registered products; "
                                    "check the registered label before spraying.",
        "inputs.what": "Record",
        "inputs.kind.application": "Application",
        "inputs.kind.purchase": "Purchase",
        "inputs.read_only": "Your account can view these records but not add to them; ask the grower or an "
                            "agronomist.",
        "inputs.no_plots": "You have no plots to record an application on.",
        "inputs.product": "Product",
        "inputs.product_moa": "Product (mode-of-action group)",
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

#: Messages of the signed-in app shell and the grower pages (navigation, sign-in, home tiles, advice reasons,
#: records from advice, photo identification). Kept apart from the seed's messages above for reading.
_APP: dict[str, dict[str, str]] = {
    "zh-CN": {
        # navigation: one title per page file (app/pages/<stem>.py), for every role's pages
        "nav.sign_in": "登录",
        "nav.grower_home": "首页",
        "nav.plot": "地块详情",
        "nav.inputs": "农资记录",
        "nav.identify": "拍照识病虫",
        "nav.agronomist_parameters": "模型参数",
        "nav.agronomist_calibration": "参数校准",
        "nav.agronomist_images": "病虫图片库",
        "nav.agronomist_advice": "建议审核",
        "nav.agronomist_scouting": "田间调查",
        "nav.extension_riskmap": "风险地图",
        "nav.extension_plots": "地块总览",
        "nav.extension_exports": "数据导出",
        "nav.extension_accounting": "减药与碳核算",
        "nav.admin_users": "用户管理",
        "nav.back_home": "返回首页",
        "nav.none": "您的账号还没有可用的页面，请联系管理员。",
        # sign-in
        "auth.title": "登录",
        "auth.user_id": "用户名",
        "auth.password": "密码",
        "auth.submit": "登录",
        "auth.failed": "用户名或密码不正确，请重新输入。",
        "auth.locked": "登录失败次数太多，请 {seconds} 秒后再试。",
        "auth.locked_minutes": "登录失败次数太多，请 {minutes} 分钟后再试。",
        "auth.help": "忘记密码请联系管理员重设。",
        "auth.oidc": "用单位统一身份认证登录",
        "auth.oidc_unknown": "您已通过统一身份认证，但本系统没有对应的账号；请联系管理员。",
        "auth.oidc_error": "统一身份认证暂时无法使用，请用用户名和密码登录。",
        "auth.sign_out": "退出登录",
        "auth.signed_in_as": "{name}（{role}）",
        "role.grower": "果农", "role.agronomist": "农艺师", "role.extension": "农技推广",
        "role.admin": "管理员",
        # grower home
        "gh.hello": "{name}，您好",
        "gh.tile.plots": "我的地块",
        "gh.tile.plots_value": "{n} 块",
        "gh.tile.plots_area": "共 {mu:.0f} 亩（{ha:.1f} 公顷）",
        "gh.tile.urgent": "本周紧急建议",
        "gh.tile.pests": "病虫害预警",
        "gh.tile.identify": "拍照识病虫",
        "gh.tile.identify_help": "拍一张叶片或果实的照片",
        "gh.tile.identify_value": "拍照",
        "gh.open": "查看",
        "gh.open_plot": "查看 {plot}",
        "gh.tile.urgent_where": "最急：{plot}",
        "gh.tile.pests_plots": "{n} 块地需要喷药",
        "gh.tile.pests_none": "本周不用喷药",
        "gh.week": "本周：{action}",
        "gh.week_more": "（另有 {n} 条）",
        "gh.week_none": "本周没有建议",
        "gh.topic.spray": "喷药", "gh.topic.skip_spray": "可不喷", "gh.topic.scout": "巡查",
        "gh.topic.irrigate": "灌溉", "gh.topic.fertilise": "施肥", "gh.topic.harvest": "采收",
        "gh.topic.inspect": "查看", "gh.topic.data": "缺数据",
        "gh.open_identify": "去拍照",
        "gh.advice_issued": "{date}发布",
        "gh.advice_none": "还没有本周建议（管理员每周运行一次）。",
        "gh.map": "我的地块分布",
        "gh.map_legend": "地块颜色表示本周最紧急的建议：红＝非常紧急，橙＝紧急，黄＝注意，"
                         "蓝＝一般，绿＝提示，"
                         "灰＝没有建议；地块上的字是本周先要做的事。底图为地形晕渲。",
        "gh.list": "点地块查看详情",
        "gh.plot_item": "{severity} · {plot} {name} · {mu:.1f} 亩",
        "gh.weather": "{date}天气：最高 {tmax:.0f}°C，最低 {tmin:.0f}°C，降水 {precip:.0f} 毫米",
        "sev.0": "无建议", "sev.1": "提示", "sev.2": "一般", "sev.3": "注意", "sev.4": "紧急",
        "sev.5": "非常紧急",
        # plot page additions
        "plot.area": "面积 {mu:.1f} 亩（{ha:.2f} 公顷）",
        "plot.no_plots": "您还没有地块。请让管理员导入地块。",
        "advice.reason_label": "原因：{reason}",
        "advice.reason.pest_outlook": "{pest}：未来15天发生概率 {percent}%，风险 {level} 级",
        "advice.reason.unprotected_risk": "{pest}：未来15天风险 {level} 级，易感的嫩梢或幼果没有药剂保护",
        "advice.reason.unprotected_event": "{pest}：已经发生侵染，当时没有药剂保护，内吸性药剂还来得及",
        "advice.reason.missed_event": "{pest}：{event_date} 前后发生侵染，当时没有药剂保护，已过治疗期",
        "advice.reason.protected": "{pest}：未来15天风险 {level} 级，但上次喷的药还在保护期内",
        "advice.reason.tank_mix": "{pest}：风险 {level} 级，本周反正要喷药，顺便一起防，省一次喷药",
        "advice.reason.copper_cap": "{pest}：未来15天风险 {level} 级；铜用量每年每公顷不超过 4 公斤",
        "advice.reason.low_risk": "{pest}：未来15天风险只有 {level} 级（概率 {percent}%）",
        "advice.reason.mites_near_threshold": "红蜘蛛风险接近防治指标（{level} 级，概率 {percent}%）",
        "advice.reason.depletion_past_raw": "根层缺水 {depletion_mm} 毫米，已超过易吸收水量 {raw_mm} 毫米",
        "advice.reason.nitrogen_split": "全年约需纯氮 {annual_kg_n_per_ha:.0f} 公斤/公顷，"
                                        "本期施 {share_pct}%",
        "advice.reason.maturity_expected": "根据今年天气和往年后续天气推算的成熟期",
        "advice.reason.poor_growth": "卫星影像显示长势偏弱（自 {since} 起）",
        "advice.reason.module_unavailable": "缺少数据，无法计算：{module}",
        "pests.unnecessary.protected_before_event": "如果侵染前已喷过保护性药剂，可以不喷。",
        "pests.unnecessary.dry_forecast": "如果天气一直干燥，可以不喷。",
        "pests.unnecessary.no_rain": "如果没有较大的降雨，可以不喷。",
        "pests.unnecessary.count_below_threshold_or_heavy_rain": "如果查叶虫口低于指标或下了大雨，可以不喷。",
        "pests.unnecessary.no_new_flush": "如果没有抽新梢，可以不喷。",
        "advice.download": "下载本周建议（CSV 表格）",
        "advice.csv.plot": "地块", "advice.csv.issued": "发布日期", "advice.csv.valid_to": "有效至",
        "advice.csv.severity": "紧急程度", "advice.csv.action": "建议", "advice.csv.reason": "原因",
        "advice.csv.products": "可选产品",
        "advice.record.title": "按建议记录用药或施肥",
        "advice.record.product": "建议的产品",
        "advice.record.item": "{name} · {amount} {unit}（{target}）",
        "advice.record.amount": "用量（{unit}）",
        "advice.record.date": "日期",
        "advice.record.application": "记录施用",
        "advice.record.purchase": "记录购买",
        "advice.record.read_only": "您的账号不能记录用药或购买。",
        "crop.series": "长势变化（植被指数）",
        "crop.series_help": "点为无云影像的植被指数；线为平滑后的变化；越高叶片越茂盛。",
        "crop.zones": "长势偏弱的区域（红色）",
        "crop.zones_legend": "红色区域长势比本地块其他部分差，约 {area_mu:.1f} 亩；请到田间查看原因。",
        "soil.chart": "近60天根层有效水（%）",
        "soil.available": "有效水",
        "soil.threshold": "低于此线需灌溉",
        "soil.threshold_help": "蓝色为根层有效水；红色虚线以下果树缺水，需要灌溉。",
        "advice.sources": "数据来源",
        "source.pests": "病虫害：本地气象站实测天气，之后按往年同期天气推算",
        "source.soil": "水分和施肥：由天气估算的根层水量平衡和预期产量",
        "source.growth": "生长和采收期：本季天气和往年后续天气",
        "source.monitoring": "长势：卫星影像",
        "source.other": "其他：每周计算的结果",
        "identify.choose": "选择照片",
        "plot.as_of_run": "以下为 {date} 的每周计算结果。",
        "plot.other_week": "看其他周",
        "plot.week": "每周计算的日期",
        "plot.no_run": "还没有每周计算结果：请管理员先运行每周计算（{date}）。",
        "plot.no_run_before": "{date} 及以前还没有每周计算结果：请管理员先运行这一周的计算。",
        # photo identification
        "identify.title": "拍照识病虫",
        "identify.intro": "拍一张清楚的病叶、病果或虫子的照片（JPG、PNG 或 WEBP，最大 {max} MB）。",
        "identify.upload": "选择或拍摄照片",
        "identify.plot": "照片所在地块（可不选）",
        "identify.no_plot": "不选地块",
        "identify.too_large": "照片太大（{mb:.1f} MB），最大 {max} MB；请换一张较小的照片。",
        "identify.wrong_type": "只能上传 JPG、PNG 或 WEBP 格式的照片。",
        "identify.not_image": "这个文件不是照片，无法识别；请选择 JPG、PNG 或 WEBP 照片。",
        "identify.corrupt": "照片文件已损坏，无法打开；请重新拍照上传。",
        "identify.too_many_pixels": "照片太大（{mpx:.0f} 百万像素），最多 {max:.0f} 百万像素；请缩小后再上传。",
        "identify.no_model": "暂时无法识别这张照片（识别模型还没有准备好，或不接受这张照片）。",
        "identify.result": "识别结果（可能性从高到低）",
        "identify.item": "{label}：{percent}%",
        "identify.uncertain": "不能确定是什么病虫。请保存照片，让农艺师查看。",
        "identify.caution": "识别结果仅供参考，用药前请让农艺师确认。",
        "identify.save": "保存照片，请农艺师查看",
        "identify.saved": "照片已保存（编号 {sample}），农艺师会尽快查看。",
        "identify.duplicate": "这张照片已经在图片库里（编号 {sample}），不用再保存。",
        "identify.not_saved": "照片没有保存：{error}",
        "label.black_spot": "柑橘黑斑病", "label.canker": "柑橘溃疡病", "label.greening": "柑橘黄龙病",
        "label.healthy": "健康", "label.melanose": "柑橘砂皮病", "label.scab": "柑橘疮痂病",
        "label.mites": "柑橘红蜘蛛", "label.leaf_miner": "柑橘潜叶蛾", "label.unknown": "未知",
        "label.uncertain": "不确定",
    },
    "en": {
        "nav.sign_in": "Sign in",
        "nav.grower_home": "Home",
        "nav.plot": "Plot",
        "nav.inputs": "Inputs",
        "nav.identify": "Identify a pest",
        "nav.agronomist_parameters": "Model parameters",
        "nav.agronomist_calibration": "Calibration",
        "nav.agronomist_images": "Image library",
        "nav.agronomist_advice": "Advice review",
        "nav.agronomist_scouting": "Scouting",
        "nav.extension_riskmap": "Risk maps",
        "nav.extension_plots": "Plots overview",
        "nav.extension_exports": "Exports",
        "nav.extension_accounting": "Pesticide and carbon account",
        "nav.admin_users": "Users",
        "nav.back_home": "Back to home",
        "nav.none": "Your account has no pages yet; ask the administrator.",
        "auth.title": "Sign in",
        "auth.user_id": "User name",
        "auth.password": "Password",
        "auth.submit": "Sign in",
        "auth.failed": "The user name or password is not correct; please try again.",
        "auth.locked": "Too many failed sign-ins; please try again in {seconds} seconds.",
        "auth.locked_minutes": "Too many failed sign-ins; please try again in {minutes} minutes.",
        "auth.help": "Forgotten your password? Ask the administrator to reset it.",
        "auth.oidc": "Sign in with your organisation's account",
        "auth.oidc_unknown": "You are signed in with your organisation's account, but no account of this app "
                             "is linked to it; ask the administrator.",
        "auth.oidc_error": "Organisation sign-in is not available right now; sign in with user name and "
                           "password.",
        "auth.sign_out": "Sign out",
        "auth.signed_in_as": "{name} ({role})",
        "role.grower": "grower", "role.agronomist": "agronomist", "role.extension": "extension",
        "role.admin": "administrator",
        "gh.hello": "Hello, {name}",
        "gh.tile.plots": "My plots",
        "gh.tile.plots_value": "{n} plots",
        "gh.tile.plots_area": "{mu:.0f} mu ({ha:.1f} ha) in all",
        "gh.tile.urgent": "Urgent this week",
        "gh.tile.pests": "Pest alerts",
        "gh.tile.identify": "Identify a pest",
        "gh.tile.identify_help": "take a photo of a leaf or fruit",
        "gh.tile.identify_value": "Photo",
        "gh.open": "Open",
        "gh.open_plot": "Open {plot}",
        "gh.tile.urgent_where": "most urgent: {plot}",
        "gh.tile.pests_plots": "on {n} plots",
        "gh.tile.pests_none": "no spray this week",
        "gh.week": "This week: {action}",
        "gh.week_more": " (and {n} more)",
        "gh.week_none": "No advice this week",
        "gh.topic.spray": "spray", "gh.topic.skip_spray": "skip spray", "gh.topic.scout": "scout",
        "gh.topic.irrigate": "irrigate", "gh.topic.fertilise": "fertilise", "gh.topic.harvest": "harvest",
        "gh.topic.inspect": "inspect", "gh.topic.data": "data missing",
        "gh.open_identify": "Take a photo",
        "gh.advice_issued": "issued {date}",
        "gh.advice_none": "No advice for this week yet (the administrator runs it weekly).",
        "gh.map": "My plots",
        "gh.map_legend": "Plot colour shows this week's most urgent advice: red = very urgent, orange = "
                         "urgent, yellow = attention, blue = routine, green = note, grey = no advice; "
                         "the word on a plot is what to do first this week. Background: shaded relief "
                         "of the terrain.",
        "gh.list": "Tap a plot to open it",
        "gh.plot_item": "{severity} · {plot} {name} · {mu:.1f} mu",
        "gh.weather": "Weather on {date}: max {tmax:.0f} °C, min {tmin:.0f} °C, rain {precip:.0f} mm",
        "sev.0": "no advice", "sev.1": "note", "sev.2": "routine", "sev.3": "attention", "sev.4": "urgent",
        "sev.5": "very urgent",
        "plot.area": "Area {mu:.1f} mu ({ha:.2f} ha)",
        "plot.no_plots": "You have no plots yet. Ask the administrator to import them.",
        "advice.reason_label": "Why: {reason}",
        "advice.reason.pest_outlook": "{pest}: {percent}% chance in the next 15 days, risk level {level}",
        "advice.reason.unprotected_risk": "{pest}: risk level {level} in the next 15 days on susceptible "
                                          "shoots or fruit that no spray protects",
        "advice.reason.unprotected_event": "{pest}: an infection happened on unprotected tissue; a systemic "
                                           "product can still stop it",
        "advice.reason.missed_event": "{pest}: an infection around {event_date} on unprotected tissue, past any "
                                      "curative window",
        "advice.reason.protected": "{pest}: risk level {level} in the next 15 days, but the last spray still "
                                   "protects",
        "advice.reason.tank_mix": "{pest}: risk level {level}; the plot is sprayed this week anyway, so cover it "
                                  "in the same spray and save a later one",
        "advice.reason.copper_cap": "{pest}: risk level {level} in the next 15 days; copper is capped at 4 kg per "
                                    "hectare a year",
        "advice.reason.low_risk": "{pest}: risk only level {level} in the next 15 days ({percent}% chance)",
        "advice.reason.mites_near_threshold": "Mites close to the action threshold (level {level}, "
                                              "{percent}% chance)",
        "advice.reason.depletion_past_raw": "The root zone lacks {depletion_mm} mm, more than the "
                                            "{raw_mm} mm the trees take up easily",
        "advice.reason.nitrogen_split": "About {annual_kg_n_per_ha:.0f} kg N per hectare a year; "
                                        "{share_pct}% now",
        "advice.reason.maturity_expected": "Maturity from this season's weather and past years' weather "
                                           "ahead",
        "advice.reason.poor_growth": "Satellite images show weak growth (since {since})",
        "advice.reason.module_unavailable": "Data missing, could not compute: {module}",
        "pests.unnecessary.protected_before_event": "Not needed if a protective spray was applied before the "
                                                    "infection.",
        "pests.unnecessary.dry_forecast": "Not needed if the weather stays dry.",
        "pests.unnecessary.no_rain": "Not needed without substantial rain.",
        "pests.unnecessary.count_below_threshold_or_heavy_rain": "Not needed if a leaf count is below the "
                                                                 "threshold or heavy rain falls.",
        "pests.unnecessary.no_new_flush": "Not needed if no new flush appears.",
        "advice.download": "Download this week's advice (CSV)",
        "advice.csv.plot": "Plot", "advice.csv.issued": "Issued", "advice.csv.valid_to": "Valid to",
        "advice.csv.severity": "Urgency", "advice.csv.action": "Advice", "advice.csv.reason": "Why",
        "advice.csv.products": "Products",
        "advice.record.title": "Record a spray or fertiliser from this advice",
        "advice.record.product": "Advised product",
        "advice.record.item": "{name} · {amount} {unit} ({target})",
        "advice.record.amount": "Amount ({unit})",
        "advice.record.date": "Date",
        "advice.record.application": "Record application",
        "advice.record.purchase": "Record purchase",
        "advice.record.read_only": "Your account cannot record applications or purchases.",
        "crop.series": "Vegetation index NDVI over time",
        "crop.series_help": "Dots: NDVI of cloud-free images; line: the smoothed course.",
        "crop.zones": "Weak-growth zone (red)",
        "crop.zones_legend": "The red area grows worse than the rest of the plot, about {area_mu:.1f} mu; go "
                             "and look at it in the field.",
        "soil.chart": "Root-zone available water, last 60 days (%)",
        "soil.available": "available water",
        "soil.threshold": "irrigate below this line",
        "soil.threshold_help": "Blue: water the roots can use; below the red dashed line the trees lack "
                               "water and need irrigation.",
        "advice.sources": "Where the data come from",
        "source.pests": "Pests: station weather, then the same days of past years",
        "source.soil": "Water and fertiliser: root-zone water balance from the weather, and the expected "
                       "yield",
        "source.growth": "Growth and harvest: this season's weather, then past years' weather",
        "source.monitoring": "Growth from space: satellite images",
        "source.other": "Other: the weekly run",
        "identify.choose": "Choose a photo",
        "plot.as_of_run": "As of {date} (the weekly run).",
        "plot.other_week": "Other weeks",
        "plot.week": "Weekly run of",
        "plot.no_run": "No weekly advice is stored yet: ask the administrator to run the weekly advice "
                       "({date}).",
        "plot.no_run_before": "No weekly advice is stored for {date} or earlier: ask the administrator to run "
                              "that week's advice.",
        "identify.title": "Identify a pest or disease",
        "identify.intro": "Take a clear photo of the damaged leaf, fruit or the insect (JPG, PNG or WEBP, at "
                          "most {max} MB).",
        "identify.upload": "Choose or take a photo",
        "identify.plot": "Plot the photo was taken on (optional)",
        "identify.no_plot": "no plot",
        "identify.too_large": "The photo is too large ({mb:.1f} MB; at most {max} MB); choose a smaller one.",
        "identify.wrong_type": "Only JPG, PNG or WEBP photos can be uploaded.",
        "identify.not_image": "This file is not a photo and cannot be identified; choose a JPG, PNG or WEBP "
                              "photo.",
        "identify.corrupt": "The photo file is damaged and cannot be opened; take and upload it again.",
        "identify.too_many_pixels": "The photo is too large ({mpx:.0f} million pixels; at most {max:.0f} "
                                    "million); make it smaller first.",
        "identify.no_model": "The photo cannot be identified now: {error}",
        "identify.result": "What it may be (most likely first)",
        "identify.item": "{label}: {percent}%",
        "identify.uncertain": "Uncertain: the model cannot tell. Save the photo for an agronomist to look "
                              "at.",
        "identify.caution": "The result is a hint only; ask an agronomist before spraying.",
        "identify.save": "Save the photo for an agronomist",
        "identify.saved": "Photo saved (number {sample}); an agronomist will look at it.",
        "identify.duplicate": "This photo is already in the image library (number {sample}); nothing to "
                              "save.",
        "identify.not_saved": "The photo was not saved: {error}",
        "label.black_spot": "Citrus black spot", "label.canker": "Citrus canker",
        "label.greening": "Huanglongbing (greening)", "label.healthy": "healthy",
        "label.melanose": "Melanose",
        "label.scab": "Citrus scab",
        "label.mites": "Citrus red mite", "label.leaf_miner": "Citrus leafminer", "label.unknown": "unknown",
        "label.uncertain": "uncertain",
    },
}

#: Keys another catalogue tried to define again (the first definition is kept; a test requires none).
DUPLICATE_KEYS: list[str] = []


def _merge(*extra: dict[str, dict[str, str]]) -> None:
    """Add other pages' catalogues (same languages). A key defined twice is a programming error: it is kept
    as first defined and listed in :data:`DUPLICATE_KEYS` (which a test checks), so the app still starts."""
    for catalogues in extra:
        for lang, messages in catalogues.items():
            target = CATALOGUES.setdefault(lang, {})
            for key, text in messages.items():
                if key in target:
                    DUPLICATE_KEYS.append(f"{lang}:{key}")
                else:
                    target[key] = text


_merge(_APP, _STAFF)

#: 1 mu (亩) = 666.67 m², the unit Chinese growers use for area.
M2_PER_MU = 2000.0 / 3.0


def t(key: str, lang: str = DEFAULT_LANGUAGE, **fields) -> str:
    """The message ``key`` in ``lang`` (falling back to English, then to the key itself)."""
    text = CATALOGUES.get(lang, {}).get(key) or CATALOGUES["en"].get(key) or key
    return text.format(**fields) if fields else text


def error_text(error, lang: str = DEFAULT_LANGUAGE) -> str:
    """An error for the reader: the project's own sentence in English; in Chinese a Chinese sentence by the
    error's kind (the English detail is for the log and the staff's CLI, never mixed into a Chinese page).
    ``error`` is an exception, or the sentence of a page section the run did not store."""
    if lang == "en":
        return str(error)
    from orchard.errors import AccessError, InputError, StorageError

    if isinstance(error, str):
        return t("error.not_stored", lang)
    kinds = ((AccessError, "error.access"), (StorageError, "error.storage"), (InputError, "error.input"))
    for kind, key in kinds:
        if isinstance(error, kind):
            return t(key, lang)
    return t("error.other", lang)


def weather_source_text(source: str, issued, lang: str = DEFAULT_LANGUAGE) -> str:
    """Where a run's pest weather came from, for the reader: the stored (English) source line in English; in
    Chinese a Chinese sentence built from it (observed up to the issue day, then a forecast or past years)."""
    import re

    if lang == "en":
        return source
    parts = [t("weather.observed", lang, date=date_label(issued, lang, year=False))]
    past = re.search(r"climatology: (\d+) past years \(([^)]*)\)", source or "")
    if past:
        years = re.findall(r"\d{4}", past.group(2))
        shown = t("list.comma", lang).join(years) + ("…" if "…" in past.group(2) else "")
        parts.append(t("weather.climatology", lang, n=int(past.group(1)), years=shown))
    elif "forecast" in (source or "").lower():
        parts.append(t("weather.forecast", lang))
    return t("list.comma", lang).join(parts)


def cultivar_label(code: str | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """Display name of a cultivar code (the code itself when the catalogue does not know it)."""
    if not code:
        return ""
    key = f"cultivar.{code}"
    text = t(key, lang)
    return code if text == key else text


def as_day(value):
    """A date from a date, a datetime, a pandas Timestamp or an ISO text ("2016-07-15"); None otherwise."""
    from datetime import date, datetime

    if value is None or isinstance(value, float):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def date_label(day, lang: str = DEFAULT_LANGUAGE, *, year: bool = True) -> str:
    """A date as people write it, the one format of each language used on every page: 2016年7月15日 (7月15日
    with ``year=False``, inside a sentence of this season) / 15 Jul 2016 (English always with its year).
    Takes what :func:`as_day` takes; "" for None, other text as it is."""
    value, day = day, as_day(day)
    if day is None:
        return "" if value is None or isinstance(value, float) else str(value)
    if lang == "zh-CN":
        return f"{day.year}年{day.month}月{day.day}日" if year else f"{day.month}月{day.day}日"
    return f"{day.day} {day:%b %Y}"


def window_label(start, end, lang: str = DEFAULT_LANGUAGE, *, before_rain: bool = False) -> str:
    """An action window: 7月15日–7月18日，下雨前 / 15 Jul 2016 – 18 Jul 2016, before the rain."""
    start, end = as_day(start), as_day(end)
    if end is None or (start is not None and end <= start):  # a run stored before windows: its one day
        text = date_label(end or start, lang, year=False)
    else:
        text = t("window.range", lang, start=date_label(start, lang, year=False),
                 end=date_label(end, lang, year=False))
    return t("window.before_rain", lang, range=text) if before_rain else text


def aspect_label(aspect_deg: float, slope_deg: float, lang: str = DEFAULT_LANGUAGE) -> str:
    """Compass name of an aspect [deg from north]; 'flat' below 2° slope where aspect means little."""
    if aspect_deg != aspect_deg or slope_deg != slope_deg or slope_deg < 2.0:  # NaN-safe
        return t("aspect.flat", lang)
    names = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
    return t(f"aspect.{names[int(((aspect_deg % 360) + 22.5) // 45) % 8]}", lang)


# ----------------------------------------------------------------------------------------------------------
# Stored advice (orchard.store.list_recommendations records) in the reader's language
# ----------------------------------------------------------------------------------------------------------
#: Advice numbers that hold a date (ISO text in the stored record), shown in the language's one date format.
DATE_NUMBERS = ("latest_date", "scout_on", "sprayed_on", "until", "event_date", "since", "from", "to",
                "window_from", "window_to")


def _advice_numbers(numbers: dict | None, lang: str) -> dict:
    out = {k: ("–" if v is None else v) for k, v in (numbers or {}).items()}
    for key in DATE_NUMBERS:
        if as_day(out.get(key)) is not None:
            out[key] = date_label(out[key], lang, year=False)
    if isinstance(out.get("kg_n_per_ha"), (int, float)):
        out["kg_n_per_mu"] = round(out["kg_n_per_ha"] / 15.0, 1)  # 15 亩 = 1 ha
    if out.get("pest") not in (None, "–"):
        out["pest"] = t(f"pest.{out['pest']}", lang)
    if isinstance(out.get("probability_15d"), (int, float)):
        out["percent"] = round(100 * out["probability_15d"])
    if isinstance(out.get("share"), (int, float)):
        out["share_pct"] = round(100 * out["share"])
    return out


def advice_text(record: dict, lang: str = DEFAULT_LANGUAGE) -> str:
    """A recommendation's action in the reader's language (pest names translated); the English evidence for
    an action the catalogues do not know yet."""
    if record.get("action_key") not in CATALOGUES["en"]:
        return record.get("evidence") or str(record.get("action_key"))
    try:
        numbers = _advice_numbers(record.get("action_numbers"), lang)
        return t(record["action_key"], lang, **{**numbers, "action_window": action_window(record, lang)})
    except (KeyError, IndexError, ValueError):  # numbers missing for the message: the English evidence
        return record.get("evidence") or record["action_key"]


def action_window(record: dict, lang: str = DEFAULT_LANGUAGE) -> str:
    """The window of a spray recommendation ("7月15日–7月18日，下雨前"): from its stored window (issue #19) or,
    in a run stored before windows, from the issue day to its latest date; "" for other advice."""
    numbers = record.get("action_numbers") or {}
    start = (as_day(numbers.get("window_from")) or as_day(record.get("valid_from"))
             or as_day(record.get("issued_on")))
    end = as_day(numbers.get("window_to")) or as_day(numbers.get("latest_date"))
    if start is None or end is None:
        return ""
    return window_label(start, end, lang, before_rain=bool(numbers.get("before_rain")))


def reason_text(record: dict, lang: str = DEFAULT_LANGUAGE) -> str:
    """Why: the recommendation's reason in the reader's language, from its reason key and numbers.

    Poor-growth alerts carry the monitoring message key as reason; they are told with the short
    ``advice.reason.poor_growth``. A key without a message falls back to the English evidence sentence.
    """
    key = record.get("reason_key") or ""
    if key.startswith("monitoring.alert."):
        key = "advice.reason.poor_growth"
    numbers = {**_advice_numbers(record.get("action_numbers"), lang),
               **_advice_numbers(record.get("reason_numbers"), lang)}
    if key not in CATALOGUES["en"]:
        return record.get("evidence") or ""
    try:
        return t(key, lang, **numbers)
    except (KeyError, IndexError, ValueError):
        return record.get("evidence") or ""


def unnecessary_text(record: dict, lang: str = DEFAULT_LANGUAGE) -> str:
    """What would make a spray unnecessary ("" when the recommendation does not say)."""
    key = (record.get("reason_numbers") or {}).get("unnecessary_if")
    return t(key, lang) if isinstance(key, str) and key in CATALOGUES["en"] else ""


def product_lines(record: dict, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """One line per product a recommendation proposes: the amount for the plot and its cost; for a spray also
    how to mix it (per 亩, 倍液 with its water, per knapsack and per drone tank) and the label's PHI
    (安全间隔期) and REI. Fertilisers have no PHI line."""
    name = "name_zh" if lang == "zh-CN" else "name_en"
    colon, sep = ("：", "；") if lang == "zh-CN" else (": ", "; ")

    def fmt(numbers: dict) -> dict:
        return {k: (f"{v:g}" if isinstance(v, float) else v) for k, v in numbers.items()}

    lines = []
    for p in record.get("products") or []:
        text = t("advice.product_item", lang, name=p[name], amount=f"{round(p['amount'], 1):g}",
                 unit=p["unit"], cost="–" if p.get("cost_cny") is None else round(p["cost_cny"]))
        dose = p.get("dose") or {}
        if "dilution" in dose:  # a spray: how to mix it, and how long before harvest and re-entry
            parts = [t("advice.product_dose", lang, **fmt(dose))]
            if "per_drone_tank" in dose:
                parts.append(t("advice.product_drone", lang, **fmt(dose)))
            if p.get("phi_days") is not None:
                parts.append(t("advice.product_safety", lang, phi=p["phi_days"]))
            if p.get("rei_hours") is not None:
                parts.append(t("advice.product_rei", lang, rei=f"{float(p['rei_hours']):g}"))
            text += colon + sep.join(parts)
        lines.append(text)
    return lines


def product_items(record: dict, lang: str = DEFAULT_LANGUAGE) -> str:
    """The products of a recommendation on one line (the CSV's column): :func:`product_lines` joined."""
    return t("list.sep", lang).join(product_lines(record, lang))


def advice_csv(records: list[dict], lang: str = DEFAULT_LANGUAGE) -> bytes:
    """Recommendations as a CSV in the reader's language (UTF-8 with a byte-order mark, so spreadsheet
    programs read the Chinese text)."""
    import csv
    import io

    columns = ["plot", "issued", "valid_to", "severity", "action", "reason", "products"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([t(f"advice.csv.{c}", lang) for c in columns])
    for r in records:
        writer.writerow([r["plot_id"], date_label(r["issued_on"], lang), date_label(r["valid_to"], lang),
                         r["severity"],
                         advice_text(r, lang), reason_text(r, lang), product_items(r, lang)])
    return buffer.getvalue().encode("utf-8-sig")
