#!/usr/bin/env python3
"""Reference numbers for cnnsep's BSS Eval (SDR/SIR/SAR) from mir_eval.

Makes four deterministic source signals and several sets of estimates (perfect, scaled, delayed,
filtered, mixed with the other sources, noisy, and combinations), stores them as 16-bit FLAC files
(lossless, so Swift reads exactly the samples mir_eval saw), and writes mir_eval's
bss_eval_sources / bss_eval_sources_framewise results to a JSON fixture read by
Tests/AudioTests/MetricsTests.swift.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install mir_eval numpy scipy soundfile
    /tmp/venv/bin/python scripts/make_mir_eval_fixture.py Tests/AudioTests/Fixtures

With --benchmark DIR it instead writes a 30-second, 4-source reference/estimate pair of folders
(bass, drums, other, vocals .wav at 44.1 kHz) into DIR and times mir_eval on them, for BENCHMARKS.md.
"""
import argparse
import json
import math
import os
import time
import warnings

import mir_eval
import numpy as np
import scipy
import scipy.signal
import soundfile

SOURCES = ["bass", "drums", "other", "vocals"]
RATE = 8000
SECONDS = 3


def quantize(x):
    """Values a 16-bit file holds exactly: k / 32768, clipped to full scale."""
    return np.clip(np.round(np.asarray(x) * 32768), -32768, 32767) / 32768


def make_sources(rng, rate, seconds):
    n = rate * seconds
    t = np.arange(n) / rate
    bass = 0.4 * np.sin(2 * np.pi * 55 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t)) \
        + 0.2 * np.sin(2 * np.pi * 110 * t + 0.3)
    drums = np.zeros(n)
    for onset in range(0, n, rate // 4):
        length = min(rate // 5, n - onset)
        drums[onset:onset + length] += 0.6 * rng.standard_normal(length) * np.exp(-np.arange(length) / (rate * 0.03))
    chord = sum(np.sin(2 * np.pi * f * t + k) / (k + 1) for k, f in enumerate([261.6, 329.6, 392.0, 523.3]))
    other = 0.25 * chord * (0.5 + 0.5 * np.sin(2 * np.pi * 1.5 * t) ** 2)
    pitch = 220 * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    vocals = 0.3 * sum(np.sin(h * phase) / h for h in range(1, 6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t))
    sources = np.stack([bass, drums, other, vocals])
    # A little broadband noise in every source, as in real recordings (keeps the projection well posed).
    sources += 0.01 * rng.standard_normal(sources.shape)
    return quantize(sources)


def delayed(x, d):
    return np.concatenate([np.zeros(d), x[:len(x) - d]])


def estimate_sets(s, rng):
    n = s.shape[1]
    lowpass = scipy.signal.butter(2, 0.3)
    highpass = scipy.signal.butter(1, 0.05, btype="high")
    noise = lambda snr_db, x: x + rng.standard_normal(n) * np.sqrt(np.mean(x ** 2) / 10 ** (snr_db / 10))
    mixing = np.array([[1.0, 0.1, 0.05, 0.2],
                       [0.3, 1.0, 0.1, 0.05],
                       [0.05, 0.2, 0.8, 0.4],
                       [0.1, 0.05, 0.5, 1.0]])
    sets = {
        "perfect_scaled_delayed_fir": np.stack([
            s[0], 0.5 * s[1], delayed(s[2], 37), scipy.signal.lfilter([0.6, 0.3, 0.1], [1.0], s[3])]),
        "iir_long_delay_inverted": np.stack([
            scipy.signal.lfilter(*lowpass, s[0]), delayed(s[1], 700),
            scipy.signal.lfilter(*highpass, s[2]), -0.8 * s[3] + 0.01 * s[0]]),
        "mixed_with_others": mixing @ s,
        "noisy": np.stack([noise(snr, s[j]) for j, snr in enumerate([20, 10, 0, -5])]),
        "combined": np.stack([
            noise(15, scipy.signal.lfilter(*lowpass, s[0]) + 0.2 * s[1]),
            noise(5, delayed(s[1], 12) + 0.3 * s[3] - 0.1 * s[2]),
            noise(10, 0.7 * s[2] + 0.4 * s[3] + 0.2 * s[0]),
            noise(3, scipy.signal.lfilter([1.0, -0.5], [1.0], s[3]) + 0.25 * s[2])]),
    }
    return {name: quantize(e) for name, e in sets.items()}


# Sets derived from a stored one (not stored themselves; the Swift test derives them the same way).
SHUFFLE = [2, 0, 3, 1]        # "shuffled": combined[SHUFFLE], scored with the permutation search
SILENT_FRAMES = int(1.1 * RATE)  # "framewise": combined with source 3 silent for the first 1.1 s


def derived(name, combined):
    if name == "shuffled":
        return combined[SHUFFLE]
    est = combined.copy()
    est[3, :SILENT_FRAMES] = 0
    return est


def encode(value):
    """JSON has no NaN or infinity: null for NaN, strings for ±inf."""
    value = float(value)
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def write_fixture(folder):
    rng = np.random.default_rng(20170217)
    refs = make_sources(rng, RATE, SECONDS)
    sets = estimate_sets(refs, rng)
    os.makedirs(folder, exist_ok=True)
    soundfile.write(os.path.join(folder, "bss_references.flac"), refs.T, RATE, subtype="PCM_16")
    for name, est in sets.items():
        soundfile.write(os.path.join(folder, f"bss_{name}.flac"), est.T, RATE, subtype="PCM_16")
    # Score what the files hold (exactly the samples Swift will read).
    refs = soundfile.read(os.path.join(folder, "bss_references.flac"), dtype="float64")[0].T
    read = lambda name: soundfile.read(os.path.join(folder, f"bss_{name}.flac"), dtype="float64")[0].T
    cases = []
    for name in list(sets) + ["shuffled", "framewise"]:
        stored = name in sets
        est = read(name) if stored else derived(name, read("combined"))
        case = {"name": name, "estimates": f"bss_{name if stored else 'combined'}.flac"}
        if name == "shuffled":
            case["order"] = SHUFFLE
        if name == "framewise":
            case["silent_source"] = 3
            case["silent_frames"] = SILENT_FRAMES
        if name == "framewise":
            window, hop = 1.0, 0.5
            sdr, sir, sar, perm = mir_eval.separation.bss_eval_sources_framewise(
                refs, est, window=int(window * RATE), hop=int(hop * RATE), compute_permutation=False)
            case.update(window=window, hop=hop, permutation=False,
                        sdr=[[encode(v) for v in row] for row in sdr.T],
                        sir=[[encode(v) for v in row] for row in sir.T],
                        sar=[[encode(v) for v in row] for row in sar.T])
        else:
            search = name == "shuffled"
            sdr, sir, sar, perm = mir_eval.separation.bss_eval_sources(refs, est, compute_permutation=search)
            case.update(permutation=search, sdr=[encode(v) for v in sdr], sir=[encode(v) for v in sir],
                        sar=[encode(v) for v in sar], perm=[int(p) for p in perm])
        cases.append(case)
        print(name, case.get("sdr"))
    fixture = {
        "generator": "scripts/make_mir_eval_fixture.py",
        "mir_eval": mir_eval.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
        "sample_rate": RATE, "references": "bss_references.flac", "sources": SOURCES,
        "note": "framewise sdr/sir/sar are [window][source]; null is NaN (a silent window)",
        "cases": cases,
    }
    with open(os.path.join(folder, "mir_eval_bss.json"), "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")


def benchmark(folder):
    rate, seconds = 44100, 30
    rng = np.random.default_rng(7)
    refs = make_sources(rng, rate, seconds)
    est = quantize(np.array([[0.8, 0.1, 0.05, 0.1], [0.1, 0.9, 0.1, 0.05],
                             [0.1, 0.2, 0.7, 0.3], [0.05, 0.05, 0.3, 0.9]]) @ refs
                   + 0.02 * rng.standard_normal(refs.shape))
    for sub, data in [("reference", refs), ("estimate", est)]:
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
        for name, x in zip(SOURCES, data):
            soundfile.write(os.path.join(folder, sub, f"{name}.wav"), x, rate, subtype="PCM_16")
    refs = np.stack([soundfile.read(os.path.join(folder, "reference", f"{n}.wav"))[0] for n in SOURCES])
    est = np.stack([soundfile.read(os.path.join(folder, "estimate", f"{n}.wav"))[0] for n in SOURCES])
    start = time.perf_counter()
    sdr, sir, sar, _ = mir_eval.separation.bss_eval_sources(refs, est, compute_permutation=False)
    elapsed = time.perf_counter() - start
    print(json.dumps({"mir_eval_seconds": elapsed, "sdr": list(sdr), "sir": list(sir), "sar": list(sar)}))


if __name__ == "__main__":
    warnings.simplefilter("ignore", FutureWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", default="Tests/AudioTests/Fixtures")
    parser.add_argument("--benchmark", metavar="DIR", help="write a 30 s pair of stem folders and time mir_eval")
    args = parser.parse_args()
    if args.benchmark:
        benchmark(args.benchmark)
    else:
        write_fixture(args.folder)
