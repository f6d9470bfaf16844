#!/usr/bin/env python3
"""Cross-check cnnsep's network, masks, loss, gradients and Adadelta against PyTorch.

Usage (torch, h5py and numpy installed; see benchmarks/README.md):

    python scripts/crosscheck_pytorch.py [--cnnsep .build/release/cnnsep] [--config Configs/dsd100.json]
                                         [--seed 1] [--batch 4] [--steps 3] [--keep DIR]

What it does, in two cases (the same random weights; the batch's magnitudes scaled by 1 and by --step-scale):
  1. Writes a random batch (/mixture (N, 25, 513) float32 of magnitudes, the sum of /target_<source>)
     and a checkpoint with random weights and biases in the Keras layout of METHOD.md
     (/model_weights/<layer>/<layer>/kernel:0 with layer_names / weight_names attributes), with h5py.
  2. Runs `cnnsep forward` (masks, estimates, loss, every layer's gradient) and `cnnsep step`
     (weights and Adadelta accumulators after 1 step at scale 1, after --steps steps at --step-scale).
  3. Computes the same in PyTorch from the same weights: float64 (nn.Module) as the reference, and
     float32 with both forms of benchmarks/pytorch_reference.py (nn.Module, matrix products).
  4. Scale 1, 1 step: the step's gradient, recovered from its E[g^2] (`step` may take a fused path
     that `forward` does not), against float64; Adadelta's update and E[delta^2] against float64
     formulas applied to that same gradient.
     Scale --step-scale (0.1), K steps: weights and accumulators against float64 PyTorch's K steps.
     (At scale 1 the gradients reach ~3e4 and Adadelta with eps = 1 divides every element by its
     own size, so a float32 gradient error of 1e-6 of the tensor's max becomes ~1e-2 on small
     elements' updates after 3 steps, for float32 PyTorch as much as for cnnsep; at 0.1 it is 1e-4.)
  5. Prints the worst relative error per group for cnnsep and for float32 PyTorch (--verbose: every
     quantity) and exits 1 if cnnsep is beyond tolerance:
       loss: |a - b| / |b| <= 1e-4
       masks, estimates: max|a - b| / max|b| per tensor <= 1e-4
       gradients, K-step weight updates (w_K - w_0) and accumulators: max|a - b| / max|b| <= 1e-3
       Adadelta on the step's own gradient: <= 1e-5
     Updates are compared after allowing one float32 spacing of the weight.
Loss and optimizer settings (alpha, beta, gamma, mask epsilon, lr, rho, eps) are read from --config.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks"))
import pytorch_reference as ref  # noqa: E402

TOL_LOSS = 1e-4
TOL_OUTPUT = 1e-4
TOL_GRAD = 1e-3
TOL_STATE = 1e-5


def write_checkpoint(path, weights):
    """A weights-only checkpoint in the Keras-2 full-model layout that CheckpointFile.swift reads."""
    names = ref.layer_names()
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = np.bytes_("2.4.0")
        f.attrs["backend"] = np.bytes_("tensorflow")
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = np.array([n.encode() for n in names])
        mw.attrs["keras_version"] = np.bytes_("2.4.0")
        mw.attrs["backend"] = np.bytes_("tensorflow")
        for n in names:
            kernel, bias = weights[n]
            g = mw.create_group(n)
            g.attrs["weight_names"] = np.array([f"{n}/kernel:0".encode(), f"{n}/bias:0".encode()])
            g.create_dataset(f"{n}/kernel:0", data=kernel.astype(np.float32))
            g.create_dataset(f"{n}/bias:0", data=bias.astype(np.float32))


def random_weights(rng):
    """Glorot-uniform kernels (Keras fans) and small non-zero biases, so that bias paths count."""
    weights = {}
    for n, (k, b) in ref.keras_shapes().items():
        fan_in, fan_out = int(np.prod(k[:-1])), int(np.prod(k[:-2])) * k[-1]
        limit = np.sqrt(6 / (fan_in + fan_out))
        weights[n] = (rng.uniform(-limit, limit, k).astype(np.float32),
                      rng.uniform(-0.1, 0.1, b).astype(np.float32))
    return weights


def run(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"crosscheck: {' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def rel_max(a, b):
    """max|a - b| / max|b| (b the reference); 0 when both are all zero."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = np.abs(b).max()
    diff = np.abs(a - b).max()
    return 0.0 if diff == 0 else diff / (scale if scale > 0 else 1.0)


def torch_forward(cls, dtype, weights, mixture, targets, cfg):
    net = cls().to(dtype)
    net.load_keras(weights)
    x = torch.as_tensor(mixture, dtype=dtype)
    y = [torch.as_tensor(t, dtype=dtype) for t in targets]
    masks, estimates, loss = ref.forward_loss(net, x, y, cfg["alpha"], cfg["beta"], cfg["gamma"], cfg["mask_eps"])
    loss.backward()
    grads = {n: (k.numpy().astype(np.float64), b.numpy().astype(np.float64)) for n, (k, b) in net.keras_grads().items()}
    return ([m.detach().numpy() for m in masks], [e.detach().numpy() for e in estimates], float(loss.detach()), grads)


def torch_steps(cls, dtype, weights, mixture, targets, cfg, steps):
    net = cls().to(dtype)
    net.load_keras(weights)
    opt = ref.make_optimizer(net, cfg["lr"], cfg["rho"], cfg["eps"])
    x = torch.as_tensor(mixture, dtype=dtype)
    y = [torch.as_tensor(t, dtype=dtype) for t in targets]
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ref.forward_loss(net, x, y, cfg["alpha"], cfg["beta"], cfg["gamma"], cfg["mask_eps"])[2]
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    out = {n: (k.numpy().astype(np.float64), b.numpy().astype(np.float64)) for n, (k, b) in net.keras_weights().items()}
    # Adadelta state in Keras layout: map each parameter back to its layer and variable.
    state = {}
    if cls is ref.ModuleNet:
        for n, module, kind in net._pairs():
            for var, p in (("kernel", module.weight), ("bias", module.bias)):
                s = opt.state[p]
                conv = (lambda t: ref.ModuleNet._to_keras(kind, t)) if var == "kernel" else (lambda t: t)
                state[f"{n}/{var}"] = (conv(s["square_avg"]).numpy().astype(np.float64),
                                       conv(s["acc_delta"]).numpy().astype(np.float64))
    return out, state, losses


def adadelta64(weights, grads, cfg):
    """One Adadelta step from zero accumulators in float64 (METHOD.md's formulas, written out)."""
    out, state = {}, {}
    for n, (k, b) in weights.items():
        new = []
        for var, w, g in (("kernel", k, grads[n][0]), ("bias", b, grads[n][1])):
            w, g = np.asarray(w, np.float64), np.asarray(g, np.float64)
            eg = (1 - cfg["rho"]) * g * g
            delta = np.sqrt(0 + cfg["eps"]) / np.sqrt(eg + cfg["eps"]) * g
            ed = (1 - cfg["rho"]) * delta * delta
            new.append(w - cfg["lr"] * delta)
            state[f"{n}/{var}"] = (eg, ed)
        out[n] = tuple(new)
    return out, state


def update_error(w_new, w_ref, w0):
    """Error of the update w_new - w0 against w_ref - w0, relative to max|w_ref - w0|, after allowing
    one float32 spacing of the weight (a float32 weight cannot hold its update more exactly)."""
    w_new, w_ref, w0 = (np.asarray(a, np.float64) for a in (w_new, w_ref, w0))
    scale = np.abs(w_ref - w0).max()
    excess = np.maximum(np.abs(w_new - w_ref) - np.spacing(np.abs(w_ref).astype(np.float32)).astype(np.float64), 0)
    return 0.0 if excess.max() == 0 else excess.max() / (scale if scale > 0 else 1.0)


def check_case(args, cfg, work, scale, steps, label):
    """Runs cnnsep forward and step on a random batch scaled by `scale`; returns rows
    (quantity, cnnsep error, torch32 nn error, torch32 mm error, tolerance) against float64 PyTorch."""
    paths = {k: os.path.join(work, f"{label}-{k}.h5") for k in ("weights", "batch", "forward", "step")}
    rng = np.random.default_rng(args.seed)
    weights = random_weights(rng)
    # Magnitude-like data: non-negative, heavy-tailed, the mixture the sum of the four targets.
    targets = [(scale * rng.exponential(1.0, (args.batch, ref.T, ref.BINS)) ** 2).astype(np.float32) for _ in ref.SOURCES]
    mixture = np.sum(targets, axis=0, dtype=np.float32)
    write_checkpoint(paths["weights"], weights)
    with h5py.File(paths["batch"], "w") as f:
        f["mixture"] = mixture
        for s, t in zip(ref.SOURCES, targets):
            f[f"target_{s}"] = t

    run([args.cnnsep, "forward", "--checkpoint", paths["weights"], "--input", paths["batch"],
         "--output", paths["forward"], "--config", args.config])
    step_log = run([args.cnnsep, "step", "--checkpoint", paths["weights"], "--input", paths["batch"],
                    "--steps", str(steps), "--output", paths["step"], "--config", args.config])
    step_losses = [float(line.split("loss")[1]) for line in step_log.splitlines() if line.startswith("step ")]

    with h5py.File(paths["forward"], "r") as f:
        sw_masks = [f[f"mask_{s}"][()] for s in ref.SOURCES]
        sw_est = [f[f"estimate_{s}"][()] for s in ref.SOURCES]
        sw_loss = float(f["loss"][()])
        sw_grads = {n: (f[f"grads/{n}/kernel"][()], f[f"grads/{n}/bias"][()]) for n in ref.layer_names()}
    with h5py.File(paths["step"], "r") as f:
        sw_weights = {n: (f[f"model_weights/{n}/{n}/kernel:0"][()], f[f"model_weights/{n}/{n}/bias:0"][()])
                      for n in ref.layer_names()}
        sw_state = {}
        for n in ref.layer_names():
            for var in ("kernel", "bias"):
                g = f[f"optimizer_weights/{n}/{var}"]
                sw_state[f"{n}/{var}"] = (g["accumulated_grad"][()], g["accumulated_delta"][()])

    w64 = {n: (k.astype(np.float64), b.astype(np.float64)) for n, (k, b) in weights.items()}
    x64, y64 = mixture.astype(np.float64), [t.astype(np.float64) for t in targets]
    m64, e64, l64, g64 = torch_forward(ref.ModuleNet, torch.float64, w64, x64, y64, cfg)
    forms = (("module", ref.ModuleNet), ("gemm", ref.GemmNet))
    fw32 = {form: torch_forward(cls, torch.float32, weights, mixture, targets, cfg) for form, cls in forms}
    s64, st64, losses64 = torch_steps(ref.ModuleNet, torch.float64, w64, x64, y64, cfg, steps)
    s32 = {form: torch_steps(cls, torch.float32, weights, mixture, targets, cfg, steps) for form, cls in forms}

    rows = []
    tag = f"[{label}] "

    def add(name, sw, refv, module, gemm, tol):
        rows.append((tag + name, rel_max(sw, refv), rel_max(module, refv), rel_max(gemm, refv), tol))

    def scalar(name, sw, refv, module, gemm, tol):
        rows.append((tag + name, abs(sw - refv) / abs(refv), abs(module - refv) / abs(refv), abs(gemm - refv) / abs(refv), tol))

    scalar("loss", sw_loss, l64, fw32["module"][2], fw32["gemm"][2], TOL_LOSS)
    for i, s in enumerate(ref.SOURCES):
        add(f"mask_{s}", sw_masks[i], m64[i], fw32["module"][0][i], fw32["gemm"][0][i], TOL_OUTPUT)
    for i, s in enumerate(ref.SOURCES):
        add(f"estimate_{s}", sw_est[i], e64[i], fw32["module"][1][i], fw32["gemm"][1][i], TOL_OUTPUT)
    for n in ref.layer_names():
        for j, var in enumerate(("kernel", "bias")):
            add(f"grad {n}/{var}", sw_grads[n][j], g64[n][j], fw32["module"][3][n][j], fw32["gemm"][3][n][j], TOL_GRAD)
    if steps == 1:
        # `cnnsep forward` takes the autodiff tape, `cnnsep step` (like training) may take a fused path, so
        # the step's gradient is recovered from its state: |g| = sqrt(E[g^2] / (1 - rho)), the sign from
        # the update (w1 - w0 = -lr * delta, delta of g's sign; forward's sign where the update is 0).
        # It is checked against float64 PyTorch, then Adadelta is checked on it alone (float64 formulas).
        g_step = {}
        for n in ref.layer_names():
            pair = []
            for j, var in enumerate(("kernel", "bias")):
                eg = sw_state[f"{n}/{var}"][0].astype(np.float64)
                moved = sw_weights[n][j].astype(np.float64) - w64[n][j]
                sign = np.where(moved != 0, -np.sign(moved), np.sign(sw_grads[n][j]))
                pair.append(sign * np.sqrt(eg / (1 - cfg["rho"])))
            g_step[n] = tuple(pair)
        for n in ref.layer_names():
            for j, var in enumerate(("kernel", "bias")):
                rows.append((tag + f"step grad {n}/{var}", rel_max(g_step[n][j], g64[n][j]), float("nan"), float("nan"), TOL_GRAD))
        a64, ast64 = adadelta64(w64, g_step, cfg)
        for n in ref.layer_names():
            for j, var in enumerate(("kernel", "bias")):
                e = update_error(sw_weights[n][j], a64[n][j], w64[n][j])
                rows.append((tag + f"adadelta(step grad) update {n}/{var}", e, float("nan"), float("nan"), TOL_STATE))
                rows.append((tag + f"adadelta(step grad) {n}/{var} accumulated_delta",
                             rel_max(sw_state[f"{n}/{var}"][1], ast64[f"{n}/{var}"][1]), float("nan"), float("nan"), TOL_STATE))
        return rows, sw_loss, l64, step_losses, losses64
    for k in range(len(step_losses)):
        scalar(f"step {k + 1} loss", step_losses[k], losses64[k], s32["module"][2][k], s32["gemm"][2][k], TOL_LOSS)
    for n in ref.layer_names():
        for j, var in enumerate(("kernel", "bias")):
            w0 = w64[n][j]
            rows.append((tag + f"update {n}/{var}", update_error(sw_weights[n][j], s64[n][j], w0),
                         update_error(s32["module"][0][n][j], s64[n][j], w0),
                         update_error(s32["gemm"][0][n][j], s64[n][j], w0), TOL_GRAD))
    for key in sorted(st64):
        for j, slot in enumerate(("accumulated_grad", "accumulated_delta")):
            mod = s32["module"][1][key][j]
            add(f"adadelta {key} {slot}", sw_state[key][j], st64[key][j], mod, float("nan") * mod, TOL_GRAD)
    return rows, sw_loss, l64, step_losses, losses64


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cnnsep", default=os.path.join(root, ".build", "release", "cnnsep"))
    parser.add_argument("--config", default=os.path.join(root, "Configs", "dsd100.json"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--step-scale", type=float, default=0.1,
                        help="magnitude scale of the batch for the K-step comparison (default 0.1)")
    parser.add_argument("--keep", metavar="DIR", help="write the HDF5 files here and keep them")
    parser.add_argument("--verbose", action="store_true", help="print every quantity, not only the worst per group")
    args = parser.parse_args(argv)
    if not os.access(args.cnnsep, os.X_OK):
        sys.exit(f"crosscheck: {args.cnnsep} is not an executable; build it (swift build -c release) or pass --cnnsep")
    if args.steps < 2:
        parser.error("--steps must be at least 2 (the 1-step case is always run)")
    with open(args.config) as f:
        c = json.load(f)
    cfg = {"alpha": c["loss"]["alpha"], "beta": c["loss"]["beta"], "gamma": c["loss"]["gamma"],
           "mask_eps": c["model"].get("mask_epsilon", ref.MASK_EPS),
           "lr": c["optimizer"]["learning_rate"], "rho": c["optimizer"]["rho"], "eps": c["optimizer"]["epsilon"]}
    torch.set_num_threads(2)
    work = args.keep or tempfile.mkdtemp(prefix="crosscheck-")
    os.makedirs(work, exist_ok=True)

    print(f"crosscheck: cnnsep {args.cnnsep}, batch {args.batch}, seed {args.seed}, config {args.config}")
    print(f"  settings: {cfg}")
    rows = []
    for label, scale, steps in (("scale 1, 1 step", 1.0, 1), (f"scale {args.step_scale:g}, {args.steps} steps", args.step_scale, args.steps)):
        r, sw_loss, l64, step_losses, losses64 = check_case(args, cfg, work, scale, steps, label)
        print(f"  [{label}] loss: cnnsep {sw_loss:.9g}, torch float64 {l64:.9g}; "
              f"step losses cnnsep {step_losses}, torch float64 {[float(f'{v:.9g}') for v in losses64]}")
        rows += r

    print("  relative error against float64 PyTorch (loss: |a-b|/|b|; tensors: max|a-b| / max|b|;")
    print("  updates w_K - w_0: the same after allowing one float32 spacing of the weight)")
    failures = [r[0] for r in rows if not r[1] <= r[4]]
    if args.verbose:
        print(f"  {'quantity':75s} {'cnnsep':>9s} {'torch32nn':>9s} {'torch32mm':>9s} {'tol':>6s}")
        for name, sw, mod, gemm, tol in rows:
            print(f"  {name:75s} {sw:9.2e} {mod:9.2e} {gemm:9.2e} {tol:6.0e}{'' if sw <= tol else '  <-- FAIL'}")
    print(f"  {'group (worst quantity)':44s} {'cnnsep':>9s} {'torch32nn':>9s} {'torch32mm':>9s} {'tol':>6s}")
    groups = {}
    for row in rows:
        name = row[0]
        case, what = name.split("] ", 1)
        kind = ("loss" if "loss" in what else "masks, estimates" if what.startswith(("mask", "estimate"))
                else "gradients (forward)" if what.startswith("grad") else "gradients (step)" if what.startswith("step grad")
                else "adadelta(step grad)" if what.startswith("adadelta(step")
                else "weight updates" if what.startswith("update") else "adadelta state")
        groups.setdefault(case + "] " + kind, []).append(row)
    for key, sel in groups.items():
        worst = max(sel, key=lambda r: r[1])
        nm = lambda i: max((r[i] for r in sel if r[i] == r[i]), default=float("nan"))
        print(f"  {key:44s} {nm(1):9.2e} {nm(2):9.2e} {nm(3):9.2e} {worst[4]:6.0e}  ({worst[0].split('] ', 1)[1]})")
    if not args.keep:
        for p in os.listdir(work):
            os.remove(os.path.join(work, p))
        os.rmdir(work)
    if failures:
        print(f"crosscheck: FAILED: {len(failures)} beyond tolerance: {', '.join(failures)}")
        return 1
    print(f"crosscheck: OK ({len(rows)} quantities within tolerance)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
