"""pests: weather-driven risk of citrus black spot, canker, citrus red mite and citrus leafminer.

Engines (``degree_days``, ``wetness``, ``infection``, ``population``), one module per pest, the orchestrator
``pests.model.run``, outlooks at 15 days / 1 month / 3 months (``pests.outlook.outlook``, ``risk_calendar``)
and spray timing signals (``pests.spray.spray_signals``). See docs/pests.md.
"""
