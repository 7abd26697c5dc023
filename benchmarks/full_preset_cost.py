"""Estimate the compute of each notebook's ``full`` preset (the papers' sizes) from short timed slices.

Every sweep of the notebooks is a set of chains (or training runs) whose cost is linear in depth (layers, or
SGD steps) and in the number of seed shards. So each workload below is timed on a slice -- one shard of seeds at
the full widths, a few layers or steps -- and the time is scaled up by depth (or steps) and by shards. The same
model applied to the ``paper`` preset gives its compute, which can be compared with the paper runs' measured
runtimes (the model leaves out kernel start, imports and plotting, so it should come out below them).
Run: ``python benchmarks/full_preset_cost.py`` (one torch thread: core-seconds); ``--notebooks 01 04``.

The workloads follow the notebooks' sweeps as of this script; when a notebook gains a sweep, add it here.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from normprop import claims as presets
from normprop import data, gradients, metrics, nets, seeding, train
from normprop.claims import all_claims

SLICE_LAYERS = 20


def _seconds(function: Callable[[], object], repeat: int = 2) -> float:
    function()  # warm-up (allocations, kernels)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def chain(seeds: int, n: int, width: int, depth: int, chosen: dict, every: int = 1, dtype=torch.float32, **spec):
    """Core-seconds of one chain configuration: a slice of layers at the real sizes, scaled to ``depth``."""
    layers = min(depth, SLICE_LAYERS if every == 1 else max(SLICE_LAYERS, 2 * every))
    generator = seeding.make_generator(0)

    def run() -> None:
        x = data.gaussian_batch(seeds, n, width, generator, dtype)
        nets.measure_chain(x, nets.NetworkSpec(width, layers, **spec), chosen, generator, every=every)

    return _seconds(run) * depth / layers


def gradient(seeds: int, width: int, depths: list[int], **spec) -> float:
    """Core-seconds of fresh networks at every depth in ``depths``, one backward pass each (04)."""
    generator = seeding.make_generator(0)
    probe = min(depths[-1], 50)
    x = data.gaussian_batch(seeds, width, width, generator, torch.float64)
    per_layer = _seconds(lambda: gradients.log_gradient_norms(x, nets.NetworkSpec(width, probe, **spec), generator))
    return per_layer / probe * sum(depths)


def training(seeds: int, width: int, inputs: int, samples: int, depth: int, epochs: int, **spec) -> float:
    """Core-seconds of training ``seeds`` MLPs (batched) for ``epochs`` epochs over ``samples`` examples:
    one epoch over a 1024-example slice, scaled by the data set size."""
    generator = seeding.make_generator(0)
    slice_size = 1024
    x = torch.randn(slice_size, inputs, generator=generator)
    y = torch.randint(0, 10, (slice_size,), generator=generator)
    spec = nets.NetworkSpec(width, depth, **{"norm": "none", "init": "xavier", **spec})
    one_epoch = _seconds(lambda: train.fit(x, y, spec, seeds, 1, generator), repeat=1)
    return one_epoch * samples / slice_size * epochs


def notebook_01(cfg: dict) -> dict[str, float]:
    seeds, shard, n = cfg["seeds"], cfg["seeds_per_task"], cfg["batch_size"]
    shards = -(-seeds // shard)
    gap, cosine = {"gap": metrics.orthogonality_gap}, {"abs_cos": metrics.mean_abs_cosine}
    ranks = {"numerical_rank": metrics.numerical_rank, "stable_rank": metrics.stable_rank}
    return {
        "fig1": shards * 2 * chain(shard, n, cfg["fig1_width"], cfg["fig1_depth"], cosine),
        "fig2a": shards * sum(chain(shard, n, w, cfg["fig2a_depth"], gap) for w in cfg["fig2a_widths"]),
        "fig2b": shards * sum(chain(shard, n, w, cfg["fig2b_depth"], gap) for w in cfg["fig2b_widths"]),
        "rank": shards
        * sum(
            chain(shard, cfg["rank_width"], cfg["rank_width"], cfg["rank_depth"], ranks, cfg["rank_every"], norm=norm)
            for norm in ("batch", "none")
        ),
        "stable_rank": shards
        * sum(
            chain(shard, w, w, cfg["stable_rank_depth"], {"s": metrics.stable_rank}, every=10)
            for w in cfg["stable_rank_widths"]
        ),
        "activations": shards
        * 5
        * chain(shard, n, cfg["activation_width"], cfg["activation_depth"], gap, activation="tanh"),
    }


def notebook_02(cfg: dict) -> dict[str, float]:
    seeds, n, depth = cfg["seeds"], cfg["batch_size"], cfg["depth"]
    entropy = {"entropy": metrics.entropy, "deficit": metrics.entropy_deficit}
    main = chain(seeds, n, cfg["main_width"], depth, entropy)
    return {
        "main (3 cases)": 3 * main,
        "width regime": sum(chain(seeds, n, w, depth, entropy) for w in cfg["widths"]),
        "activations": len(cfg["activations"]) * main,
        "centred BN": 3 * main,
    }


def notebook_03(cfg: dict) -> dict[str, float]:
    seeds, n, width, depth = cfg["seeds"], cfg["batch_size"], cfg["width"], cfg["depth"]
    isometry = {"gap": metrics.isometry_gap, "potential": metrics.correlation_potential}
    run = chain(seeds, n, width, depth, isometry, norm="layer", centering=True, activation="tanh")
    return {
        "validation MLP (14 activations) + stages": 2 * 14 * run,
        "ablations (16 runs)": 16 * run,
        "width ablation": sum(
            chain(seeds, n, w, depth, isometry, norm="layer", centering=True) for w in cfg["ablation_widths"]
        ),
    }


def notebook_04(cfg: dict) -> dict[str, float]:
    seeds = cfg["seeds"]
    rate = {
        w: chain(
            seeds,
            w,
            w,
            cfg["rate_depth"],
            {"gap": metrics.isometry_gap},
            dtype=torch.float64,
            norm="batch",
            norm_scale="unit",
            init="orthogonal",
        )  # fmt: skip
        for w in cfg["rate_widths"]
    }
    linear = gradient(seeds, cfg["grad_width"], cfg["grad_depths"], norm="batch", norm_scale="unit", init="orthogonal")
    generator = seeding.make_generator(0)
    samples = cfg["theorem3_samples"]
    theorem3 = _seconds(lambda: nets.haar_orthogonal(samples // 10, 8, 8, generator, torch.float64)) * 10
    return {
        "isometry rate": sum(rate.values()),
        "theorem 3": theorem3 * len(cfg["theorem3_dims"]) * cfg["theorem3_inputs"],
        "gradients (4 runs) + shaping (4 runs)": 8 * linear,
    }


def notebook_05(cfg: dict) -> dict[str, float]:
    seeds, width = cfg["seeds"], cfg["width"]
    inputs, samples = (3072, 50000) if cfg["dataset"] == "cifar10" else (64, 1437)

    def run(depth: int, epochs: int, **spec) -> float:
        return training(seeds, width, inputs, samples, depth, epochs, **spec)

    return {
        "fig3a + fig4 (2 inits)": 2 * sum(run(d, cfg["epochs"]) for d in cfg["depths"]),
        "fig3b": run(cfg["fig3b_depth"], cfg["fig3b_epochs"]),
        "variants (3)": 3 * run(cfg["variant_depth"], cfg["variant_epochs"]),
        "supporting BN (2 norms)": 2 * sum(run(d, cfg["support_epochs"]) for d in cfg["support_depths"]),
        "beta": len(cfg["beta_activations"]) * run(cfg["beta_depth"], cfg["beta_epochs"]),
    }


WORKLOADS = {
    "01_orthogonality": notebook_01,
    "02_entropy": notebook_02,
    "03_isometry": notebook_03,
    "04_bounded_gradients": notebook_04,
    "05_sgd_acceleration": notebook_05,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", nargs="*", default=[], help="numbers or names (default: all)")
    parser.add_argument("--presets", nargs="*", default=["paper", "full"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    missing = [claim.notebook for claim in all_claims() if claim.notebook not in WORKLOADS]
    if missing:  # a new claim needs a cost model here (tests/repro/test_docs.py checks it too)
        raise SystemExit(f"no cost model for {missing}: add one to WORKLOADS")
    chosen = [name for name in WORKLOADS if not args.notebooks or any(name.startswith(k) for k in args.notebooks)]
    for name in chosen:
        for preset in args.presets:
            parts = WORKLOADS[name](dict(presets.load_preset(name, preset)))
            total = sum(parts.values())
            detail = ", ".join(f"{part} {seconds:.0f} s" for part, seconds in parts.items())
            print(f"{name} {preset}: {total:.0f} core-s = {total / 3600:.2f} core-h ({detail})", flush=True)


if __name__ == "__main__":
    main()
