#!/usr/bin/env python3
"""Write the HDF5 files that declare more data than they hold (Tests/NetworkTests/Fixtures/).

HDF5 lets a dataset declare any shape and store nothing (storage is allocated when data is written),
so a file of a few kilobytes can claim terabytes. cnnsep must check declared shapes against the
model (and sizes against the file) before it allocates anything. Run once; the files are committed:

    python3 scripts/make_declared_shape_fixtures.py
"""
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "NetworkTests", "Fixtures")
HUGE = 10**12  # 4 TB of float32


def checkpoint(path):
    """A cnnsep checkpoint of the default model ("config": "{}" is every default)."""
    f = h5py.File(path, "w")
    f.attrs["cnnsep_format_version"] = np.int64(1)
    f.attrs["config"] = "{}"
    return f


def layer(f, name, kernel_shape, bias_shape, data=True):
    group = f.create_group(f"model_weights/{name}/{name}")
    if data:
        group["kernel:0"] = np.zeros(kernel_shape, "f4")
    else:
        group.create_dataset("kernel:0", shape=kernel_shape, dtype="f4")
    group["bias:0"] = np.zeros(bias_shape, "f4")


with checkpoint(os.path.join(OUT, "huge-kernel.h5")) as f:
    # The first layer declares a 4 TB kernel and stores nothing.
    layer(f, "vertical_convolution", (1, 513, 1, HUGE), (50,), data=False)
    f["model_weights"].attrs["layer_names"] = np.array([b"vertical_convolution"])

with checkpoint(os.path.join(OUT, "huge-slot.h5")) as f:
    # Right weights, but an optimizer slot that declares 4 TB.
    layer(f, "vertical_convolution", (1, 513, 1, 50), (50,))
    f["model_weights"].attrs["layer_names"] = np.array([b"vertical_convolution"])
    f.create_group("optimizer_weights").attrs["optimizer"] = "adadelta"
    f.create_dataset("optimizer_weights/vertical_convolution/kernel/accumulated_grad", shape=(1, 513, 1, HUGE), dtype="f4")
    f["optimizer_weights/vertical_convolution/kernel/accumulated_delta"] = np.zeros((1, 513, 1, 50), "f4")

with h5py.File(os.path.join(OUT, "huge-mixture.h5"), "w") as f:
    # A forward batch of 10^9 windows of the default shape (51 TB), no data stored.
    f.create_dataset("mixture", shape=(10**9, 25, 513), dtype="f4")

with h5py.File(os.path.join(OUT, "unwritten.h5"), "w") as f:
    # A small dataset declared and never written: it holds none of its 8 values.
    f.create_dataset("values", shape=(2, 4), dtype="f4")
    f["written"] = np.arange(8, dtype="f4").reshape(2, 4)
