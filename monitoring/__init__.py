"""monitoring: crop condition from satellite and drone imagery, and soil moisture and nutrition.

Imagery (see docs/monitoring.md): ``imagery`` (readers, reflectance, cloud masks), ``indices``, ``zonal``
(per-plot statistics with exactextract), ``series`` (smoothing, seasonal baseline), ``anomalies``
(poor-growth signals, zones, exports) and ``run`` (the orchestrator). Soil: ``monitoring.soil``.
"""
