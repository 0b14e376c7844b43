#!/usr/bin/env python3
"""A plain PyTorch implementation of one PatchGD training step (Algorithm 1), written for the
benchmark in packages/optimizer/bench/patchgd.ts: the same configuration as ours, so that the
two can be timed side by side. Not part of CI; needs `python3-torch` and `python3-torchvision`.

Model: torchvision ResNet50 with its classifier replaced by a linear layer to the latent size
(as our `resnet50` with `featureDim`: global average pooling, then a dense projection), and the
reference conv head (as our `convHead`: conv3x3 -> ReLU -> BatchNorm -> Dropout2d blocks, one
stride-1 then three stride-2 at width 256, flatten, linear). Step: fill Z without gradients with
batch norm in training mode, then zeta inner iterations that re-encode k sampled patches per
image with gradients, write them into Z, run the head on all of Z and accumulate loss / epsilon;
one Adam step every epsilon inner iterations. Random images.

    python3 scripts/bench/patchgd_step.py --threads 2            # one result line (JSON)
    python3 scripts/bench/patchgd_step.py --ratio --patches 4    # train pass / forward of ResNet50

Prints `RESULT {json}`: seconds per image (after one warm-up batch), fill and inner seconds per
batch, and the peak resident set size of the process.
"""

import argparse
import json
import resource
import statistics
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=512, help="image side in pixels")
    ap.add_argument("--patch", type=int, default=128, help="patch side p in pixels")
    ap.add_argument("--k", type=int, help="patches per image per inner iteration (default: grid / 8)")
    ap.add_argument("--inner", type=int, default=8, help="inner iterations zeta")
    ap.add_argument("--accumulation", type=int, help="inner iterations per optimizer step epsilon (default zeta)")
    ap.add_argument("--batch", type=int, default=2, help="images per batch B")
    ap.add_argument("--batches", type=int, default=1, help="timed batches after the warm-up batch")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--feature-dim", type=int, default=256, help="latent size s")
    ap.add_argument("--classes", type=int, default=2)
    ap.add_argument("--fill-batch", type=int, default=64, help="patches per backbone call while filling Z")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--ratio", action="store_true", help="measure the ResNet50 train pass / forward instead")
    ap.add_argument("--patches", type=int, default=4, help="with --ratio: patches per call")
    ap.add_argument("--reps", type=int, default=3, help="with --ratio: timed repetitions after one warm-up")
    return ap.parse_args()


args = parse_args()

import torch  # noqa: E402  (after the arguments, so --help works without torch)
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)
torch.manual_seed(args.seed)


def peak_rss_bytes():
    # Linux reports ru_maxrss in KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def make_backbone(feature_dim):
    model = torchvision.models.resnet50(weights=None)
    model.fc = nn.Linear(model.fc.in_features, feature_dim)
    return model


def conv_head(feature_dim, grid, classes, width=256, stride1=1, stride2=3, dropout=0.2):
    layers = []
    channels, side = feature_dim, grid
    for i in range(stride1 + stride2):
        stride = 1 if i < stride1 else 2
        # padding 1 gives TensorFlow 'same' output sizes for 3x3 at stride 1 and 2
        layers += [nn.Conv2d(channels, width, 3, stride=stride, padding=1), nn.ReLU(), nn.BatchNorm2d(width)]
        if dropout > 0:
            layers.append(nn.Dropout2d(dropout))
        channels = width
        side = side if stride == 1 else (side + 1) // 2
    layers += [nn.Flatten(), nn.Linear(width * side * side, classes)]
    return nn.Sequential(*layers)


def ratio():
    backbone = make_backbone(args.feature_dim)
    x = torch.randn(args.patches, 3, args.patch, args.patch)

    def forward():
        backbone.eval()
        with torch.no_grad():
            backbone(x)

    def train():
        backbone.train()
        backbone.zero_grad(set_to_none=True)
        torch.mean(torch.square(backbone(x))).backward()

    times = {"forward": [], "train": []}
    for rep in range(-1, args.reps):
        for name, fn in (("forward", forward), ("train", train)):
            start = time.perf_counter()
            fn()
            if rep >= 0:
                times[name].append(time.perf_counter() - start)
    forward_s = statistics.median(times["forward"])
    train_s = statistics.median(times["train"])
    return {"forwardMs": forward_s * 1000, "trainMs": train_s * 1000, "ratio": train_s / forward_s}


def step_benchmark():
    p, b, s = args.patch, args.batch, args.feature_dim
    grid = args.size // p
    cells = grid * grid
    k = args.k or max(1, cells // 8)
    zeta = args.inner
    eps = min(args.accumulation or zeta, zeta)
    backbone = make_backbone(s)
    head = conv_head(s, grid, args.classes)
    optimizer = torch.optim.Adam(list(backbone.parameters()) + list(head.parameters()), lr=1e-3)
    images = torch.rand(b, 3, args.size, args.size)
    labels = torch.randint(0, args.classes, (b,))
    # [B, m*n, C, p, p], row-major cells: the patches are views cut once, as our grid reads them
    patches = images.unfold(2, p, p).unfold(3, p, p).permute(0, 2, 3, 1, 4, 5).reshape(b, cells, 3, p, p)
    rows = torch.arange(b)[:, None]

    def cpu_seconds():
        usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of the process
        return usage.ru_utime + usage.ru_stime

    def train_batch():
        backbone.train()
        head.train()
        start = time.perf_counter()
        cpu = cpu_seconds()
        # Algorithm 2: Z without gradients, batch norm in training mode (statistics update), in
        # chunks of fill-batch patches across the images of the batch
        with torch.no_grad():
            flat = patches.reshape(b * cells, 3, p, p)
            feats = torch.cat([backbone(flat[i : i + args.fill_batch]) for i in range(0, b * cells, args.fill_batch)])
            z = feats.reshape(b, cells, s).transpose(1, 2).contiguous()  # [B, s, m*n]
        filled = time.perf_counter()
        # random cover: a fresh permutation of the cells per image, k at a time
        order = torch.stack([torch.randperm(cells) for _ in range(b)])
        optimizer.zero_grad(set_to_none=True)
        loss_sum = 0.0
        for j in range(zeta):
            at = (j * k) % cells
            idx = order[:, at : at + k]  # [B, k]
            features = backbone(patches[rows, idx].reshape(b * k, 3, p, p)).reshape(b, k, s)
            z_next = z.scatter(2, idx[:, None, :].expand(b, s, k), features.transpose(1, 2))
            group = min(eps, zeta - (j // eps) * eps)
            loss = F.cross_entropy(head(z_next.reshape(b, s, grid, grid)), labels) / group
            loss.backward()
            loss_sum += loss.item() * group
            z = z_next.detach()  # the re-encoded features stay in Z
            if (j + 1) % eps == 0 or j == zeta - 1:
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
        end = time.perf_counter()
        return {
            "fill": filled - start,
            "inner": end - filled,
            "total": end - start,
            "cpu": cpu_seconds() - cpu,
            "loss": loss_sum / zeta,
        }

    warm = train_batch()
    timed = [train_batch() for _ in range(args.batches)]
    total = sum(t["total"] for t in timed)
    return {
        "warmupSeconds": warm["total"],
        "secondsPerImage": total / (args.batches * b),
        "fillSecondsPerBatch": sum(t["fill"] for t in timed) / args.batches,
        "innerSecondsPerBatch": sum(t["inner"] for t in timed) / args.batches,
        "coresBusy": sum(t["cpu"] for t in timed) / total,
        "loss": timed[-1]["loss"],
        "config": {"size": args.size, "patch": p, "grid": grid, "k": k, "zeta": zeta, "epsilon": eps, "batch": b},
    }


result = ratio() if args.ratio else step_benchmark()
result.update(
    {
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": sys.version.split()[0],
        "peakRssBytes": peak_rss_bytes(),
    }
)
print("RESULT " + json.dumps(result), flush=True)
