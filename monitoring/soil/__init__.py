"""Soil moisture and nutrition: sensor and station ingest, quality control, water balance, maps and advice."""
