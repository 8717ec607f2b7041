"""Parameter texts for the agronomist pages in Chinese: units, sections and descriptions.

The parameter files (``*/parameters/*.toml``) carry their units, descriptions and sources in English, for
the code and the science notes. A Chinese page shows each parameter's key as it is (the code the files and
the CLI use), its unit and its section (the key's first part: ``bloom`` in ``bloom.required_gdd``) from this
catalogue, and its description where this catalogue has one (the weather set, the cultivar sets, the slope
set, the pest sets and their outlook; the soil, imagery and advice sets' descriptions still show in English).
Sources are citations and stay as written.

Kept as data apart from i18n_staff.py: these texts follow the parameter files, not the pages, and a test
checks them against the files (every unit and section of every set, every description of the sets covered).
"""

from __future__ import annotations

from orchard.params import DISTRICT_SEPARATOR

#: Units of the parameter files, in Chinese (the same symbol where Chinese writes it so: °C, %, CO₂).
UNITS_ZH = {
    "%": "%",
    "% h-1": "%/小时",
    "% per dS m-1": "%/(dS/m)",
    "(kg CO2/ha/h)/(J/m2/s)": "(千克 CO₂/公顷/小时)/(焦/平方米/秒)",
    "1": "无量纲",
    "1/(30 d)": "每 30 天",
    "1/(d degC)": "1/(天·°C)",
    "1/(degC d)": "1/(°C·天)",
    "1/d": "每天",
    "1/mm": "每毫米",
    "Brix": "°Brix（糖度）",
    "Brix/(degC d)": "°Brix/(°C·天)",
    "Brix/(degC d)^2": "°Brix/(°C·天)²",
    "Brix/degC": "°Brix/°C",
    "CNY/ha": "元/公顷",
    "L": "升",
    "L/mu": "升/亩",
    "W m-2": "瓦/平方米",
    "d": "天",
    "dS m-1": "分西门子/米",
    "dS m-1 h-1": "分西门子/米/小时",
    "deg": "度",
    "degC": "°C",
    "degC d": "°C·天（积温）",
    "degC h-1": "°C/小时",
    "degC-1": "1/°C",
    "degC/(MJ m-2 d-1)": "°C/(兆焦/平方米/天)",
    "degC/100m": "°C/100 米",
    "degree": "度",
    "doy": "年内第几天",
    "h": "小时",
    "h-1": "每小时",
    "kPa": "千帕",
    "kg CO2/ha/d": "千克 CO₂/公顷/天",
    "kg CO2/ha/h": "千克 CO₂/公顷/小时",
    "kg Cu/ha/yr": "千克铜/公顷/年",
    "kg ha-1": "千克/公顷",
    "kg t-1": "千克/吨",
    "kgC/kg": "千克碳/千克",
    "kgCO2e/kg": "千克 CO₂ 当量/千克",
    "kgCO2e/kgN2O": "千克 CO₂ 当量/千克 N₂O",
    "kgN/kgN": "千克氮/千克氮",
    "kgN2O-N/kgN": "千克 N₂O-N/千克氮",
    "leaves": "片叶",
    "m": "米",
    "m s-1": "米/秒",
    "m/s": "米/秒",
    "m2/m2": "平方米/平方米",
    "m3 m-3": "立方米/立方米（体积含水量）",
    "mg kg-1": "毫克/千克",
    "mites/leaf": "头/叶（螨）",
    "mm": "毫米",
    "mm/d": "毫米/天",
    "mm/h": "毫米/小时",
    "month": "月",
    "obs": "次观测",
    "plots": "块地",
    "predators/leaf": "头/叶（天敌）",
    "px": "像素",
    "t/ha": "吨/公顷",
    "years": "年",
    "yr": "年",
}

#: Sections of the parameter files (the first part of a key), in Chinese.
SECTIONS_ZH = {
    "action": "防治指标", "alert": "预警", "application": "施用", "baseline": "基线", "bloom": "开花",
    "calendar": "常规历表防治", "carbon": "碳同化与呼吸", "classes": "分类", "climatology": "历年气候",
    "colour": "果皮转色", "copper": "铜制剂", "curative": "治疗性用药", "decision": "用药决策",
    "defaults": "默认值", "depletion": "土壤水分亏缺", "development": "发育", "elevation": "海拔订正",
    "event": "侵染事件", "exposure": "暴露", "flush": "抽梢", "fruit": "果实", "gap": "数据缺口",
    "gaps": "缺测插补", "growth": "种群增长", "harvest": "采收", "horizon": "预报时段", "host": "寄主",
    "induction": "花芽诱导", "infection": "侵染", "inoculum": "菌源", "irrigation": "灌溉",
    "ismn": "ISMN 质控标记", "kc": "作物系数", "level": "风险等级", "manufacture": "生产排放",
    "mask": "掩膜", "maturity": "成熟", "members": "集合成员", "missed": "漏喷", "mortality": "死亡率",
    "n2o": "氧化亚氮排放", "nitrogen": "氮素", "observed": "实测", "options": "选项", "persist": "持续异常",
    "ph": "酸碱度", "plots": "地块", "population": "种群", "predator": "天敌", "quality": "果实品质",
    "radiation": "辐射", "range": "取值范围", "residual": "残效", "rotation": "轮换用药", "runoff": "径流",
    "salinity": "盐分", "score": "风险评分", "scout": "田间调查", "season": "季节", "series": "时间序列",
    "spray": "喷药", "step": "突变", "suitability": "适宜度", "suppression": "抑制", "temperature": "温度",
    "terrain": "地形", "thermal": "积温", "tz": "时区", "urea": "尿素", "washoff": "雨水冲刷",
    "water": "水分", "wetness": "叶面湿润", "wind": "风",
}

#: Descriptions in Chinese, per family of sets (every cultivar set has the same parameters) and key.
DESCRIPTIONS_ZH = {
    "weather": {
        "elevation.lapse_rate": "气温随海拔升高而降低的速率，用于把气象站气温订正到地块海拔；可填 12 个月值"
                                "（1 月起），以表示冬季逆温",
        "radiation.angstrom_a": "Ångström 系数 a_s：阴天时到达地面的地外辐射比例（Rs = (a_s + b_s n/N) Ra）",
        "radiation.angstrom_b": "Ångström 系数 b_s：晴天时额外到达地面的地外辐射比例（晴天为 a_s + b_s）",
        "gaps.max_fill_days": "日值序列中用插值补齐的最长连续缺测天数；更长的缺测保留为缺测并报告",
        "gaps.max_fill_hours": "小时序列中用插值补齐的最长连续缺测小时数；更长的缺测保留为缺测并报告",
        "terrain.horizon_search_distance": "在数字高程模型中搜索遮挡地块地平线的地形的距离",
        "terrain.observer_height": "计算地平线时的离地高度，近似柑橘树冠高度",
        "wind.measurement_height": "气象站风速计的离地高度，用于把风速换算到 2 米高度（FAO-56 式 47）",
    },
    "growth.cultivar": {
        "thermal.base_temperature": "柑橘积温（生长度日）的基点温度",
        "thermal.upper_temperature": "柑橘发育不再加快的上限温度（高于此值的最高温按此值计）",
        "thermal.method": "积温算法：1 将日平均温截在 [Tb, Tu]；2 截最高温和最低温；3 截最高温及最低温的上端",
        "induction.threshold_temperature": "低于此温度的小时数计为花芽诱导时数",
        "induction.required_hours": "满花所需的诱导时数（上年结果多时）；开花强度按达到的比例报告",
        "induction.start_doy": "开始累计诱导时数的年内日序（10 月 1 日），此时天气转凉、新梢停长",
        "induction.trigger_tmax": "诱导足够后，触发花芽萌动的暖天最高温",
        "induction.trigger_days": "诱导足够后，触发花芽萌动的连续暖天天数（最高温 ≥ trigger_tmax）",
        "induction.band_low_temperature": "决定开花强度的温度区间下限",
        "induction.band_high_temperature": "决定开花强度的温度区间上限",
        "induction.band_half_hours": "开花强度响应 1 - exp(-H/H50) 中的 H50（11 月至次年 1 月在该温度区间内的"
                                     "小时数）",
        "induction.reference_intensity": "正常年份的开花强度（相对负载量 = 开花强度 / 此值 × 坐果修正）",
        "bloom.start_doy": "开始累计盛花积温的年内日序（2 月 1 日，立春）",
        "bloom.required_gdd": "从 bloom.start_doy 到盛花、高于 bloom.base_temperature 的积温（F*）",
        "bloom.base_temperature": "驱动开花的日平均温积温的基点温度",
        "bloom.bud_break_days": "从春季萌芽（春梢）到盛花的天数",
        "flush.interval_gdd": "相邻两批夏梢（及幼树梢）开始之间的积温（基点温度为 thermal.base_temperature）",
        "flush.duration_days": "夏梢、秋梢抽出后保持幼嫩（易受病虫危害）的天数",
        "flush.last_start_doy": "新梢最晚可开始抽出的年内日序（幼树晚秋梢；11 月起不再抽梢）",
        "flush.spring_duration_days": "春梢萌芽后保持幼嫩的天数",
        "flush.spring_earliest_doy": "春季萌芽（春梢）最早的年内日序",
        "flush.summer_flushes": "结果树的夏梢批数（果农会抹除大部分夏梢）",
        "flush.autumn_start_doy": "放秋梢开始的年内日序（结果树和幼树）",
        "flush.young_tree_years": "树龄（按地块定植年份）小于此值的幼树多抽一次夏梢和一次晚秋梢",
        "fruit.petal_fall_gdd": "从盛花到谢花的积温（果实黑斑病易感期由此开始）",
        "fruit.cell_division_gdd": "从盛花到第一阶段（细胞分裂）结束、生理落果结束的积温",
        "fruit.set_fraction": "碳和水分不受限时，坐果并能采收的花的比例",
        "fruit.set_compensation": "c：坐果率按 (开花强度 / 参考值)^-c 变化（花多则坐果率低）",
        "fruit.initial_diameter": "四参数逻辑斯蒂果径曲线的下渐近线 D0",
        "fruit.final_diameter": "果径曲线的上渐近线 Dmax（无胁迫时的最终果径）",
        "fruit.growth_rate": "果径逻辑斯蒂曲线按盛花后积温计的相对速率 r",
        "fruit.midpoint_gdd": "果径曲线拐点（膨大最快）时的盛花后积温",
        "fruit.load_sensitivity": "负载因子 1 - a_L (N/Nref - 1) 中的 a_L，限定在 [0.85, 1.10]",
        "fruit.size_water_sensitivity": "坐果后每个缺水日造成的最终果径损失：(1 - Ks) 按 (4 L (1 - L))^2 加权累加，"
                                        "L 为果实生长曲线的逻辑斯蒂比例（膨大最快时权重最大）",
        "fruit.size_heat_sensitivity": "每个高温日（最高温 ≥ 35、平均温 ≥ 30 或最低温 ≥ 24 °C）造成的最终果径损失，"
                                       "加权方式同缺水日",
        "fruit.size_carbon_exponent": "碳因子 C^b 中的 b（C：第一、二阶段果实碳需求得到满足的平均比例）",
        "fruit.water_sensitivity": "果实膨大对水分胁迫的敏感度 s：膨大速率乘以 1 - s (1 - Ks)",
        "quality.base_temperature": "驱动糖分积累和酸降解的积温基点温度",
        "quality.tss_intercept": "TSS = a0 + a1 tau + a2 tau^2 中的 a0（tau：盛花后品质积温）",
        "quality.tss_slope": "TSS 二次式中的 a1",
        "quality.tss_curvature": "TSS 二次式中的 a2（< 0）；过顶点后 TSS 保持最大值",
        "quality.acid_initial": "TA0：盛花时的可滴定酸，TA = TAfloor + (TA0 - TAfloor) exp(-∑k(T))",
        "quality.acid_final": "TAfloor：果实留树时酸度趋近的值",
        "quality.acid_rate_15c": "k15：15 °C 时酸的日相对降解速率",
        "quality.acid_q10": "酸降解速率的 Q10",
        "quality.fruit_radiation_warming": "每单位日总辐射使果实温度高出日平均气温的幅度（酸分解时的温度）",
        "quality.tss_window_start_doy": "秋季温度窗口（其平均温影响 TSS）开始的年内日序",
        "quality.tss_window_days": "秋季温度窗口的长度（9–10 月）",
        "quality.tss_temperature_ref": "秋季窗口的参考平均温度（此时 TSS 不增不减）",
        "quality.tss_temperature_coef": "b_T：秋季窗口平均温每高出参考值 1 °C 时 TSS 的变化",
        "quality.tss_rain_start_doy": "稀释 TSS 的降雨窗口开始的年内日序（10 月）",
        "quality.tss_rain_days": "降雨窗口的长度",
        "quality.tss_rain_ref": "降雨窗口的参考雨量（此时 TSS 不增不减）",
        "quality.tss_rain_coef": "b_R：窗口雨量每高出参考值 100 毫米时 TSS 的变化（减去）",
        "quality.concentration_water": "果实第一、二阶段每个缺水日使 TSS 和 TA 同时升高的量（糖酸比不变）",
        "quality.concentration_size": "最终果径每单位相对损失使 TSS 和 TA 升高的量（果小，稀释少）",
        "maturity.ratio_required": "果实可采收时的 TSS/TA 糖酸比（R*）",
        "maturity.tss_required": "采收成熟所需的最低 TSS（S*），与糖酸比一起判断",
        "maturity.acid_max": "采收成熟时的最高 TA（TA*），与糖酸比和 TSS 一起判断",
        "maturity.min_days_after_bloom": "采收成熟的最小果龄（盛花后天数）",
        "maturity.window_days": "判断成熟时，糖酸比、TSS 和 TA 取平均的滑动窗口天数",
        "colour.night_temperature": "夜间（最低）温度低于此值时果皮开始褪绿（转色）",
        "colour.cool_sum_required": "自果实第三阶段开始，凉夜的 (night_temperature - Tmin) 累计达到此值时转色",
        "carbon.amax": "最适温度下叶片光饱和总同化速率（AMAX）",
        "carbon.light_use_efficiency": "叶片光响应曲线按吸收的光合有效辐射计的初始斜率（epsilon）",
        "carbon.extinction_coefficient": "冠层内光合有效辐射的消光系数 k（比尔定律）",
        "carbon.leaf_area_index": "树冠叶面积指数（按树冠投影面积计）",
        "carbon.par_fraction": "总辐射中光合有效辐射所占的比例",
        "carbon.temperature_min": "叶片同化停止的最低温度（梯形温度响应）",
        "carbon.temperature_opt_low": "叶片同化最适温度平台的下限",
        "carbon.temperature_opt_high": "叶片同化最适温度平台的上限",
        "carbon.temperature_max": "叶片同化停止的最高温度",
        "carbon.q10": "维持呼吸的 Q10",
        "carbon.maintenance_25": "满覆盖成年果园 25 °C 时的维持呼吸（按树冠覆盖度缩放）",
        "carbon.growth_demand": "满覆盖果园在果实膨大高峰时生长（果实及枝梢、根系）的碳需求",
        "carbon.demand_base_fraction": "与果实阶段无关、始终存在的生长需求所占比例（枝梢、根系、储备）",
        "carbon.sufficient_ratio": "碳供需比（7 天平均）达到此值及以上时，碳不限制果实生长和坐果",
        "water.assimilation_sensitivity": "同化对水分胁迫的敏感度：乘以 1 - s (1 - Ks)，Ks 来自土壤水分平衡",
        "nitrogen.assimilation_sensitivity": "同化对氮素状况指数 N（0–1）的敏感度：乘以 1 - s (1 - N)",
    },
    "black_spot": {
        "infection.tmin": "侵染的最低温度（Magarey 模型 Tmin）",
        "infection.topt": "侵染的最适温度（Magarey 模型 Topt）",
        "infection.tmax": "侵染的最高温度（Magarey 模型 Tmax）；夏季高温使侵染停止",
        "infection.wmin": "最适温度下侵染所需的叶面湿润时数（Magarey 模型 Wmin）",
        "infection.wmax": "有效湿润期的最长时数；超过后不再增加侵染（Magarey 模型 Wmax）",
        "infection.d50": "湿润期可以承受的干燥中断时长（临界干燥时长 D50）",
        "inoculum.biofix_doy": "开始累计子囊孢子积温 DDtemp 的年内日序（隆冬）",
        "inoculum.base_temperature": "DDtemp 的基点温度：自起算日累计 max(0, 日平均温 - 基点温度)",
        "inoculum.onset_intercept": "Gompertz 释放起始模型 Event = exp(-exp(-(a + b DDtemp))) 的截距 a",
        "inoculum.onset_slope": "Gompertz 释放起始模型对 DDtemp 的斜率 b",
        "inoculum.pycnidiospore_level": "晚熟带中挂树带病旧果上雨溅传播的分生孢子所维持的菌源下限",
        "host.susceptible_days": "谢花后果实易感的天数",
        "host.full_days": "谢花后果实完全易感的天数；之后到易感期结束按 host.late_weight 加权",
        "host.late_weight": "谢花后 host.full_days 到 host.susceptible_days 之间的果实易感度",
        "host.susceptible_threshold": "果实易感度（0–1）高于此值时侵染事件才计入",
        "score.reference_events_per_30d": "每 30 天加权侵染事件的参考数，达到时风险评分的强度部分为一半",
        "spray.curative_window_days": "侵染事件后治疗性（内吸）杀菌剂仍然有效的天数",
        "spray.protect_probability": "未来 15 天发生侵染事件的概率高于此值时，建议喷保护性药剂",
    },
    "canker": {
        "event.rain_min_hourly": "能溅散细菌的小时雨量（小时气象）",
        "event.rain_min_daily": "能溅散细菌的日雨量（日气象）",
        "event.tmin": "侵染所需湿润期平均温度的下限",
        "event.tmax": "侵染所需湿润期平均温度的上限",
        "event.wet_min": "侵染所需的叶面湿润时数",
        "event.wind_threshold": "降雨时风速达到此值，风雨会把细菌压入气孔",
        "event.wind_multiplier": "风速超过阈值的事件的权重（16 米/秒风雨下发病率加倍）",
        "event.leafminer_multiplier": "新梢上潜叶蛾压力最大时事件的权重（随压力 0–1 线性变化）",
        "event.symptom_delay": "从侵染到出现可见病斑的天数（用于田间调查建议）",
        "exposure.rain_wind_from_deg": "带雨风的来向（西南偏南，东亚夏季风），用于地块暴露度中的迎风坡项",
        "exposure.windward_gain": "地块暴露度 SVF × (1 + g sin(坡度) cos(坡向 - 风向)) 中迎风坡项的增益 g",
        "host.leaf_start_d": "新梢抽出后嫩叶开始易感的天数（气孔形成、张开）",
        "host.leaf_end_d": "新梢抽出后叶片仍易感的最后一天",
        "host.fruit_start_d": "谢花后果实开始易感溃疡病的天数",
        "host.fruit_end_d": "谢花后果实仍易感溃疡病的最后一天（佛罗里达：果径超过 38 毫米后抗病）",
        "host.flush_threshold": "新梢比例（0–1）高于此值时嫩梢易感",
        "score.reference_events_per_30d": "每 30 天加权事件的参考数，达到时风险评分的强度部分为一半",
        "spray.protect_probability": "未来 15 天发生侵染事件的概率高于此值时，建议雨前喷铜制剂保护",
    },
    "host": {
        "fruit.petal_fall_doy": "谢花的年内日序（5 月 5 日），果实开始易感黑斑病",
        "flush.start_doy": "结果树春梢、夏梢、秋梢的抽出日（3 月 16 日、6 月 4 日、8 月 3 日）；11 月至 2 月不抽梢",
        "flush.end_doy": "春梢、夏梢、秋梢停止伸长的日期（4 月 25 日、7 月 9 日、9 月 7 日）：每次 35–40 天",
        "flush.weight": "每次历表新梢占树冠的比例（结果树的夏梢大多被抹除）",
        "flush.age_keep_days": "历表新梢停长后仍计其梢龄的天数（叶片在抽出后 55 天内仍易感溃疡病）",
    },
    "leaf_miner": {
        "development.t0": "发育起点温度",
        "development.k": "完成一代所需的积温（单正弦法，水平截断）",
        "development.upper": "积温计算的上限温度（水平截断）",
        "suitability.tmin": "日平均温度低于或等于此值时成虫不产卵",
        "suitability.topt": "产卵量最高的温度",
        "suitability.tmax": "日平均温度高于或等于此值时成虫不产卵",
        "host.flush_threshold": "新梢比例高于此值时有可供产卵的嫩叶",
        "host.young_flush_d": "新梢抽出后叶片仍嫩、可供产卵的天数（叶长约 3 厘米以内）",
        "population.half_generations": "自 1 月 1 日起成虫种群达到夏季水平一半时的世代数（越冬种群小，春梢受害轻）",
        "population.spread_generations": "自 1 月 1 日起按世代计的成虫压力逻辑斯蒂上升的宽度",
        "event.min_pressure": "压力（嫩梢 × 产卵适宜度 × 成虫积累）达到此值时，完成的一代计为一次事件",
        "score.reference_generations_per_30d": "每 30 天按新梢加权的世代参考数，达到时评分的强度部分为一半",
        "spray.protect_probability": "未来 15 天新梢上出现新一代的概率高于此值时，建议保护新梢",
    },
    "mites": {
        "development.t0": "卵到成螨发育的起点温度",
        "development.k": "卵到成螨（一代）所需积温（单正弦法，水平截断）",
        "development.upper": "积温计算的上限温度（水平截断）",
        "growth.rm_opt": "最适温度下的内禀增长率",
        "growth.topt": "内禀增长率最高的温度",
        "growth.tmax": "增长率降为零的温度",
        "growth.dry_rh": "日平均相对湿度低于此值时，干燥天气有利于螨类",
        "growth.dry_boost": "干燥日增长率的放大倍数",
        "growth.cap": "逻辑斯蒂增长趋于平稳时的密度",
        "growth.initial": "没有调查数时，重新起算日（2 月 28 日）的密度",
        "growth.biofix_doy": "没有调查数时，种群从越冬密度重新起算的年内日序（2 月 28 日）",
        "growth.mortality": "背景日死亡率（捕食螨、食螨瓢虫等天敌及天气），凉爽天气时种群下降",
        "growth.floor": "模型允许种群降到的最低密度（来自绿篱和未防治树的迁入）",
        "growth.t10_stop": "10 天平均温度达到此值时螨类停止增长（rm 取 0，死亡继续）",
        "suppression.rain_10d": "10 天雨量超过此值时种群急剧下降",
        "suppression.rain_factor": "大雨日的日存活率",
        "action.threshold": "防治指标：平均每叶红蜘蛛或黄蜘蛛头数",
        "spray.protect_probability": "未来 15 天超过防治指标的概率高于此值时，建议调查并喷杀螨剂",
        "mortality.heat_tmax": "日最高温高于此值后，活动螨的高温死亡率随每升高一度而增加",
        "mortality.heat_rate": "最高温每高出 mortality.heat_tmax 一度的高温死亡率（最高温 35 °C 时每天 0.2）",
        "mortality.cold_tmean": "日平均温低于此值后，活动螨的低温死亡率随每降低一度而增加",
        "mortality.cold_rate": "日平均温每低于 mortality.cold_tmean 一度的低温死亡率",
        "washoff.start_mm": "日雨量低于此值时活动螨不被冲刷",
        "washoff.per_mm": "日雨量每超过 washoff.start_mm 一毫米的冲刷率：存活率 exp(-rate (P - start))；30 毫米时存活 0.47",
        "predator.initial": "重新起算日（2 月 28 日）每叶捕食螨和食螨瓢虫数：背景水平，春季天敌滞后于害螨",
        "predator.attack": "饱和时每头天敌每天捕食的螨数",
        "predator.half_saturation": "天敌捕食量达到最大值一半时的害螨密度（Holling II 型）",
        "predator.efficiency": "每捕食一头害螨产生的天敌数（数值反应）",
        "predator.death": "天敌的日死亡率",
        "predator.floor": "从生草和绿篱迁入的背景天敌数，即天敌的最低密度",
    },
    "outlook": {
        "score.probability_weight": "风险评分中概率所占的权重（其余为预期强度）",
        "level.bounds": "1 级（轻）到 4 级（偏重）的评分上限；最后一个界限以上为 5 级（大发生）",
        "level.percentiles": "模型自身每周风险评分（寄主易感周，3–11 月）的百分位数，pests/calibrate_classes.py "
                             "以此作为 2–5 级的界限：约 20 % 的周为 4 级及以上，约 5 % 为 5 级",
        "level.black_spot_15d": "柑橘黑斑病未来 15 天预报 2–5 级的评分界限",
        "level.black_spot_1m": "柑橘黑斑病未来 1 个月预报 2–5 级的评分界限",
        "level.black_spot_3m": "柑橘黑斑病未来 3 个月预报 2–5 级的评分界限",
        "level.canker_15d": "柑橘溃疡病未来 15 天预报 2–5 级的评分界限",
        "level.canker_1m": "柑橘溃疡病未来 1 个月预报 2–5 级的评分界限",
        "level.canker_3m": "柑橘溃疡病未来 3 个月预报 2–5 级的评分界限",
        "level.mites_15d": "柑橘红蜘蛛未来 15 天预报 2–5 级的评分界限",
        "level.mites_1m": "柑橘红蜘蛛未来 1 个月预报 2–5 级的评分界限",
        "level.mites_3m": "柑橘红蜘蛛未来 3 个月预报 2–5 级的评分界限",
        "level.leaf_miner_15d": "柑橘潜叶蛾未来 15 天预报 2–5 级的评分界限",
        "level.leaf_miner_1m": "柑橘潜叶蛾未来 1 个月预报 2–5 级的评分界限",
        "level.leaf_miner_3m": "柑橘潜叶蛾未来 3 个月预报 2–5 级的评分界限",
        "horizon.days": "未来 15 天、1 个月和 3 个月预报时段的长度，从发布日的次日起算",
        "climatology.min_years": "用作气候成员所需的最少历史年数",
        "climatology.max_years": "用作气候成员的最近历史年数上限",
        "observed.max_missing_days": "发布日前允许缺少实测气象的天数（用历年气候补齐，并在结果中注明）",
        "wetness.rh_threshold": "相对湿度达到此值时，该小时计为湿润",
        "wetness.rain_intensity": "把日雨量换算为湿润时数所用的降雨强度（日气象）",
    },
    "growth.slope": {
        "temperature.c_t": "坡面比平地每多得单位日辐射时日最高气温的升高：dTmax = c_t × (H_slope - H_flat)"
                           "（假设值，待校准）",
        "temperature.tmin_fraction": "日最低温偏移占最高温偏移的比例：dTmin = tmin_fraction × dTmax（假设值，待校准）",
        "radiation.albedo": "把辐射反射到倾斜地块上的地面及周围地形的反照率",
        "radiation.transposition_model": "天空散射辐射换算模型（参数值须为数字，故用代码）：0 各向同性（Liu & "
                                         "Jordan），1 Hay-Davies（默认），2 Perez 1990",
    },
}


def family(set_name: str, kind: str | None = None) -> str:
    """The family whose descriptions a set shares: every cultivar set (``kind="cultivar"``, district
    variants included) is ``growth.cultivar``; any other set is its own name without a district."""
    return "growth.cultivar" if kind == "cultivar" else set_name.split(DISTRICT_SEPARATOR, 1)[0]


def unit_text(unit: str, lang: str) -> str:
    """A parameter's unit for the reader (the file's symbol in English, or when the catalogue lacks it)."""
    if lang != "zh-CN":
        return unit
    return UNITS_ZH.get(unit, unit)


def section_text(key: str, lang: str) -> str:
    """The section of a parameter key (``bloom`` of ``bloom.required_gdd``) for the reader."""
    section = key.split(".", 1)[0]
    if lang != "zh-CN":
        return section
    return SECTIONS_ZH.get(section, section)


def description_text(set_name: str, kind: str | None, key: str, description: str, lang: str) -> str:
    """A parameter's description for the reader: the file's English, or the catalogue's Chinese where it has
    one for the set's family."""
    if lang != "zh-CN":
        return description
    return DESCRIPTIONS_ZH.get(family(set_name, kind), {}).get(key, description)
