"""pests: weather-driven risk of citrus black spot, canker, spider mites and leaf miner.

Planned (see docs/design.md): degree days, leaf wetness, infection and population models, 15-day / 1-month /
3-month outlooks in 5 classes, weekly risk maps and an image library. Not implemented yet.
"""
