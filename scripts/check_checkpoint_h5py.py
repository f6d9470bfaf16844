#!/usr/bin/env python3
"""Check a cnnsep (or Keras) checkpoint with h5py, independently of cnnsep's own HDF5 code.

Usage: scripts/check_checkpoint_h5py.py FILE

Prints each layer's weight names, shapes and dtypes as h5py sees them, then exits 0 if every layer of
the METHOD.md table (default config) is present with the expected Keras shapes, 1 otherwise (2 if the
file cannot be read). Accepts the full layout (/model_weights/<layer>/<layer>/kernel:0) and the Keras
save_weights layout (layer groups at the file's root).
"""
import sys

import h5py

SOURCES = ["bass", "drums", "other", "vocals"]
T1, F1, N1, T2, F2, N2, N, T = 1, 513, 50, 12, 1, 30, 128, 25
FLAT = (T - T1 + 1 - T2 + 1) * N2  # 14 * 30 = 420

# layer name -> (kernel shape, bias shape), in model order (METHOD.md, default config)
EXPECTED = {
    "vertical_convolution": ((T1, F1, 1, N1), (N1,)),
    "horizontal_convolution": ((T2, F2, N1, N2), (N2,)),
    "global_dense": ((FLAT, N), (N,)),
}
for s in SOURCES:
    EXPECTED[f"single_dense_{s}"] = ((N, FLAT), (FLAT,))
for s in SOURCES:
    EXPECTED[f"horizontal_deconvolution_{s}"] = ((T2, F2, N1, N2), (N1,))
for s in SOURCES:
    EXPECTED[f"vertical_deconvolution_{s}"] = ((T1, F1, 1, N1), (1,))
EXPECTED_PARAMETERS = 489_142


def text(value):
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def attribute_list(group, name):
    """A string-list attribute, also in Keras's chunked form (name0, name1, ...)."""
    if name in group.attrs:
        return [text(v) for v in group.attrs[name]]
    values, chunk = [], 0
    while f"{name}{chunk}" in group.attrs:
        values += [text(v) for v in group.attrs[f"{name}{chunk}"]]
        chunk += 1
    return values if chunk else None


def layer_weights(base, name):
    """{'kernel': dataset, 'bias': dataset, ...} of one layer group."""
    group = base[name]
    names = attribute_list(group, "weight_names")
    if names is None:
        names = []
        group.visit(lambda path: names.append(path) if isinstance(group[path], h5py.Dataset) else None)
    return {n.split("/")[-1].split(":")[0]: (n, group[n]) for n in names}


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = argv[1]
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        print(f"{path}: cannot open with h5py ({error})", file=sys.stderr)
        return 2
    with f:
        base = f["model_weights"] if "model_weights" in f else f
        listed = attribute_list(base, "layer_names")
        order = listed if listed is not None else sorted(k for k, v in base.items() if isinstance(v, h5py.Group))
        print(f"{path}: layout {'/model_weights' if base.name != '/' else 'root (save_weights)'}, "
              f"keras_version={text(f.attrs.get('keras_version', '-'))}, "
              f"cnnsep_format_version={f.attrs.get('cnnsep_format_version', '-')}")
        problems, total, found = [], 0, {}
        for name in order:
            if name not in base:
                problems.append(f"layer_names lists {name} but there is no such group")
                continue
            weights = layer_weights(base, name)
            found[name] = weights
            for short, (weight_name, dataset) in weights.items():
                total += dataset.size
                print(f"  {name}: {weight_name} {tuple(dataset.shape)} {dataset.dtype}")
        for name, (kernel, bias) in EXPECTED.items():
            weights = found.get(name)
            if weights is None:
                problems.append(f"missing layer {name}")
                continue
            for short, shape in (("kernel", kernel), ("bias", bias)):
                if short not in weights:
                    problems.append(f"{name}: missing {short}")
                elif tuple(weights[short][1].shape) != shape:
                    problems.append(f"{name}: {short} has shape {tuple(weights[short][1].shape)}, expected {shape}")
        expected_order = list(EXPECTED)
        present = [n for n in order if n in EXPECTED]
        if present != [n for n in expected_order if n in found]:
            problems.append(f"layer order {present} differs from METHOD.md's {expected_order}")
        print(f"  parameters: {total:,} (METHOD.md default: {EXPECTED_PARAMETERS:,})")
        if total != EXPECTED_PARAMETERS:
            problems.append(f"{total:,} parameters, expected {EXPECTED_PARAMETERS:,}")
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    print("OK" if not problems else f"FAILED: {len(problems)} problem(s)")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
