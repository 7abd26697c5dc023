"""Time each notebook's core sweep: the batched engine against a per-seed loop of nn.Modules.

The loop is the style of the papers' official code: for every seed, build an ``nn.Sequential`` of
``Linear`` and normalisation modules, run one sample batch through it, and compute the metric of
each layer. Both sides draw their own random networks, so the printed summaries agree in
distribution (within seed noise), not bit for bit. Run: ``make benchmark`` or
``python benchmarks/bench_sweeps.py --help``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from normprop import claims as presets
from normprop import data, gradients, metrics, nets, seeding, train
from normprop.activations import resolve_activation
from normprop.repro import runtime


class NoAffineNorm(nn.Module):
    """Batch norm without centering or affine parameters (unit RMS per feature), as a module."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z / (z.norm(dim=0, keepdim=True) / math.sqrt(z.shape[0]))


class Rescale(nn.Module):
    """The vanilla chain's overflow guard: divide by the overall RMS."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z / z.square().mean().sqrt()


class Activation(nn.Module):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.function = resolve_activation(name)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.function(z)


def loop_block(width: int, spec: dict) -> nn.Module:
    """One layer as the official code builds it: Linear, then normalisation and activation modules."""
    linear = nn.Linear(width, width, bias=False)
    if spec.get("init", "gaussian") == "orthogonal":
        nn.init.orthogonal_(linear.weight)
    else:
        nn.init.normal_(linear.weight, std=1 / math.sqrt(width))
    norm = spec.get("norm", "batch")
    if norm == "layer" and not spec.get("centering", False):
        raise ValueError("the loop baseline has layer norm with centering only (nn.LayerNorm)")
    normalisation = {
        "batch": NoAffineNorm,
        "layer": lambda: nn.LayerNorm(width, elementwise_affine=False, eps=0.0),
        "none": Rescale,
    }[norm]()
    activation = Activation(spec.get("activation", "identity"))
    stages = [activation, normalisation] if spec.get("order", "norm_act") == "act_norm" else [normalisation, activation]
    return nn.Sequential(linear, *stages)


def loop_chain(
    x: torch.Tensor, width: int, depth: int, spec: dict, metric: Callable, every: int, seed: int
) -> np.ndarray:
    """Per-seed loop: returns metric values of shape (seeds, recorded layers)."""
    rows = []
    for index in range(x.shape[0]):
        torch.manual_seed(seed + index)
        model = nn.Sequential(*[loop_block(width, spec) for _ in range(depth)])
        h, values = x[index], [metric(x[index]).item()]
        with torch.no_grad():
            for layer, block in enumerate(model, start=1):
                h = block(h)
                if layer % every == 0 or layer == depth:
                    values.append(metric(h).item())
        rows.append(values)
    return np.array(rows)


def batched_chain(
    x: torch.Tensor, width: int, depth: int, spec: dict, metric: Callable, every: int, seed: int
) -> np.ndarray:
    table = nets.measure_chain(
        x, nets.NetworkSpec(width, depth, **spec), {"value": metric}, seeding.make_generator(seed), every=every
    )
    return table.pivot(index="seed", columns="layer", values="value").to_numpy()


def loop_gradients(x: torch.Tensor, width: int, depth: int, spec: dict, seed: int, outputs: int = 10) -> np.ndarray:
    """Per-seed loop: build the model, run forward and backward, read log ||dL/dW_0||; shape (seeds, 1)."""
    values = []
    for index in range(x.shape[0]):
        torch.manual_seed(seed + index)
        model = nn.Sequential(*[loop_block(width, spec) for _ in range(depth)]).double()
        readout = torch.randn(width, outputs, dtype=torch.float64) / math.sqrt(width)
        targets = torch.randn(x.shape[1], outputs, dtype=torch.float64)
        loss = (model(x[index]) @ readout - targets).square().sum() / x.shape[1]
        loss.backward()
        values.append([model[0][0].weight.grad.norm().log().item()])
    return np.array(values)


def batched_gradients(x: torch.Tensor, width: int, depth: int, spec: dict, seed: int) -> np.ndarray:
    chain = nets.NetworkSpec(width, depth, **spec)
    return gradients.log_gradient_norms(x, chain, seeding.make_generator(seed)).numpy()


@dataclass
class Sweep:
    name: str
    configs: list[dict]  # each: inputs + chain arguments
    summary: Callable[[np.ndarray], float]  # per-config metric array (seeds, layers) -> one number
    batched: Callable[..., np.ndarray] = batched_chain
    loop: Callable[..., np.ndarray] = loop_chain


def notebook01_sweeps(preset: str) -> list[Sweep]:
    cfg = presets.load_preset("01_orthogonality", preset)
    generator = seeding.make_generator(0)
    seeds, n = cfg["seeds"], cfg["batch_size"]
    floor = [
        {
            "x": data.near_collinear_batch(seeds, n, width, generator),
            "width": width,
            "depth": cfg["fig2b_depth"],
            "spec": {"norm": "batch"},
            "metric": metrics.orthogonality_gap,
            "every": 1,
        }
        for width in cfg["fig2b_widths"]
    ]
    rank = [
        {
            "x": data.gaussian_batch(seeds, cfg["rank_width"], cfg["rank_width"], generator),
            "width": cfg["rank_width"],
            "depth": cfg["rank_depth"],
            "spec": {"norm": norm},
            "metric": lambda h: metrics.numerical_rank(h, precision=torch.float32),
            "every": cfg["rank_every"],
        }
        for norm in ("batch", "none")
    ]
    return [
        Sweep("01 Fig. 2b: gap floor vs width", floor, lambda v: float(v[:, cfg["burn_in"] + 1 :].mean())),
        Sweep("01 rank collapse: BN and vanilla", rank, lambda v: float(v[:, -1].mean())),
    ]


def notebook02_sweeps(preset: str) -> list[Sweep]:
    cfg = presets.load_preset("02_entropy", preset)
    generator = seeding.make_generator(0)
    regime = [
        {
            "x": data.near_collinear_batch(
                cfg["seeds"], cfg["batch_size"], width, generator, cosine=cfg["input_cosine"]
            ),
            "width": width,
            "depth": cfg["depth"],
            "spec": {"norm": "batch"},
            "metric": metrics.entropy_deficit,
            "every": 1,
        }
        for width in cfg["widths"]
    ]
    # The median copes with the infinite deficits of the narrowest widths.
    return [Sweep("02 width regime: entropy deficit vs depth", regime, lambda v: float(np.median(v[:, -1])))]


def notebook03_sweeps(preset: str) -> list[Sweep]:
    cfg = presets.load_preset("03_isometry", preset)
    generator = seeding.make_generator(0)
    activations = ["identity", "relu", "tanh", "sigmoid", "sin", "exp", "gelu"]
    configs = [
        {
            "x": data.spiked_batch(cfg["seeds"], cfg["batch_size"], cfg["width"], generator, factor=cfg["spike"]),
            "width": cfg["width"],
            "depth": cfg["depth"],
            "spec": {"norm": "layer", "centering": True, "order": "act_norm", "activation": activation},
            "metric": metrics.isometry_gap,
            "every": 1,
        }
        for activation in activations
    ]
    return [Sweep("03 validation MLP: isometry gap, 7 activations", configs, lambda v: float(v[:, -1].mean()))]


def notebook04_sweeps(preset: str) -> list[Sweep]:
    cfg = presets.load_preset("04_bounded_gradients", preset)
    generator = seeding.make_generator(0)
    width = cfg["grad_width"]
    configs = [
        {
            "x": data.gaussian_batch(cfg["seeds"], width, width, generator, torch.float64),
            "width": width,
            "depth": depth,
            "spec": {"norm": "batch", "init": init},
        }
        for init in ("orthogonal", "gaussian")
        for depth in cfg["grad_depths"]
    ]
    summary = lambda v: float(v.mean())  # noqa: E731
    name = "04 gradients: log ||dL/dW_0||, orthogonal and Gaussian, all depths"
    return [Sweep(name, configs, summary, batched=batched_gradients, loop=loop_gradients)]


def loop_training(
    x: torch.Tensor, y: torch.Tensor, width: int, depth: int, seed: int, seeds: int, epochs: int
) -> np.ndarray:
    """Per-seed loop: an nn.Sequential MLP and its own optimiser per seed; final training loss of each."""
    losses = []
    for index in range(seeds):
        torch.manual_seed(seed + index)
        layers: list[nn.Module] = []
        for fan_in in [x.shape[1]] + [width] * (depth - 1):
            layers += [nn.Linear(fan_in, width, bias=False), nn.ReLU()]
        model = nn.Sequential(*layers, nn.Linear(width, 10, bias=False))
        for module in model:
            if isinstance(module, nn.Linear):
                nn.init.xavier_normal_(module.weight)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        order_generator = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=order_generator)
            for start in range(0, len(x), 32):
                batch = order[start : start + 32]
                loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            losses.append([nn.functional.cross_entropy(model(x), y).item()])
    return np.array(losses)


def batched_training(
    x: torch.Tensor, y: torch.Tensor, width: int, depth: int, seed: int, seeds: int, epochs: int
) -> np.ndarray:
    generator = seeding.make_generator(seed)
    spec = nets.NetworkSpec(width, depth, norm="none", activation="relu", init="xavier")
    weights = train.init_weights(seeds, x.shape[1], spec, generator)
    history = train.sgd(x, y, weights, spec, epochs, generator).history
    return history[history.epoch == epochs][["loss"]].to_numpy()


def notebook05_sweeps(preset: str) -> list[Sweep]:
    cfg = presets.load_preset("05_sgd_acceleration", preset)
    x, y, _, _ = data.digits()
    configs = [
        {"x": x, "y": y, "width": cfg["width"], "depth": depth, "seeds": cfg["seeds"], "epochs": 2}
        for depth in cfg["depths"]
    ]
    name = "05 training: Xavier MLPs on digits, 2 epochs, all depths"
    return [Sweep(name, configs, lambda v: float(v.mean()), batched=batched_training, loop=loop_training)]


SWEEPS = {
    "01": notebook01_sweeps,
    "02": notebook02_sweeps,
    "03": notebook03_sweeps,
    "04": notebook04_sweeps,
    "05": notebook05_sweeps,
}


def time_sweep(sweep: Sweep, engine: Callable[..., np.ndarray], seed: int) -> tuple[float, list[float]]:
    start = time.perf_counter()
    summaries = [sweep.summary(engine(**config, seed=seed)) for config in sweep.configs]
    return time.perf_counter() - start, summaries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", nargs="*", default=sorted(SWEEPS), help="notebook numbers (default: all)")
    parser.add_argument("--preset", default="paper", choices=presets.PRESET_NAMES)
    parser.add_argument("--threads", type=int, nargs="*", default=[1], help="torch threads to measure")
    parser.add_argument("--skip-loop", action="store_true", help="time only the batched engine")
    args = parser.parse_args()
    print(f"preset {args.preset}; times in seconds; summary = the sweep's headline mean for each config")
    for threads in args.threads:
        runtime.configure(threads=threads)
        for key in args.notebooks:
            for sweep in SWEEPS[key](args.preset):
                # Untimed warm-up of both engines: first calls pay one-off imports and allocations
                # (the first torch.optim step alone imports for about 2 s).
                sweep.batched(**sweep.configs[0], seed=0)
                if not args.skip_loop:
                    sweep.loop(**sweep.configs[0], seed=0)
                batched_seconds, batched_summary = time_sweep(sweep, sweep.batched, seed=1)
                line = f"[{threads} thread(s)] {sweep.name}: batched {batched_seconds:.2f} s"
                if not args.skip_loop:
                    loop_seconds, loop_summary = time_sweep(sweep, sweep.loop, seed=1)
                    line += f", per-seed loop {loop_seconds:.2f} s, speed-up {loop_seconds / batched_seconds:.1f}x"
                    line += f"\n    summaries batched {np.round(batched_summary, 3).tolist()}"
                    line += f"\n    summaries loop    {np.round(loop_summary, 3).tolist()}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
