"""Weather readers: station CSV (with column mappings and presets), NetCDF, Open-Meteo JSON."""
