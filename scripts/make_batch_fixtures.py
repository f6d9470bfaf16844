#!/usr/bin/env python3
"""Write the forward/step batch file whose declared size passes the dataset check but whose work does
not fit in memory (Tests/NetworkTests/Fixtures/compressed-mixture.h5).

A compressed (chunked) dataset is not required to store all it declares: chunks never written read as
the fill value. This /mixture declares 200,000 windows of the default shape (10.3 GB of float32) and
stores none, so the file is tiny; running forward on it holds about 30 times that. cnnsep must refuse
it before reading it. Run once; the file is committed:

    python3 scripts/make_batch_fixtures.py
"""
import os

import h5py

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "NetworkTests", "Fixtures")

with h5py.File(os.path.join(OUT, "compressed-mixture.h5"), "w") as f:
    f.create_dataset("mixture", shape=(200_000, 25, 513), dtype="f4", chunks=(1000, 25, 513), compression="gzip")
