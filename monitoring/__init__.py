"""monitoring: crop condition from satellite and drone imagery, and soil moisture and nutrition.

Planned (see docs/design.md): indices, cloud masks, per-plot statistics, poor-growth zones and alerts;
sensor QC, water balance, interpolated maps, irrigation and fertiliser advice. Not implemented yet.
"""
