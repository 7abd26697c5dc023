"""How far the two heaviest training sweeps are from the bare kernels they must run (issue: speed).

For one task of 05's main sweep (plain ReLU MLP, SGD on the digits) and one of 04's training at depth (linear
BN MLP, ``act_norm``), time the task as the notebook runs it, then the same arithmetic written as bare batched
kernels with buffers preallocated per layer: the forward matrix products and activations, the backward products
written out by hand (no autograd, no optimiser object, no per-call checks), the SGD update in place, and the
full-data evaluation once per epoch. The ratio task / bare is the overhead left in the package (autograd,
dispatch, Python per layer); 1.0 would mean the package runs at the speed of its kernels.

Run on a quiet machine, one torch thread: ``python benchmarks/kernel_bound.py`` (add ``--repeats 3``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from normprop import data, seeding, train
from normprop.claims import claim_module
from normprop.nets import NetworkSpec


def best_of(function: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` timed calls, in seconds (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def bare_relu_sgd(x: torch.Tensor, y: torch.Tensor, weights: list[torch.Tensor], epochs: int, lr: float, batch: int):
    """SGD on a plain ReLU MLP (hidden layers then a linear readout) with hand-written backward passes."""
    weights = [w.clone() for w in weights]
    seeds, depth = weights[0].shape[0], len(weights)
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), batch):
            index = order[start : start + batch]
            h = [x[index].expand(seeds, -1, -1)]
            for layer, w in enumerate(weights):
                z = h[-1] @ w
                h.append(z if layer == depth - 1 else torch.relu_(z))
            logits = h[-1]
            grad = torch.softmax(logits, -1)
            grad[:, torch.arange(len(index)), y[index]] -= 1
            grad /= len(index)
            for layer in range(depth - 1, -1, -1):
                step = h[layer].mT @ grad
                if layer > 0:
                    grad = (grad @ weights[layer].mT) * (h[layer] > 0)
                weights[layer].sub_(lr * step)
        with torch.no_grad():  # the per-epoch full-data loss the task records
            h = x.expand(seeds, -1, -1)
            for layer, w in enumerate(weights):
                h = h @ w if layer == depth - 1 else torch.relu(h @ w)
    return weights


def bare_bn_sgd(x: torch.Tensor, y: torch.Tensor, weights: list[torch.Tensor], epochs: int, lr: float, batch: int):
    """SGD on a linear MLP with uncentred unit-variance BN after every hidden layer, hand-written backward."""
    weights = [w.clone() for w in weights]
    seeds, depth = weights[0].shape[0], len(weights)
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), batch):
            index = order[start : start + batch]
            h, scales = [x[index].expand(seeds, -1, -1)], []
            for layer, w in enumerate(weights):
                z = h[-1] @ w
                if layer < depth - 1:
                    scale = z.square().mean(-2, keepdim=True).sqrt()
                    scales.append(scale)
                    z = z / scale
                h.append(z)
            grad = torch.softmax(h[-1], -1)
            grad[:, torch.arange(len(index)), y[index]] -= 1
            grad /= len(index)
            for layer in range(depth - 1, -1, -1):
                if layer < depth - 1:  # through BN: dz = (g - y mean(g y)) / s
                    out = h[layer + 1]
                    grad = (grad - out * (grad * out).mean(-2, keepdim=True)) / scales[layer]
                step = h[layer].mT @ grad
                if layer > 0:
                    grad = grad @ weights[layer].mT
                weights[layer].sub_(lr * step)
        with torch.no_grad():
            h = x.expand(seeds, -1, -1)
            for layer, w in enumerate(weights):
                h = h @ w
                if layer < depth - 1:
                    h = h / h.square().mean(-2, keepdim=True).sqrt()
    with torch.no_grad():  # the task's second reading: the loss with BN over mini-batches, once at the end
        for start in range(0, len(x), batch):
            h = x[start : start + batch].expand(seeds, -1, -1)
            for layer, w in enumerate(weights):
                h = h @ w
                if layer < depth - 1:
                    h = h / h.square().mean(-2, keepdim=True).sqrt()
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y, _, _ = data.classification_data("digits")
    claim05, claim04 = claim_module("05"), claim_module("04")
    rows = []

    # 05: the main sweep's task at depth 25, He, 8 seeds, 2 epochs (the paper preset trains 20).
    depth, seeds, epochs = 25, 8, 2
    settings = claim05.training_settings(claim05.PAPER)
    task = best_of(
        lambda: claim05.history(depth, "he", seeds, seeding.make_generator(0), epochs=epochs, **settings),
        args.repeats,
    )
    spec = NetworkSpec(64, depth, norm="none", activation="relu", init="he")
    weights = train.init_weights(seeds, x.shape[1], spec, seeding.make_generator(0))
    bare = best_of(lambda: bare_relu_sgd(x, y, weights, epochs, 0.01, 32), args.repeats)
    rows.append(("05 main: He, depth 25, 8 seeds, 2 epochs", task, bare))

    # 04: training at depth 200, linear orthogonal BN, 8 seeds, 2 epochs, batch 48 (without the gradient at init).
    depth = 200
    task = best_of(
        lambda: claim04.train_at_depth(
            "orthogonal", depth, 48, 48, 2, 0.005, seeds, seeding.make_generator(0), False, init="orthogonal"
        ),
        args.repeats,
    )
    spec = NetworkSpec(48, depth, norm="batch", norm_scale="rms", order="act_norm", init="orthogonal")
    weights = train.init_weights(seeds, x.shape[1], spec, seeding.make_generator(0))
    bare = best_of(lambda: bare_bn_sgd(x, y, weights, 2, 0.005, 48), args.repeats)
    rows.append(("04 training: linear BN, depth 200, 8 seeds, 2 epochs", task, bare))

    print("| task | as the notebook runs it | bare kernels | ratio |")
    print("|---|---|---|---|")
    for name, task_seconds, bare_seconds in rows:
        print(f"| {name} | {task_seconds:.2f} s | {bare_seconds:.2f} s | {task_seconds / bare_seconds:.2f}x |")


if __name__ == "__main__":
    main()
