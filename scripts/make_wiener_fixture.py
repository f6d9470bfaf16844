#!/usr/bin/env python3
"""Reference numbers for cnnsep's multichannel Wiener filter (Sources/Audio/WienerFilter.swift) from
sigsep's norbert (version 0.2.1, the one on PyPI; pinned because its eps and scaling rules are what
the Swift code follows).

For a few small random cases (stereo with 4 sources, loud enough that the mixture gets scaled down;
a quiet stereo case that is not scaled; mono with 3 sources; 3 channels with 3 sources, which norbert
inverts with a pseudo-inverse; stereo with a silent source, a silent frame and a silent bin) it runs
1 and 2 iterations of `norbert.expectation_maximization` in double precision, on the mixture and the
initial estimates scaled exactly as `norbert.wiener` scales them (divided by max(1, max|x| / 10),
multiplied back afterwards), with eps = float32's machine epsilon (norbert's default for complex64
input, which is what cnnsep's spectra are). Inputs are rounded to float32 first, so Swift reads
exactly the values norbert saw. Writes wiener_reference.json, read by
Tests/AudioTests/WienerFilterTests.swift.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install norbert==0.2.1 numpy
    /tmp/venv/bin/python scripts/make_wiener_fixture.py Tests/AudioTests/Fixtures

Layouts in the JSON (all flattened, row-major): mixture [channel][frame][bin], estimates and
filtered [source][channel][frame][bin]; real and imaginary parts in separate lists.
"""
import argparse
import importlib.metadata
import json
import os

import norbert
import numpy as np

EPS = float(np.finfo(np.float32).eps)


def as_float32(z):
    return (z.real.astype(np.float32) + 1j * z.imag.astype(np.float32)).astype(np.complex128)


def random_complex(rng, shape, scale):
    return scale * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))


def make_case(rng, name, channels, sources, frames, bins, scale, silent_source=None):
    # Initial estimates y[t, f, c, j] with a different level per source and per bin, and a mixture
    # that is their sum plus a little of something none of them explains.
    levels = np.exp(rng.standard_normal((1, bins, 1, sources)))
    y = random_complex(rng, (frames, bins, channels, sources), scale) * levels
    if silent_source is not None:
        y[..., silent_source] = 0
        y[frames // 2] = 0            # a frame where every source is silent
        y[:, bins - 1] = 0            # a bin where every source is silent
    x = y.sum(axis=-1) + random_complex(rng, (frames, bins, channels), 0.05 * scale)
    if silent_source is not None:
        x[frames // 2] = 0
        x[:, bins - 1] = 0
    x, y = as_float32(x), as_float32(y)

    filtered = {}
    for iterations in (1, 2):
        max_abs = max(1.0, np.abs(x).max() / 10.0)
        out = norbert.expectation_maximization(y.copy() / max_abs, x.copy() / max_abs,
                                               iterations=iterations, eps=EPS)[0] * max_abs
        assert np.all(np.isfinite(out))
        filtered[str(iterations)] = out

    def mixture_layout(z):  # (t, f, c) -> [c][t][f]
        return np.transpose(z, (2, 0, 1)).ravel()

    def source_layout(z):  # (t, f, c, j) -> [j][c][t][f]
        return np.transpose(z, (3, 2, 0, 1)).ravel()

    def complex_lists(flat):
        return {"real": [float(v) for v in flat.real], "imag": [float(v) for v in flat.imag]}

    return {
        "name": name, "channels": channels, "sources": sources, "frames": frames, "bins": bins,
        "mixture": complex_lists(mixture_layout(x)),
        "estimates": complex_lists(source_layout(y)),
        "filtered": {k: complex_lists(source_layout(v)) for k, v in filtered.items()},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="where to write wiener_reference.json")
    args = parser.parse_args()
    rng = np.random.default_rng(14)
    cases = [
        make_case(rng, "stereo", channels=2, sources=4, frames=6, bins=5, scale=40.0),
        make_case(rng, "stereo_quiet", channels=2, sources=4, frames=5, bins=4, scale=0.3),
        make_case(rng, "mono", channels=1, sources=3, frames=7, bins=4, scale=25.0),
        make_case(rng, "three_channels", channels=3, sources=3, frames=6, bins=3, scale=20.0),
        make_case(rng, "stereo_silent_source", channels=2, sources=4, frames=5, bins=4, scale=30.0,
                  silent_source=2),
    ]
    fixture = {"generator": "scripts/make_wiener_fixture.py", "norbert": importlib.metadata.version("norbert"),
               "eps": EPS, "cases": cases}
    path = os.path.join(args.folder, "wiener_reference.json")
    with open(path + ".tmp", "w") as f:
        json.dump(fixture, f)
    os.replace(path + ".tmp", path)
    print(f"wrote {path}: " + ", ".join(c["name"] for c in cases))


if __name__ == "__main__":
    main()
