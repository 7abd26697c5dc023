"""Claim 01: batch norm orthogonalizes representations and avoids rank collapse.

The notebook ``notebooks/01_orthogonality.ipynb`` tells the story; this module holds what is specific to the claim:
its catalog entry and preset sizes, the task functions of its sweeps (one random chain each, batched over a shard of
seeds), one function per figure that runs its sweeps and summaries given the notebook's session, the longer plots,
and the claim's checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from normprop.claims import Claim, cite, lazy_import

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from normprop.repro.session import Session

np = lazy_import("numpy")
torch = lazy_import("torch")
pd = lazy_import("pandas")
sns = lazy_import("seaborn")
analysis = lazy_import("normprop.analysis")
data = lazy_import("normprop.data")
metrics = lazy_import("normprop.metrics")
nets = lazy_import("normprop.nets")
theory = lazy_import("normprop.theory")
plotting = lazy_import("normprop.repro.plotting")

CITATIONS = (cite("daneshmand2021batch"), cite("daneshmand2020batch"))

QUICK = {
    "seeds": 10,
    "fig1_width": 32,
    "fig1_depth": 40,
    "batch_size": 4,
    "fig2a_widths": [32, 256],
    "fig2a_depth": 60,
    "fig2b_widths": [16, 32, 64, 128],
    "fig2b_depth": 150,
    "burn_in": 50,
    "floor_extra_batch_sizes": [2, 8],
    "rank_width": 32,
    "rank_depth": 1000,
    "rank_every": 10,
    "stable_rank_widths": [16, 32, 64, 128],
    "stable_rank_depth": 60,
    "activation_depth": 40,
    "activation_width": 64,
    "seeds_per_task": 10,
}

PAPER = {
    "seeds": 20,
    "fig1_width": 32,
    "fig1_depth": 50,
    "batch_size": 4,
    "fig2a_widths": [32, 512],
    "fig2a_depth": 100,
    "fig2b_widths": [16, 32, 64, 128, 256, 512],
    "fig2b_depth": 500,
    "burn_in": 50,
    "floor_extra_batch_sizes": [2, 8],
    "rank_width": 32,
    "rank_depth": 5000,
    "rank_every": 10,
    "stable_rank_widths": [16, 32, 64, 128, 256, 512],
    "stable_rank_depth": 100,
    "activation_depth": 100,
    "activation_width": 128,
    "seeds_per_task": 20,
}

# 2021: Fig. 2b over d = 16..512 with 500 layers; 2020: rank of d = n = 32 over thousands of layers.
FULL_CHANGES = {
    "seeds": 100,
    "fig2a_depth": 500,
    "fig2b_widths": [16, 32, 64, 128, 256, 512, 1024],
    "rank_depth": 20000,
    "stable_rank_widths": [16, 32, 64, 128, 256, 512, 1024],
    "activation_depth": 500,
    "activation_width": 512,
    "seeds_per_task": 10,  # 10 tasks per configuration, for a cluster
}

CLAIM = Claim(
    notebook="01_orthogonality",
    title="Batch norm orthogonalizes representations and avoids rank collapse",
    statement="In deep random linear networks, batch normalization makes representations increasingly "
    "orthogonal with depth, down to an O(1/sqrt(width)) floor (widths 16-512 at batch size 4; batch sizes 2 and 8 "
    "as a supporting line), and avoids rank collapse.",
    citations=CITATIONS,
    presets={"quick": QUICK, "paper": PAPER, "full": {**PAPER, **FULL_CHANGES}},
    runtime={"quick": 25, "paper": 64, "full": 1190},
    figures={
        "01_fig1_cosine": "2021 Fig. 1",
        "01_fig2a_gap_vs_depth": "2021 Fig. 2a",
        "01_fig2b_gap_vs_width": "2021 Fig. 2b (right: the floor at batch sizes 2, 4, 8)",
        "01_rank_collapse": "2020 Fig. 2 and Fig. 3a",
        "01_activations": "2021 App. F",
    },
)


# --- Task functions: one random chain per call, batched over a shard of seeds ---------------------------------

#: Fig. 1's inputs, by name: the data function drawing a batch of that kind.
INPUTS = {"near-collinear": "near_collinear_batch", "orthogonal": "orthogonal_batch"}
#: App. F's activations, in the order of the figure's legend.
ACTIVATIONS = ["identity", "tanh", "sin", "relu", "sigmoid"]
#: Fig. 2a's transient: the layers a line is fitted to, before the floor is reached.
TRANSIENT_LAYERS = 6
#: The stable rank is recorded every this many layers.
STABLE_RANK_EVERY = 10


def cosine_chain(
    network: str, norm: str, x: str, width: int, depth: int, batch_size: int, seeds: int, generator: torch.Generator
) -> pd.DataFrame:
    """2021 Fig. 1: the mean ``|cos|`` over the sample pairs of a batch, per layer, of the chain
    ``H_{l+1} = norm(H_l W_l)`` (``norm`` ``"batch"`` or ``"none"``) from inputs of kind ``x`` (:data:`INPUTS`);
    ``label`` names the curve, ``"<network> (<x> input)"``."""
    batch = getattr(data, INPUTS[x])(seeds, batch_size, width, generator)
    spec = nets.NetworkSpec(width, depth, norm=norm)
    table = nets.measure_chain(batch, spec, {"abs_cos": metrics.mean_abs_cosine}, generator)
    return table.assign(label=f"{network} ({x} input)")


def gap_chain(width: int, depth: int, batch_size: int, seeds: int, generator: torch.Generator) -> pd.DataFrame:
    """The 2021 BN chain ``H_{l+1} = BN(H_l W_l)`` from near-collinear inputs: its orthogonality gap per layer,
    ``V(H) = || H H^T / ||H||_F^2 - I_n / n ||_F`` (2021, eq. 2)."""
    x = data.near_collinear_batch(seeds, batch_size, width, generator)
    return nets.measure_chain(x, nets.NetworkSpec(width, depth), {"gap": metrics.orthogonality_gap}, generator)


def float32_numerical_rank(h: torch.Tensor) -> torch.Tensor:
    """The numerical rank at float32 round-off: singular values above ``max(n, d) eps_float32 s_max`` count."""
    return metrics.numerical_rank(h, precision=torch.float32)


def rank_chain(
    network: str, norm: str, width: int, depth: int, every: int, seeds: int, generator: torch.Generator
) -> pd.DataFrame:
    """2020 Fig. 2: the numerical rank (float32 tolerance) and the stable rank ``tr(G)^2 / ||G||_F^2`` of the Gram
    ``G = H H^T``, every ``every`` layers of a ``d = n = width`` chain from Gaussian inputs, with BN
    (``norm="batch"``) or without."""
    x = data.gaussian_batch(seeds, width, width, generator)
    ranks = {"numerical_rank": float32_numerical_rank, "stable_rank": metrics.stable_rank}
    return nets.measure_chain(x, nets.NetworkSpec(width, depth, norm=norm), ranks, generator, every=every)


def stable_rank_chain(width: int, depth: int, seeds: int, generator: torch.Generator) -> pd.DataFrame:
    """2020 Fig. 3a: the stable rank of the BN chain (``d = n = width``, Gaussian inputs) every
    :data:`STABLE_RANK_EVERY` layers; the paper bounds it from below by a multiple of ``sqrt(d)``."""
    x = data.gaussian_batch(seeds, width, width, generator)
    spec = nets.NetworkSpec(width, depth)
    return nets.measure_chain(x, spec, {"stable_rank": metrics.stable_rank}, generator, every=STABLE_RANK_EVERY)


def activation_chain(
    activation: str, width: int, depth: int, batch_size: int, seeds: int, generator: torch.Generator
) -> pd.DataFrame:
    """2021 App. F: the orthogonality gap per layer of ``H_{l+1} = activation(BN(H_l W_l))`` from near-collinear
    inputs."""
    x = data.near_collinear_batch(seeds, batch_size, width, generator)
    spec = nets.NetworkSpec(width, depth, activation=activation)
    return nets.measure_chain(x, spec, {"gap": metrics.orthogonality_gap}, generator)


# --- Figures: each one's sweeps and summaries, given the notebook's session ------------------------------------


def fig1(session: Session) -> dict[str, Any]:
    """2021 Fig. 1: BN from near-collinear inputs against vanilla from orthogonal ones. ``table`` (one row per
    network, seed and layer), ``final``: ``{"BN" | "vanilla": Estimate}`` of the last layer's ``|cos|``."""
    sizes = session.sizes
    table = session.cases(
        "fig1",
        cosine_chain,
        [dict(network="BN", norm="batch", x="near-collinear"), dict(network="vanilla", norm="none", x="orthogonal")],
        fixed={"width": sizes["fig1_width"], "depth": sizes["fig1_depth"], "batch_size": sizes["batch_size"]},
        seeds=sizes["seeds"],
        shard=sizes["seeds_per_task"],
    )
    return {"table": table, "final": analysis.estimates_at_layer(table, "abs_cos", "network")}


def fig2a(session: Session) -> dict[str, Any]:
    """2021 Fig. 2a: the BN chain's gap over depth at two widths. ``table`` (with ``log_gap``),
    ``transient_rate``: per width, the slope of ``log E[V]`` over layers ``0..TRANSIENT_LAYERS``;
    ``transient_rate_ci``: per width, the slope of ``log V`` over the same layers fitted to each seed alone (Estimate
    over seeds); ``late_gap``: per width, the Estimate over seeds of the mean gap over the second half of the layers
    (the floor)."""
    sizes = session.sizes
    table = session.grid(
        "fig2a",
        gap_chain,
        fixed={"depth": sizes["fig2a_depth"], "batch_size": sizes["batch_size"]},
        seeds=sizes["seeds"],
        shard=sizes["seeds_per_task"],
        width=sizes["fig2a_widths"],
    )
    table["log_gap"] = np.log(table["gap"])
    transient_rate, transient_rate_ci = {}, {}
    for width, chains in table.groupby("width"):
        early = chains[chains.layer <= TRANSIENT_LAYERS]
        mean_curve = early.groupby("layer")["gap"].mean()
        transient_rate[width] = analysis.fit_line(mean_curve.index, np.log(mean_curve.to_numpy()))[0]
        transient_rate_ci[width] = analysis.per_seed_slope(early, "layer", "log_gap")
    late_gap = {
        width: analysis.mean_ci(chains[chains.layer > chains.layer.max() // 2].groupby("seed")["gap"].mean())
        for width, chains in table.groupby("width")
    }
    return {
        "table": table,
        "transient_rate": transient_rate,
        "transient_rate_ci": transient_rate_ci,
        "late_gap": late_gap,
    }


def mean_floor(chains: pd.DataFrame, burn_in: int, by: list[str]) -> pd.DataFrame:
    """Per group of ``by`` (with ``seed``): the mean gap over the layers after ``burn_in``, the floor of Fig. 2b."""
    return chains.query(f"layer > {burn_in}").groupby([*by, "seed"], as_index=False)["gap"].mean()


def fig2b(session: Session) -> dict[str, Any]:
    """2021 Fig. 2b: the floor of the gap against width. ``table``: per width and seed, the mean gap over the layers
    after the burn-in and its logs (``log_width``, ``log_mean_gap``); ``slope`` and ``intercept`` of the pooled fit
    of ``log_mean_gap`` on ``log_width``; ``slope_ci``: the exponent fitted per seed (Estimate over seeds).

    The paper measures the floor at one batch size (``n = 4``, :data:`QUICK`'s ``batch_size``). A supporting sweep
    repeats it at the batch sizes ``floor_extra_batch_sizes`` (same widths, depth, burn-in and seed count), so that
    the rule is stated over the range of ``n`` it was measured at: ``by_batch_size``, per batch size, width and seed,
    the floor; ``exponent_by_batch_size``: per batch size, the width exponent fitted per seed (Estimate over seeds);
    ``batch_size_exponent``: the exponent of ``n`` in a joint per-seed fit ``floor ~ C n^b d^a`` (Estimate)."""
    sizes = session.sizes
    fixed = {"depth": sizes["fig2b_depth"]}
    grid = {"seeds": sizes["seeds"], "shard": sizes["seeds_per_task"], "width": sizes["fig2b_widths"]}
    chains = session.grid("fig2b", gap_chain, fixed={**fixed, "batch_size": sizes["batch_size"]}, **grid)
    floor = mean_floor(chains, sizes["burn_in"], ["width"])
    floor["log_width"], floor["log_mean_gap"] = np.log(floor["width"]), np.log(floor["gap"])
    slope, intercept = analysis.fit_line(floor["log_width"], floor["log_mean_gap"])
    slope_ci = analysis.per_seed_exponent(floor, "width", "gap")
    extra = session.grid(
        "fig2b_batch_size", gap_chain, fixed=fixed, batch_size=sizes["floor_extra_batch_sizes"], **grid
    )
    by_batch_size = pd.concat(
        [mean_floor(extra, sizes["burn_in"], ["batch_size", "width"]), floor.assign(batch_size=sizes["batch_size"])],
        ignore_index=True,
    )[["batch_size", "width", "seed", "gap"]].sort_values(["batch_size", "width", "seed"], ignore_index=True)
    return {
        "table": floor,
        "slope": slope,
        "intercept": intercept,
        "slope_ci": slope_ci,
        "by_batch_size": by_batch_size,
        "exponent_by_batch_size": {
            int(n): analysis.per_seed_exponent(rows, "width", "gap") for n, rows in by_batch_size.groupby("batch_size")
        },
        "batch_size_exponent": analysis.per_seed_power_law(by_batch_size, ["batch_size", "width"], "gap")["batch_size"],
    }


def theorem1_table(floor: pd.DataFrame, batch_size: int) -> pd.DataFrame:
    """Per width: the measured floor (mean over seeds of :func:`fig2b`'s table) next to Theorem 1's floor term
    ``3 n / (alpha sqrt(d))`` at ``alpha = 1`` (2021, Theorem 1), and their ratio."""
    theorem = floor.groupby("width", as_index=False)["gap"].mean().rename(columns={"gap": "measured floor"})
    bound = [theory.theorem1_orthogonality_bound(batch_size, int(width), np.inf) for width in theorem.width]
    theorem["bound floor (alpha = 1)"] = bound
    theorem["bound / measured"] = theorem["bound floor (alpha = 1)"] / theorem["measured floor"]
    return theorem


def rank_collapse(session: Session) -> dict[str, Any]:
    """2020 Fig. 2 and 3a. ``rank``: numerical and stable rank per layer, BN and vanilla; ``final``:
    ``{"BN" | "vanilla": Estimate}`` of the last recorded layer's numerical rank; ``stable``: per width and seed,
    the BN chain's stable rank averaged over its second half; ``stable_rank_slope``: the exponent of the stable rank
    in the width, fitted per seed (Estimate over seeds)."""
    sizes = session.sizes
    width, depth, shard = sizes["rank_width"], sizes["rank_depth"], sizes["seeds_per_task"]
    rank = session.cases(
        "rank",
        rank_chain,
        [dict(network="BN", norm="batch"), dict(network="vanilla", norm="none")],
        fixed={"width": width, "depth": depth, "every": sizes["rank_every"]},
        seeds=sizes["seeds"],
        shard=shard,
    )
    stable_depth = sizes["stable_rank_depth"]
    stable = (
        session.grid(
            "stable_rank",
            stable_rank_chain,
            fixed={"depth": stable_depth},
            seeds=sizes["seeds"],
            shard=shard,
            width=sizes["stable_rank_widths"],
        )
        .query("layer >= @stable_depth // 2")
        .groupby(["width", "seed"], as_index=False)
        .mean()
    )
    return {
        "rank": rank,
        "final": analysis.estimates_at_layer(rank, "numerical_rank", "network"),
        "stable": stable,
        "stable_rank_slope": analysis.per_seed_exponent(stable, "width", "stable_rank"),
    }


def activation_chains(session: Session) -> dict[str, Any]:
    """2021 App. F: the BN chain with each of :data:`ACTIVATIONS`. ``table`` (gap per activation, seed and layer),
    ``final``: ``{activation: Estimate}`` of the last layer's gap."""
    sizes = session.sizes
    table = session.grid(
        "activations",
        activation_chain,
        fixed={
            "width": sizes["activation_width"],
            "depth": sizes["activation_depth"],
            "batch_size": sizes["batch_size"],
        },
        seeds=sizes["seeds"],
        shard=sizes["seeds_per_task"],
        activation=ACTIVATIONS,
    )
    return {"table": table, "final": analysis.estimates_at_layer(table, "gap", "activation")}


# --- Plots that take more than a couple of lines ---------------------------------------------------------------


def plot_fig2b(ax: Axes, fig2b: dict[str, Any], sizes: Mapping[str, Any], band: Mapping[str, Any]) -> None:
    """The floor against width in log-log, the pooled fit and a line of slope -1/2 through its first point."""
    slope, intercept = fig2b["slope"], fig2b["intercept"]
    sns.lineplot(fig2b["table"], x="log_width", y="log_mean_gap", marker="o", ax=ax, label="simulation", **band)
    grid = np.log(np.array(sizes["fig2b_widths"], dtype=float))
    ax.plot(grid, intercept + slope * grid, "--", color="k", label=f"fit: slope {slope:.2f}")
    ax.plot(grid, intercept + slope * grid[0] - 0.5 * (grid - grid[0]), ":", color="gray", label="slope -1/2")
    ax.set(
        xlabel="log width",
        ylabel=f"log mean gap (layers {sizes['burn_in']}-{sizes['fig2b_depth']})",
        title=f"BN chain, n = {sizes['batch_size']}, {sizes['seeds']} seeds",
    )
    ax.legend()


def plot_floor_by_batch_size(
    ax: Axes, fig2b: dict[str, Any], sizes: Mapping[str, Any], band: Mapping[str, Any]
) -> None:
    """The floor against width in log-log for each batch size of :func:`fig2b`'s supporting sweep, each labelled
    with its width exponent (mean over seeds)."""
    table = fig2b["by_batch_size"]
    exponents = fig2b["exponent_by_batch_size"]
    table = table.assign(n=[f"n = {n} (slope {exponents[n].mean:.2f})" for n in table["batch_size"]])
    sns.lineplot(table, x="width", y="gap", hue="n", marker="o", palette="colorblind", ax=ax, **band)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="width d",
        ylabel=f"mean gap (layers {sizes['burn_in']}-{sizes['fig2b_depth']})",
        title="the floor at three batch sizes",
    )
    plotting.log_ticks(ax, np.array(sizes["fig2b_widths"], dtype=float))
    ax.legend(title=None)


def plot_rank_collapse(axes: Any, rank: dict[str, Any], sizes: Mapping[str, Any], band: Mapping[str, Any]) -> None:
    """Left: numerical rank over layers, BN and vanilla (band: 2 standard errors). Right: the BN stable rank
    against width in log-log, with a ``sqrt(d)`` reference through its first point."""
    from matplotlib.ticker import ScalarFormatter

    sns.lineplot(rank["rank"], x="layer", y="numerical_rank", hue="network", ax=axes[0], errorbar=("se", 2))
    axes[0].set(
        yscale="log",
        xlabel="layer",
        ylabel="numerical rank (float32 tolerance)",
        title=f"d = n = {sizes['rank_width']}",
    )
    stable = rank["stable"]
    sns.lineplot(stable, x="width", y="stable_rank", marker="o", ax=axes[1], label="BN", **band)
    widths = np.array(sizes["stable_rank_widths"], dtype=float)
    reference = stable.groupby("width")["stable_rank"].mean().iloc[0] * np.sqrt(widths / widths[0])
    axes[1].plot(widths, reference, ":", color="gray", label="∝ sqrt(d)")
    axes[1].set(yscale="log", xlabel="width d (= n)", ylabel="stable rank", title="BN chain, deep layers")
    plotting.log_ticks(axes[1], widths)
    axes[1].yaxis.set_major_formatter(ScalarFormatter())
    axes[1].minorticks_off()
    axes[1].legend()


# --- The claim check ---------------------------------------------------------------------------------------------


def checks(
    fig1: Mapping[str, Any],
    fig2a: Mapping[str, Any],
    fig2b: Mapping[str, Any],
    rank: Mapping[str, Any],
    activations: Mapping[str, Any],
) -> tuple[dict[str, analysis.Check | bool], dict[str, Any], dict[str, analysis.Check]]:
    """The claim's checks, its recorded numbers and its supporting lines, from the results of :func:`fig1`,
    :func:`fig2a`, :func:`fig2b`, :func:`rank_collapse` and :func:`activation_chains`.

    Tolerances are the 95% intervals over seeds, with nothing added; each check that compares an interval with a
    threshold or another interval is an :class:`normprop.analysis.Check` with its margin. The gap floor's width
    exponent is compared with Theorem 1's ``d^(-1/2)`` floor term (an upper bound: it may fall faster, not slower);
    the stable rank's with the 2020 ``sqrt(d)`` lower bound. Supporting lines, outside the verdict: whether the
    floor's exponent is -1/2 exactly, and whether the floor falls no slower than ``d^(-1/2)`` at every batch size
    of the supporting sweep (the verdict's floor check is at ``n = 4`` only).
    """
    width_slope, width_slope_ci = fig2b["slope"], fig2b["slope_ci"]
    exponent_by_batch_size = fig2b["exponent_by_batch_size"]
    bn_cos_final, vanilla_cos_final = fig1["final"]["BN"], fig1["final"]["vanilla"]
    bn_rank_final, vanilla_rank_final = rank["final"]["BN"], rank["final"]["vanilla"]
    stable_rank_slope = rank["stable_rank_slope"]
    transient_rate, transient_rate_ci, late_gap = fig2a["transient_rate"], fig2a["transient_rate_ci"], fig2a["late_gap"]
    final_gap = activations["final"]
    numbers = {
        "width_slope": width_slope,
        "bn_abs_cos_final": bn_cos_final.mean,
        "vanilla_abs_cos_final": vanilla_cos_final.mean,
        "bn_rank_final": bn_rank_final.mean,
        "vanilla_rank_final": vanilla_rank_final.mean,
        "stable_rank_slope": stable_rank_slope.mean,
        "width_slope_ci": [width_slope_ci.low, width_slope_ci.high],
        "stable_rank_slope_ci": [stable_rank_slope.low, stable_rank_slope.high],
        "transient_rate": transient_rate,
        "transient_rate_ci": {width: [rate.low, rate.high] for width, rate in transient_rate_ci.items()},
        "floor_by_width": {width: late.mean for width, late in late_gap.items()},
        "final_gap_by_activation": {name: value.mean for name, value in final_gap.items()},
        "width_slope_by_batch_size": {n: exponent.mean for n, exponent in exponent_by_batch_size.items()},
        "width_slope_ci_by_batch_size": {n: [e.low, e.high] for n, e in exponent_by_batch_size.items()},
        "floor_batch_size_exponent": fig2b["batch_size_exponent"].mean,
        "floor_batch_size_exponent_ci": [fig2b["batch_size_exponent"].low, fig2b["batch_size_exponent"].high],
    }
    narrow, wide = min(late_gap), max(late_gap)
    odd = [final_gap["tanh"], final_gap["sin"]]
    batch_sizes = ", ".join(map(str, exponent_by_batch_size))
    claim_checks = {
        "all numbers finite": bool(
            all(np.isfinite(v) for v in [width_slope, bn_cos_final.mean, vanilla_cos_final.mean])
        ),
        "BN decorrelates near-collinear inputs": analysis.below(bn_cos_final, 0.5),
        "vanilla drifts towards collinearity": analysis.above(vanilla_cos_final, 0.2),
        "BN ends more orthogonal than vanilla": analysis.apart(bn_cos_final, vanilla_cos_final),
        "transient: log gap falls at every width": analysis.every(
            analysis.below(rate, 0.0) for rate in transient_rate_ci.values()
        ),
        "floor: wider is lower": analysis.apart(late_gap[wide], late_gap[narrow]),
        "gap floor falls no slower than width^(-1/2): exponent CI reaches -1/2": analysis.reaches_below(
            width_slope_ci, -0.5
        ),
        "BN avoids rank collapse": analysis.every(
            [analysis.above(bn_rank_final, 2.0), analysis.apart(vanilla_rank_final, bn_rank_final)]
        ),
        "vanilla collapses to rank 1-2": analysis.below(vanilla_rank_final, 3.0),
        "BN stable rank grows no slower than sqrt(width): exponent CI reaches 1/2": analysis.reaches_above(
            stable_rank_slope, 0.5
        ),
        "BN stable rank grows with width: exponent CI above 0": analysis.above(stable_rank_slope, 0.0),
        "tanh and sin orthogonalize, sigmoid does not": analysis.every(
            analysis.apart(gap, final_gap["sigmoid"]) for gap in odd
        ),
        "ReLU ends between the odd activations and sigmoid": analysis.every(
            [
                *(analysis.apart(gap, final_gap["relu"]) for gap in odd),
                analysis.apart(final_gap["relu"], final_gap["sigmoid"]),
            ]
        ),
    }
    supporting = {
        "gap floor exponent is -1/2 exactly: per-seed CI contains -1/2": analysis.contains(width_slope_ci, -0.5),
        f"gap floor falls no slower than width^(-1/2) at n = {batch_sizes}: every exponent CI reaches -1/2": (
            analysis.every(analysis.reaches_below(exponent, -0.5) for exponent in exponent_by_batch_size.values())
        ),
    }
    return claim_checks, numbers, supporting
