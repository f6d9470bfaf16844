#!/usr/bin/env python3
"""Combines `cnnsep study` results (one study.json per config) into QUALITY.md's table:
per config and source, mean SDR and oracle share with their spread across seeds, and the
difference to the first config given (the paper's), so each lever's effect reads off one row.

Usage: scripts/quality_table.py STUDY_DIR/paper/study.json STUDY_DIR/<lever>/study.json ..."""
import json
import statistics
import sys

SOURCES = ["bass", "drums", "other", "vocals"]


def load(path):
    d = json.load(open(path))
    rows = {s["source"]: s for s in d["sources"]}
    return d["config"], d["seeds"], rows


def spread(values):
    return statistics.stdev(values) if len(values) > 1 else 0.0


def main(paths):
    studies = [load(p) for p in paths]
    _, _, base = studies[0]
    print("| config | seeds | " + " | ".join(f"{s} SDR (share)" for s in SOURCES) + " | Δ SDR vs first |")
    print("|---|---:|" + "---:|" * len(SOURCES) + "---:|")
    for name, seeds, rows in studies:
        cells, deltas = [], []
        for s in SOURCES:
            sdr = rows[s]["model_sdr"]["per_seed"]
            share = rows[s]["oracle_share"]["per_seed"]
            cells.append(f"{statistics.mean(sdr):.2f} ± {spread(sdr):.2f} "
                         f"({100 * statistics.mean(share):.1f} % ± {100 * spread(share):.1f})")
            deltas.append(statistics.mean(sdr) - base[s]["model_sdr"]["mean"])
        print(f"| {name} | {len(seeds)} | " + " | ".join(cells) +
              f" | {' / '.join(f'{d:+.2f}' for d in deltas)} |")
    o = base
    print()
    print("Baselines (the same for every config): oracle " +
          ", ".join(f"{s} {o[s]['oracle_sdr']:.2f}" for s in SOURCES) + " dB; mixture " +
          ", ".join(f"{s} {o[s]['mixture_sdr']:.2f}" for s in SOURCES) + " dB.")


if __name__ == "__main__":
    main(sys.argv[1:])
