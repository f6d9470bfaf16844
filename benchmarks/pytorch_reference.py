#!/usr/bin/env python3
"""The cnnsep network, masks, loss and Adadelta step in PyTorch (CPU), in two forms, timed.

Usage (in a virtual environment with torch==2.13.0+cpu, h5py, numpy; see benchmarks/README.md):

    python benchmarks/pytorch_reference.py [--json FILE] [--steps N] [--threads 2] [--forms module,gemm]

Forms:
  module  idiomatic nn.Module: nn.Conv2d / nn.ConvTranspose2d / nn.Linear on NCHW tensors
  gemm    the same network written as matrix products on the Keras (NHWC) layout: the 1x513 layers
          are (B*25, 513) @ (513, 50) and (B*25, 50) @ (50, 513); the 12x1 layers are im2col
          (Tensor.unfold) + matmul and matmul + col2im (F.fold)

Both hold their parameters so that `load_keras` takes cnnsep's checkpoint arrays (Keras layouts:
Conv2D (kh, kw, in, out), Conv2DTranspose (kh, kw, out, in), Dense (in, out)) and `keras_grads` /
`keras_weights` give them back in those layouts; scripts/crosscheck_pytorch.py uses both forms.

Network (METHOD.md, default): vertical conv (1,513) 50 filters, horizontal conv (12,1) 30 filters,
flatten row-major index t*30 + c (Keras NHWC order, not PyTorch's c*14 + t), dense 420->128 ReLU,
four decoders: dense 128->420 ReLU, reshape (14, 1, 30), ConvTranspose (12,1) 30->50,
ConvTranspose (1,513) 50->1. Soft masks m_s = |d_s| / (sum_j |d_j| + 1e-8), estimates m_s * |X|,
the alpha/beta/gamma loss divided by the batch, Adadelta lr 0.01, rho 0.95, eps 1.0.

Timing: one training step (zero grads, forward, masks, loss, backward, Adadelta) median/min/max over
--steps steps after warm-up at batch 32, T = 25, F = 513; the forward pass (no grad) over the windows
of a 4-minute song, 1614 windows as `cnnsep bench step` counts them (--song-windows; cnnsep's Separator
cuts a 4-minute 44.1 kHz song's 41,347 STFT frames into 2068 windows of 25 frames every 20), in
batches of 64. Prints one JSON object per form (a list).
"""
import argparse
import json
import math
import platform
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SOURCES = ["bass", "drums", "other", "vocals"]
T, BINS = 25, 513          # frames per window, frequency bins
T1, F1, N1 = 1, 513, 50    # vertical convolution
T2, F2, N2 = 12, 1, 30     # horizontal convolution
DENSE = 128
H2 = T - T1 + 1 - T2 + 1   # 14 frames after the horizontal convolution
FLAT = H2 * N2             # 420
MASK_EPS = 1e-8
ALPHA, BETA, GAMMA = 0.001, 0.01, 0.03
LR, RHO, ADA_EPS = 0.01, 0.95, 1.0

# A 4-minute song at 44.1 kHz as cnnsep's STFT (1024/256, 768 samples of padding) and Separator
# (windows of T frames whose starts move by T - 5) cut it.
SONG_SAMPLES = 240 * 44100
SONG_FRAMES = (SONG_SAMPLES - 1 + 768) // 256 + 1                 # 41,347
WINDOW_HOP = T - 5
SEPARATOR_WINDOWS = (SONG_FRAMES - T + WINDOW_HOP - 1) // WINDOW_HOP + 1  # 2068
SONG_WINDOWS = 1614        # the count `cnnsep bench step` times (--song-windows changes it)


def layer_names():
    """Layer names in METHOD.md's table order (the checkpoint's order)."""
    return (["vertical_convolution", "horizontal_convolution", "global_dense"]
            + [f"single_dense_{s}" for s in SOURCES]
            + [f"horizontal_deconvolution_{s}" for s in SOURCES]
            + [f"vertical_deconvolution_{s}" for s in SOURCES])


def keras_shapes():
    """{layer: (kernel shape, bias shape)} in the Keras layouts of METHOD.md."""
    shapes = {
        "vertical_convolution": ((T1, F1, 1, N1), (N1,)),
        "horizontal_convolution": ((T2, F2, N1, N2), (N2,)),
        "global_dense": ((FLAT, DENSE), (DENSE,)),
    }
    for s in SOURCES:
        shapes[f"single_dense_{s}"] = ((DENSE, FLAT), (FLAT,))
        shapes[f"horizontal_deconvolution_{s}"] = ((T2, F2, N1, N2), (N1,))
        shapes[f"vertical_deconvolution_{s}"] = ((T1, F1, 1, N1), (1,))
    return shapes


def step_flop(batch):
    """FLOPs of one training step's matrix products (2*M*N*K each): forward of every layer, backward
    dW and dX of every layer except the first (its input needs no gradient, so dW only)."""
    def mm(m, n, k):
        return 2 * m * n * k
    vconv = mm(batch * T, N1, BINS)              # (B*25, 513) @ (513, 50)
    hconv = mm(batch * H2, N2, T2 * N1)          # (B*14, 600) @ (600, 30)
    gdense = mm(batch, DENSE, FLAT)
    sdense = mm(batch, FLAT, DENSE)
    hdeconv = mm(batch * H2, T2 * N1, N2)        # (B*14, 30) @ (30, 600)
    vdeconv = mm(batch * T, BINS, N1)            # (B*25, 50) @ (50, 513)
    forward = vconv + hconv + gdense + 4 * (sdense + hdeconv + vdeconv)
    backward = vconv + 2 * (hconv + gdense + 4 * (sdense + hdeconv + vdeconv))
    return forward + backward


def forward_flop(batch):
    return (2 * batch * (T * N1 * BINS + H2 * N2 * T2 * N1 + DENSE * FLAT)
            + 4 * 2 * batch * (FLAT * DENSE + H2 * T2 * N1 * N2 + T * BINS * N1))


# ----------------------------------------------------------------------------------------------
# Form 1: idiomatic nn.Module (NCHW: channels, time, frequency)

class ModuleNet(nn.Module):
    name = "pytorch-module"

    def __init__(self):
        super().__init__()
        self.vertical_convolution = nn.Conv2d(1, N1, (T1, F1))
        self.horizontal_convolution = nn.Conv2d(N1, N2, (T2, F2))
        self.global_dense = nn.Linear(FLAT, DENSE)
        self.single_dense = nn.ModuleList(nn.Linear(DENSE, FLAT) for _ in SOURCES)
        self.horizontal_deconvolution = nn.ModuleList(nn.ConvTranspose2d(N2, N1, (T2, F2)) for _ in SOURCES)
        self.vertical_deconvolution = nn.ModuleList(nn.ConvTranspose2d(N1, 1, (T1, F1)) for _ in SOURCES)

    def forward(self, x):
        """x (B, T, F) magnitudes -> four decoder outputs (B, T, F) before the absolute value."""
        b = x.shape[0]
        v = self.vertical_convolution(x.unsqueeze(1))          # (B, 50, 25, 1)
        h = self.horizontal_convolution(v)                      # (B, 30, 14, 1)
        flat = h.reshape(b, N2, H2).transpose(1, 2).reshape(b, FLAT)   # Keras order t*30 + c
        code = F.relu(self.global_dense(flat))                  # (B, 128)
        outs = []
        for dense, hdeconv, vdeconv in zip(self.single_dense, self.horizontal_deconvolution, self.vertical_deconvolution):
            s = F.relu(dense(code)).reshape(b, H2, N2).transpose(1, 2).unsqueeze(3)   # (B, 30, 14, 1)
            outs.append(vdeconv(hdeconv(s)).reshape(b, T, BINS))                   # (B, 1, 25, 513)
        return outs

    def _pairs(self):
        """(layer name, module, kind) in table order."""
        pairs = [("vertical_convolution", self.vertical_convolution, "conv"),
                 ("horizontal_convolution", self.horizontal_convolution, "conv"),
                 ("global_dense", self.global_dense, "dense")]
        pairs += [(f"single_dense_{s}", m, "dense") for s, m in zip(SOURCES, self.single_dense)]
        pairs += [(f"horizontal_deconvolution_{s}", m, "deconv") for s, m in zip(SOURCES, self.horizontal_deconvolution)]
        pairs += [(f"vertical_deconvolution_{s}", m, "deconv") for s, m in zip(SOURCES, self.vertical_deconvolution)]
        return pairs

    # Keras Conv2D (kh, kw, in, out) and Conv2DTranspose (kh, kw, out, in) both become PyTorch's
    # (dim3, dim2, kh, kw): Conv2d wants (out, in, kh, kw), ConvTranspose2d wants (in, out, kh, kw).
    # Keras Dense (in, out) is nn.Linear's weight transposed.
    @staticmethod
    def _to_torch(kind, kernel):
        return kernel.t() if kind == "dense" else kernel.permute(3, 2, 0, 1)

    @staticmethod
    def _to_keras(kind, weight):
        return weight.t() if kind == "dense" else weight.permute(2, 3, 1, 0)

    @torch.no_grad()
    def load_keras(self, weights):
        """weights: {layer: (kernel, bias)} as numpy arrays or tensors in Keras layouts."""
        for name, module, kind in self._pairs():
            kernel, bias = (torch.as_tensor(a) for a in weights[name])
            module.weight.copy_(self._to_torch(kind, kernel.to(module.weight.dtype)))
            module.bias.copy_(bias.to(module.bias.dtype))

    def keras_weights(self):
        return {name: (self._to_keras(kind, m.weight.detach()), m.bias.detach()) for name, m, kind in self._pairs()}

    def keras_grads(self):
        return {name: (self._to_keras(kind, m.weight.grad), m.bias.grad) for name, m, kind in self._pairs()}


# ----------------------------------------------------------------------------------------------
# Form 2: matrix products on the Keras layout (NHWC; kernels stored exactly as Keras stores them)

class GemmNet(nn.Module):
    name = "pytorch-gemm"

    def __init__(self):
        super().__init__()
        self.kernels = nn.ParameterDict()
        self.biases = nn.ParameterDict()
        for name, (k, b) in keras_shapes().items():
            # Glorot-uniform with Keras' fans, taken from the stored shape (also for transposed kernels).
            fan_in, fan_out = math.prod(k[:-1]), math.prod(k[:-2]) * k[-1]
            limit = math.sqrt(6 / (fan_in + fan_out))
            self.kernels[name] = nn.Parameter(torch.empty(k).uniform_(-limit, limit))
            self.biases[name] = nn.Parameter(torch.zeros(b))

    def forward(self, x):
        b = x.shape[0]
        k, bias = self.kernels, self.biases
        # vertical conv: each (b, t) row of 513 bins is one patch.
        v = torch.addmm(bias["vertical_convolution"], x.reshape(b * T, BINS),
                        k["vertical_convolution"].reshape(F1, N1)).reshape(b, T, N1)
        # horizontal conv: im2col over 12 frames, column order p*50 + c as the kernel's (12, 1, 50, 30).
        patches = v.unfold(1, T2, 1).transpose(2, 3).reshape(b * H2, T2 * N1)
        h = torch.addmm(bias["horizontal_convolution"], patches, k["horizontal_convolution"].reshape(T2 * N1, N2))
        code = F.relu(torch.addmm(bias["global_dense"], h.reshape(b, FLAT), k["global_dense"]))   # t*30 + c
        outs = []
        for s in SOURCES:
            d = F.relu(torch.addmm(bias[f"single_dense_{s}"], code, k[f"single_dense_{s}"]))      # (B, 420)
            # transposed conv: columns (B*14, 12*50) = d (B*14, 30) @ K(600, 30)^T, then col2im over time.
            cols = d.reshape(b * H2, N2) @ k[f"horizontal_deconvolution_{s}"].reshape(T2 * N1, N2).t()
            cols = cols.reshape(b, H2, T2, N1).permute(0, 3, 2, 1).reshape(b, N1 * T2, H2)    # (B, C*kh, L)
            hd = F.fold(cols, output_size=(T, 1), kernel_size=(T2, 1))                           # (B, 50, 25, 1)
            hd = hd.reshape(b, N1, T).transpose(1, 2).reshape(b * T, N1) + bias[f"horizontal_deconvolution_{s}"]
            # vertical transposed conv: each (b, t) row of 50 channels spreads over 513 bins.
            out = torch.addmm(bias[f"vertical_deconvolution_{s}"], hd,
                              k[f"vertical_deconvolution_{s}"].reshape(F1, N1).t())
            outs.append(out.reshape(b, T, BINS))
        return outs

    @torch.no_grad()
    def load_keras(self, weights):
        for name in layer_names():
            kernel, bias = (torch.as_tensor(a) for a in weights[name])
            self.kernels[name].copy_(kernel.to(self.kernels[name].dtype))
            self.biases[name].copy_(bias.to(self.biases[name].dtype))

    def keras_weights(self):
        return {n: (self.kernels[n].detach(), self.biases[n].detach()) for n in layer_names()}

    def keras_grads(self):
        return {n: (self.kernels[n].grad, self.biases[n].grad) for n in layer_names()}


# ----------------------------------------------------------------------------------------------
# Masks, estimates, loss, optimizer (shared by both forms)

def soft_masks(outputs, eps=MASK_EPS):
    d = [o.abs() for o in outputs]
    total = d[0] + d[1] + d[2] + d[3] + eps
    return [di / total for di in d]


def discriminative_loss(e, y, alpha=ALPHA, beta=BETA, gamma=GAMMA):
    """METHOD.md's loss; e and y in source order (bass, drums, other, vocals), each (B, T, F)."""
    b, d, o, v = 0, 1, 2, 3

    def sqd(p, q):
        return (p - q).pow(2).sum()
    fit = sqd(e[b], y[b]) + sqd(e[d], y[d]) + sqd(e[v], y[v])
    apart = (sqd(e[b], e[d]) + sqd(e[b], e[v]) + sqd(e[v], e[d])
             + sqd(e[b], e[o]) + sqd(e[d], e[o]) + sqd(e[v], e[o]))
    away = sqd(e[b], y[o]) + sqd(e[d], y[o])
    vocals_away = sqd(e[v], y[o])
    return (fit - alpha * apart - beta * away - gamma * vocals_away) / e[0].shape[0]


def forward_loss(net, mixture, targets, alpha=ALPHA, beta=BETA, gamma=GAMMA, mask_eps=MASK_EPS):
    """(masks, estimates, loss) for mixture (B, T, F) and four targets (B, T, F)."""
    masks = soft_masks(net(mixture), mask_eps)
    estimates = [m * mixture for m in masks]
    return masks, estimates, discriminative_loss(estimates, targets, alpha, beta, gamma)


def make_optimizer(net, lr=LR, rho=RHO, eps=ADA_EPS):
    return torch.optim.Adadelta(net.parameters(), lr=lr, rho=rho, eps=eps)


def train_step(net, optimizer, mixture, targets):
    optimizer.zero_grad(set_to_none=False)
    loss = forward_loss(net, mixture, targets)[2]
    loss.backward()
    optimizer.step()
    return loss


# ----------------------------------------------------------------------------------------------
# Benchmark

def random_batch(batch, generator):
    """Magnitude-like data: non-negative, with four targets summing to the mixture."""
    targets = [torch.rand(batch, T, BINS, generator=generator) ** 2 for _ in SOURCES]
    return sum(targets), targets


def bench_form(cls, steps, warmup, generator, song_windows=SONG_WINDOWS):
    torch.manual_seed(0)
    net = cls()
    optimizer = make_optimizer(net)
    mixture, targets = random_batch(32, generator)
    for _ in range(warmup):
        train_step(net, optimizer, mixture, targets)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        train_step(net, optimizer, mixture, targets)
        times.append(time.perf_counter() - start)

    song = torch.rand(song_windows, T, BINS, generator=generator)
    with torch.no_grad():
        masks = soft_masks(net(song[:64]))                    # warm-up
        start = time.perf_counter()
        for i in range(0, song_windows, 64):
            masks = soft_masks(net(song[i:i + 64]))
        forward_seconds = time.perf_counter() - start
    del masks

    median = statistics.median(times)
    flop = step_flop(32)
    return {
        "name": cls.name, "batch": 32, "frames": T, "bins": BINS,
        "step_ms_median": round(median * 1e3, 3),
        "step_ms_min": round(min(times) * 1e3, 3),
        "step_ms_max": round(max(times) * 1e3, 3),
        "windows_per_second": round(32 / median, 1),
        "gflop_per_step": round(flop / 1e9, 4),
        "gflops": round(flop / median / 1e9, 2),
        "forward_4min_seconds": round(forward_seconds, 4),
        "forward_4min_windows": song_windows,
        "steps": steps,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", metavar="FILE", help="also write the JSON list to FILE")
    parser.add_argument("--steps", type=int, default=100, help="timed training steps per form (>= 50 recommended)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--song-windows", type=int, default=SONG_WINDOWS,
                        help=f"windows of the 4-minute song's forward pass (default {SONG_WINDOWS}; the Separator makes {SEPARATOR_WINDOWS})")
    parser.add_argument("--forms", default="module,gemm", help="comma-separated: module, gemm")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or args.threads < 1 or args.song_windows < 1:
        parser.error("--steps and --threads must be positive, --warmup non-negative")
    torch.set_num_threads(args.threads)
    forms = {"module": ModuleNet, "gemm": GemmNet}
    chosen = [f.strip() for f in args.forms.split(",") if f.strip()]
    for f in chosen:
        if f not in forms:
            parser.error(f"--forms: unknown form {f!r} (expected module, gemm)")
    generator = torch.Generator().manual_seed(2017)
    results = []
    for f in chosen:
        r = bench_form(forms[f], args.steps, args.warmup, generator, args.song_windows)
        print(f"{r['name']:15s} step {r['step_ms_median']:8.2f} ms (min {r['step_ms_min']:.2f}, max {r['step_ms_max']:.2f}), "
              f"{r['windows_per_second']:7.1f} windows/s, {r['gflops']:6.2f} GFLOP/s, "
              f"4-min forward {r['forward_4min_seconds']:.3f} s ({args.song_windows} windows)", file=sys.stderr)
        results.append(r)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as out:
            out.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
