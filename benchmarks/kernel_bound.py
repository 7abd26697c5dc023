"""How far the two heaviest training sweeps are from the bare kernels they must run (issue: speed).

For one task of 05's main sweep (plain ReLU MLP, SGD on the digits) and one of 04's training at depth (linear
BN MLP, ``act_norm``), time the task as the notebook runs it, then the same arithmetic written as bare batched
kernels with buffers preallocated per layer: the forward matrix products and activations, the backward products
written out by hand (no autograd, no optimiser object, no per-call checks), the SGD update in place, and the
full-data evaluations the task makes. The ratio task / bare is the overhead left in the package (autograd,
dispatch, Python per layer); 1.0 would mean the package runs at the speed of its kernels. A third column times a
**plain autograd loop** over the same shapes (the shortest forward formula, ``torch.autograd.grad``, an in-place
update): what autograd itself costs over the bare kernels, the reference the issue set for the package.

Run on a quiet machine, one torch thread: ``python benchmarks/kernel_bound.py`` (add ``--repeats 3``).
``--floor`` prints instead a lower bound on the paper preset's two training sweeps: the layer-epochs they must
train times the bare kernels' cost of one (no evaluation, no initialisation, nothing else counted).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

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


def paired(
    name: str,
    task: Callable[[], object],
    plain: Callable[[], object],
    bare: Callable[[], object],
    repeats: int,
) -> tuple[str, tuple[float, float, float], tuple[float, float, float]]:
    """Time the three versions of one task in ``repeats`` rounds after one untimed call of each, each round running
    them back to back, so that a ratio compares runs that saw the same load (this machine's speed drifts by 10-30%
    over minutes). Returns the fastest time of each and the median over rounds of task / bare, plain / bare and
    task / plain."""
    for function in (task, plain, bare):  # untimed: the first call pays lazy imports and loads the digits
        function()
    rounds = []
    for _ in range(repeats):
        rounds.append([best_of(function, 1) for function in (task, plain, bare)])
    fastest = tuple(min(r[i] for r in rounds) for i in range(3))
    ratios = tuple(statistics.median(r[a] / r[b] for r in rounds) for a, b in ((0, 2), (1, 2), (0, 1)))
    return name, fastest, ratios


def bare_relu_sgd(
    x: torch.Tensor,
    y: torch.Tensor,
    weights: list[torch.Tensor],
    epochs: int,
    lr: float,
    batch: int,
    evaluate: bool = True,
):
    """SGD on a plain ReLU MLP (hidden layers then a linear readout) with hand-written backward passes (and a
    full-data loss after every epoch, unless ``evaluate`` is False)."""
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
        if not evaluate:
            continue
        with torch.no_grad():  # one full-data loss per epoch: the task evaluates as often (at init and at 2)
            bare_forward(x.expand(seeds, -1, -1), weights, bn=False)
    return weights


def bare_bn_sgd(
    x: torch.Tensor,
    y: torch.Tensor,
    weights: list[torch.Tensor],
    epochs: int,
    lr: float,
    batch: int,
    evaluate: bool = True,
):
    """SGD on a linear MLP with uncentred unit-variance BN after every hidden layer, hand-written backward (and
    the task's two readings at the end, unless ``evaluate`` is False)."""
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
    if evaluate:
        bn_readings(x, weights, batch)
    return weights


def bn_readings(x: torch.Tensor, weights: list[torch.Tensor], batch: int) -> None:
    """The two readings 04's task makes once, after training: one full-data forward pass (BN over the whole
    training set) and one in mini-batches (BN as SGD sees it)."""
    seeds = weights[0].shape[0]
    with torch.no_grad():
        bare_forward(x.expand(seeds, -1, -1), weights, bn=True)
        for start in range(0, len(x), batch):
            bare_forward(x[start : start + batch].expand(seeds, -1, -1), weights, bn=True)


def bare_forward(h: torch.Tensor, weights: list[torch.Tensor], bn: bool) -> torch.Tensor:
    """The logits of the bare kernels' network: every hidden layer's product followed by uncentred unit-variance
    BN (``bn``) or ReLU, then the linear readout."""
    for layer, w in enumerate(weights):
        h = h @ w
        if layer < len(weights) - 1:
            h = h / h.square().mean(-2, keepdim=True).sqrt() if bn else torch.relu(h)
    return h


def plain_autograd_sgd(
    x: torch.Tensor, y: torch.Tensor, weights: list[torch.Tensor], epochs: int, lr: float, batch: int, bn: bool
) -> list[torch.Tensor]:
    """SGD on the bare kernels' network (ReLU without normalisation, or linear with uncentred unit-variance BN),
    written as the shortest autograd loop: the forward formula, ``torch.autograd.grad``, ``w -= lr * g``."""
    weights = [w.clone().requires_grad_(True) for w in weights]
    seeds = weights[0].shape[0]
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), batch):
            index = order[start : start + batch]
            logits = bare_forward(x[index].expand(seeds, -1, -1), weights, bn)
            loss = F.cross_entropy(logits.mT, y[index].expand(seeds, -1), reduction="none").mean(-1).sum()
            with torch.no_grad():
                for w, g in zip(weights, torch.autograd.grad(loss, weights), strict=True):
                    w.sub_(lr * g)
        if not bn:  # as the bare loop: one full-data loss per epoch
            with torch.no_grad():
                bare_forward(x.expand(seeds, -1, -1), weights, bn=False)
    if bn:
        with torch.no_grad():
            bn_readings(x, [w.detach() for w in weights], batch)
    return [w.detach() for w in weights]


def layer_epochs_04(sizes: dict) -> int:
    """Layer-epochs (one hidden layer trained for one epoch, all 8 seeds) that 04's training and step-scan sweeps
    cannot avoid at ``sizes``, counted low: the linear orthogonal runs at every step, the orthogonal runs with each
    activation with and without the gain (at the cost of a linear layer, though ``tanh`` costs more), and the
    Gaussian runs at every step for one epoch only (they may diverge in the first and be dropped)."""
    depths, epochs, steps = sum(sizes["train_depths"]), sizes["train_epochs"], len(sizes["train_steps"])
    orthogonal = steps * depths * epochs
    activations = 2 * len(sizes["train_activations"]) * depths * epochs
    gaussian = steps * depths
    return orthogonal + activations + gaussian


def layer_epochs_05(sizes: dict) -> int:
    """Layer-epochs of 05's main sweep at ``sizes``: three inits at every depth, every epoch."""
    return 3 * sum(sizes["depths"]) * sizes["epochs"]


def floor(x: torch.Tensor, y: torch.Tensor, repeats: int) -> None:
    """A lower bound on the paper preset's two training sweeps (04's training and step scan, 05's main runs): their
    layer-epochs times the bare kernels' cost of one, timed here without any evaluation, at the tasks' shapes."""
    claim05, claim04 = claim_module("05"), claim_module("04")
    depth, seeds = 25, claim05.PAPER["seeds"]
    spec = NetworkSpec(64, depth, norm="none", activation="relu", init="he")
    weights = train.init_weights(seeds, x.shape[1], spec, seeding.make_generator(0))
    relu = best_of(lambda: bare_relu_sgd(x, y, weights, 2, 0.01, 32, evaluate=False), repeats) / (2 * depth)
    depth, seeds = 200, claim04.PAPER["train_seeds"]
    spec = NetworkSpec(48, depth, norm="batch", norm_scale="rms", order="act_norm", init="orthogonal")
    weights = train.init_weights(seeds, x.shape[1], spec, seeding.make_generator(0))
    bn = best_of(lambda: bare_bn_sgd(x, y, weights, 2, 0.005, 48, evaluate=False), repeats) / (2 * depth)
    rows = [
        ("04 training and step scan", layer_epochs_04(claim04.PAPER), bn),
        ("05 main runs", layer_epochs_05(claim05.PAPER), relu),
    ]
    print("| sweep (paper preset) | layer-epochs (8 seeds each) | bare kernels per layer-epoch | floor |")
    print("|---|---|---|---|")
    for name, count, cost in rows:
        print(f"| {name} | {count} | {cost * 1e3:.2f} ms | {count * cost:.0f} core-s |")
    total = sum(count * cost for _, count, cost in rows)
    print(f"\nboth: {total:.0f} core-s, {total / 2:.0f} s of wall clock on 2 cores at best (2 minutes: 240 core-s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--floor", action="store_true", help="the bare kernels' time of the paper preset's two training sweeps"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y, _, _ = data.classification_data("digits")
    if args.floor:
        floor(x, y, args.repeats)
        return
    claim05, claim04 = claim_module("05"), claim_module("04")
    rows = []

    # 05: the main sweep's task at depth 25, He, 8 seeds, 2 epochs (the paper preset trains 20).
    depth, seeds, epochs = 25, 8, 2
    settings = claim05.training_settings(claim05.PAPER)
    spec = NetworkSpec(64, depth, norm="none", activation="relu", init="he")
    weights05 = train.init_weights(seeds, x.shape[1], spec, seeding.make_generator(0))
    rows.append(
        paired(
            "05 main: He, depth 25, 8 seeds, 2 epochs",
            lambda: claim05.history(depth, "he", seeds, seeding.make_generator(0), epochs=epochs, **settings),
            lambda: plain_autograd_sgd(x, y, weights05, epochs, 0.01, 32, bn=False),
            lambda: bare_relu_sgd(x, y, weights05, epochs, 0.01, 32),
            args.repeats,
        )
    )

    # 04: training at depth 200, linear orthogonal BN, 8 seeds, 2 epochs, batch 48 (without the gradient at init).
    spec = NetworkSpec(48, 200, norm="batch", norm_scale="rms", order="act_norm", init="orthogonal")
    weights04 = train.init_weights(seeds, x.shape[1], spec, seeding.make_generator(0))
    rows.append(
        paired(
            "04 training: linear BN, depth 200, 8 seeds, 2 epochs",
            lambda: claim04.train_at_depth(
                "orthogonal", 200, 48, 48, 2, 0.005, seeds, seeding.make_generator(0), False, init="orthogonal"
            ),
            lambda: plain_autograd_sgd(x, y, weights04, 2, 0.005, 48, bn=True),
            lambda: bare_bn_sgd(x, y, weights04, 2, 0.005, 48),
            args.repeats,
        )
    )

    print(
        "| task | as the notebook runs it | plain autograd loop | bare kernels | task / bare | plain / bare "
        "| task / plain |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, (task_s, plain_s, bare_s), (task_bare, plain_bare, task_plain) in rows:
        print(
            f"| {name} | {task_s:.2f} s | {plain_s:.2f} s | {bare_s:.2f} s | {task_bare:.2f}x | {plain_bare:.2f}x "
            f"| {task_plain:.2f}x |"
        )
    print(f"(fastest of {args.repeats} rounds; ratios: median over rounds, each round timing the three in a row)")


if __name__ == "__main__":
    main()
