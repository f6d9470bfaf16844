#!/usr/bin/env python3
"""Prints scipy.signal.windows.triang(M) for the window lengths the separator tests use: the
reference for `separation.crossfade = "triangular"` (Tests/InferenceTests/SeparationSettingsTests.swift)."""
import scipy.signal.windows

for m in (8, 25):
    print(m, ", ".join(repr(float(v)) for v in scipy.signal.windows.triang(m)))
