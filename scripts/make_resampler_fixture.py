#!/usr/bin/env python3
"""Reference conversions for cnnsep's resampler quality test, from scipy.signal.resample_poly.

For each rate pair the test uses (48000→44100, 44100→48000, 8000→44100, 44100→8000) it defines a
0.25-second passband multitone (8 sines from 0.02 to 0.9 of the lower Nyquist frequency) under a
sin⁸ taper, and, for the downward pairs, single tones above the target Nyquist frequency (they must
vanish). The signal is continuous-time,

    s(t) = sin⁸(π t / T) · Σ_k a_k sin(2π f_k t + φ_k),   0 ≤ t < T,

sampled at t = n / rate; the sin⁸ taper starts and ends smoothly and spreads a tone by less than
-150 dB beyond 13 frequency bins, so the sampled signal is band-limited to test precision and the
ideal conversion is s(m / to). Tests/AudioTests/ResamplerQualityTests.swift builds the same inputs
from the JSON and compares cnnsep's conversion with the reference written here.

The reference is resample_poly with a Kaiser-window FIR designed here (flat to 0.93 of the lower
Nyquist frequency, 180 dB down from 1.0 of it), not scipy's default filter (Kaiser β = 5, about
-50 dB, half-way down at Nyquist). The script checks the reference against s(m / to) and records
that error in the JSON.

    python3 scripts/make_resampler_fixture.py Tests/AudioTests/Fixtures
"""
import argparse
import json
import math
import os
from fractions import Fraction

import numpy as np
import scipy
import scipy.io.wavfile
import scipy.signal

SECONDS = 0.25
PAIRS = [(48000, 44100), (44100, 48000), (8000, 44100), (44100, 8000)]
PASSBAND = [0.02, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9]      # fractions of the lower Nyquist frequency
STOPBAND = [1.01, 1.03, 1.06, 1.5, 2.5, 4.0, 5.4]          # fractions of the target Nyquist frequency
AMPLITUDE = 0.1


def signal(tones, rate, count):
    """s(n / rate) for n < count, in float64."""
    t = np.arange(count) / rate
    taper = np.sin(np.pi * t / SECONDS) ** 8
    return taper * sum(a * np.sin(2 * np.pi * f * t + p) for f, a, p in tones)


def reference_filter(up, down, rate_in, lower_nyquist):
    """Unit-DC-gain low-pass FIR at rate_in·up: passband to 0.93, stopband from 1.0 of lower_nyquist."""
    fast = rate_in * up
    attenuation = 180.0
    width = 0.07 * lower_nyquist
    taps, beta = scipy.signal.kaiserord(attenuation, width / (fast / 2))
    taps |= 1                                  # odd length: resample_poly removes its delay exactly
    h = scipy.signal.firwin(taps, 0.965 * lower_nyquist, window=("kaiser", beta), fs=fast)
    return h


def db(error, reference):
    return 20 * math.log10(max(np.sqrt(np.mean(error ** 2)), 1e-300) / np.sqrt(np.mean(reference ** 2)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", help="where resampler_reference.json and the WAV files go")
    folder = parser.parse_args().folder
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(2017)
    cases = []
    for rate_in, rate_out in PAIRS:
        ratio = Fraction(rate_out, rate_in)
        up, down = ratio.numerator, ratio.denominator
        lower = min(rate_in, rate_out) / 2
        count_in, count_out = round(rate_in * SECONDS), round(rate_out * SECONDS)
        tones = [(x * lower, AMPLITUDE, float(rng.uniform(0, 2 * np.pi))) for x in PASSBAND]
        # The input exactly as the Swift test makes it: float32 samples.
        x = signal(tones, rate_in, count_in).astype(np.float32).astype(np.float64)
        h = reference_filter(up, down, rate_in, lower)
        y = scipy.signal.resample_poly(x, up, down, window=h)
        assert len(y) == count_out, (len(y), count_out)
        ideal = signal(tones, rate_out, count_out)
        name = f"resampler_{rate_in}_{rate_out}.wav"
        scipy.io.wavfile.write(os.path.join(folder, name), rate_out, y.astype(np.float32))
        case = {
            "from": rate_in, "to": rate_out,
            "passband_tones": [{"frequency": f, "amplitude": a, "phase": p} for f, a, p in tones],
            "reference": name,
            "reference_taps": len(h),
            "reference_error_db": round(db(y.astype(np.float32) - ideal, ideal), 1),
        }
        if rate_out < rate_in:
            case["stopband_tones"] = [{"frequency": x * rate_out / 2, "amplitude": AMPLITUDE, "phase": 0.0}
                                      for x in STOPBAND if x * rate_out / 2 < 0.98 * rate_in / 2]
        cases.append(case)
        print(f"{rate_in} -> {rate_out}: {len(h)} taps, reference vs ideal {case['reference_error_db']} dB")
    fixture = {
        "generator": "scripts/make_resampler_fixture.py",
        "scipy": scipy.__version__, "numpy": np.__version__,
        "seconds": SECONDS,
        "signal": "s(t) = sin^8(pi t / seconds) * sum_k amplitude_k sin(2 pi frequency_k t + phase_k), sampled at t = n / rate, "
                  "rounded to float32; each stopband tone is its own signal",
        "reference": "scipy.signal.resample_poly(x, up, down, window=h), h a Kaiser FIR flat to 0.93 and 180 dB down "
                     "from 1.0 of the lower Nyquist frequency; float32 WAV at the target rate",
        "cases": cases,
    }
    with open(os.path.join(folder, "resampler_reference.json"), "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
