#!/usr/bin/env python3
"""Listening-free sanity check of a DSD100-layout dataset (e.g. `cnnsep synth --realistic`).

For every song and stem: RMS (dBFS, over the whole song), spectral centroid (Hz, energy-weighted over
the whole song), and the share of one-second blocks in which the stem is silent (RMS below -60 dBFS);
also whether the mixture equals the integer sum of the four stems. Prints per-stem ranges.

    python3 scripts/dataset_stats.py Data/demo-realistic [--split Dev]
"""
import argparse
import os
import sys

import numpy as np
from scipy.io import wavfile

STEMS = ["bass", "drums", "other", "vocals"]


def read(path):
    rate, x = wavfile.read(path)
    if x.dtype != np.int16 or x.ndim != 2 or x.shape[1] != 2 or rate != 44100:
        sys.exit(f"{path}: expected 16-bit stereo 44.1 kHz, got {x.dtype} {x.shape} {rate} Hz")
    return x.astype(np.int64)


def centroid(mono, rate=44100, n=2048):
    frames = len(mono) // n
    spectrum = np.abs(np.fft.rfft(mono[: frames * n].reshape(frames, n) * np.hanning(n), axis=1)) ** 2
    energy = spectrum.sum(axis=0)
    hz = np.fft.rfftfreq(n, 1 / rate)
    return float((energy * hz).sum() / max(energy.sum(), 1e-30))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--split", default="Dev")
    args = parser.parse_args()
    songs = sorted(os.listdir(os.path.join(args.root, "Sources", args.split)))
    rows = {s: [] for s in STEMS}
    exact = 0
    for song in songs:
        stems = [read(os.path.join(args.root, "Sources", args.split, song, f"{s}.wav")) for s in STEMS]
        mixture = read(os.path.join(args.root, "Mixtures", args.split, song, "mixture.wav"))
        exact += int(np.array_equal(mixture, sum(stems)))
        for name, x in zip(STEMS, stems):
            y = x / 32768.0
            rms = np.sqrt((y ** 2).mean())
            blocks = len(y) // 44100
            block_rms = np.sqrt((y[: blocks * 44100].reshape(blocks, -1) ** 2).mean(axis=1))
            rows[name].append((20 * np.log10(max(rms, 1e-12)), centroid(y.mean(axis=1)),
                               float((block_rms < 1e-3).mean())))
    print(f"{len(songs)} songs in {args.split}; mixture == sum of stems (integers) in {exact}")
    print("stem     RMS dBFS (min..max)   centroid Hz (min..max)   silent 1-s blocks (mean, max)   songs with a silent block")
    for name in STEMS:
        r = np.array(rows[name])
        print(f"{name:7s}  {r[:, 0].min():6.1f} .. {r[:, 0].max():5.1f}     {r[:, 1].min():7.0f} .. {r[:, 1].max():6.0f}"
              f"          {100 * r[:, 2].mean():5.1f} %, {100 * r[:, 2].max():5.1f} %"
              f"                  {int((r[:, 2] > 0).sum())}")


if __name__ == "__main__":
    main()
