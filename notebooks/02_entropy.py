# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: kernelspec,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Depth maximises the entropy of batch-normalised representations
#
# **Claim.** In a random network with batch normalization (BN), the entropy of the representation of a batch
# rises with depth towards its maximum, for linear, odd (tanh, sin) and centred activations, provided the
# network is wide enough compared with the batch; width, depth and activation set how close to the maximum it
# gets. Without BN the entropy falls instead, as representations collapse.
#
# **Paper.** A. Joudaki, H. Daneshmand, F. Bach. *Entropy Maximization with Depth: A Variational Principle for
# Random Neural Networks.* [arXiv:2205.13076 **v1**](https://arxiv.org/abs/2205.13076v1) (later versions were
# retitled and dropped this claim). The v1 text was not available to us: the figures here are a
# reconstruction of its operational claim (see *Deviations*).
#
# **Entropy proxy.** A pre-activation row $z = w H^\top$ with $w \sim \mathcal N(0, I_d/d)$ is Gaussian with
# covariance $M = G/d$, $G = H H^\top$, so its differential entropy is
# $h(H) = \tfrac n2 \log(2\pi e) + \tfrac12 \log\det M$. We rescale $H$ so that $\operatorname{tr} M = n$ (unit
# average variance), which makes $h$ scale-free; its maximum is then $h_{\max} = \tfrac n2\log(2\pi e)$ at $M = I$,
# and the **deficit** is exactly $h_{\max} - h = \tfrac n2\,\phi(H)$, with
# $\phi = \log(\text{mean eig}\, G) - \text{mean}(\log \text{eig}\, G)$ the isometry gap. A singular Gram has
# entropy $-\infty$ (deficit $+\infty$).
#
# **Construction.** $H_{\ell+1} = \sigma(\mathrm{BN}(H_\ell W_\ell))$, $W_\ell$ i.i.d. $\mathcal N(0, 1/d)$, BN without
# centering or affine parameters (unit mean square per feature), $n = 8$ samples, inputs near-collinear (pairwise
# cosine about 0.9, deficit about 7 nats) so that there is entropy to gain.

# %% tags=["parameters"]
preset = "quick"  # "quick": small and fast (CI); "paper": the sizes of the committed figures
seed = 0
threads = None  # torch intra-op threads; None: $NORMPROP_THREADS or 1
device = "cpu"  # "cpu", "cuda" or "auto"

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

import normprop as npp
from normprop import data, metrics, nets, stats, sweep

session = npp.start("02_entropy", preset, seed=seed, threads=threads, device=device)
cfg, generator, band = session.sizes, session.generator, session.band
seeds, n, depth = cfg["seeds"], cfg["batch_size"], cfg["depth"]
h_max = metrics.max_entropy(n)
entropy_metrics = {
    "entropy": lambda h: metrics.entropy(h, unit_trace=True),
    "deficit": metrics.entropy_deficit,
    # An independent code path (eigenvalues instead of Cholesky) for the identity check below.
    "deficit_eig": lambda h: 0.5 * n * metrics.isometry_gap_from_eigenvalues(h),
    "condition": metrics.condition_number,
}
BATCHES = {
    "near-collinear": lambda width: data.near_collinear_batch(seeds, n, width, generator, cosine=cfg["input_cosine"]),
    "Gaussian": lambda width: data.gaussian_batch(seeds, n, width, generator),
}


def entropy_chain(width: int, x: str = "near-collinear", **layer) -> pd.DataFrame:
    """Entropy metrics of one chain configuration (``layer``: NetworkSpec fields), all seeds in one batched run."""
    return nets.measure_chain(BATCHES[x](width), nets.NetworkSpec(width, depth, **layer), entropy_metrics, generator)


# %% [markdown]
# ## Entropy vs depth: BN vs vanilla
#
# At width $d = 16n$: the BN chain from near-collinear inputs, the same chain from isotropic Gaussian inputs, and
# the vanilla chain (no BN) from the same near-collinear inputs.

# %%
width = cfg["main_width"]
main = sweep.cases(
    entropy_chain,
    [dict(x="near-collinear", norm="batch"), dict(x="Gaussian", norm="batch"), dict(x="near-collinear", norm="none")],
    fixed={"width": width},
)
main["network"] = np.where(main["norm"] == "batch", "BN", "vanilla") + ", " + main["x"] + " input"
bn = main[(main.norm == "batch") & (main.x == "near-collinear")]
vanilla = main[main.norm == "none"]
gaussian = main[(main.norm == "batch") & (main.x == "Gaussian")]
deficit_start = stats.mean_ci(stats.values_at_layer(bn, "deficit", 0))
deficit_end = stats.mean_ci(stats.values_at_layer(bn, "deficit"))
deficit_end_vanilla = stats.mean_ci(stats.values_at_layer(vanilla, "deficit"))
gaussian_start = stats.mean_ci(stats.values_at_layer(gaussian, "deficit", 0))
gaussian_end = stats.mean_ci(stats.values_at_layer(gaussian, "deficit"))

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
sns.lineplot(main, x="layer", y="entropy", hue="network", ax=axes[0], **band)
axes[0].axhline(h_max, color="k", ls=":", lw=1, label="maximum")
axes[0].set(ylabel="entropy (tr M = n)", title=f"entropy, d = {width}, n = {n}")
axes[0].legend(fontsize="small")
sns.lineplot(main, x="layer", y="deficit", hue="network", ax=axes[1], legend=False, **band)
axes[1].set(yscale="log", ylabel="deficit  h_max - h  (nats)", title="entropy deficit")
session.save_figure(fig, "02_entropy_vs_depth")
plt.show()
print(f"BN, near-collinear: deficit {deficit_start} -> {deficit_end} nats (layer 0 -> {depth})")
print(f"BN, Gaussian input: deficit {gaussian_start} -> {gaussian_end}")
print(f"vanilla:            deficit {deficit_start} -> {deficit_end_vanilla}")

# %% [markdown]
# With BN the deficit drops by more than an order of magnitude within about ten layers and then stays at a small
# floor: depth drives the entropy to near its maximum. Without BN the deficit keeps growing (the representation
# collapses). From an already isotropic Gaussian batch the BN chain does **not** increase the entropy: the
# deficit rises slightly to the same floor. So "depth maximises entropy" holds up to that floor, which is the
# stationary level of the chain and shrinks with width (next section).
#
# ## The width regime: BN needs $d \gg n$
#
# The same BN + identity chain for several widths at fixed $n = 8$. At $d = n$ the smallest eigenvalues of the Gram
# fall to the float32 round-off level and some batches test as singular (entropy $-\infty$). A deficit of $+\infty$
# cannot be averaged, so this figure shows the **median** over seeds with an interquartile band; infinite values are
# off the chart and counted in the table.

# %%
regime = sweep.grid(entropy_chain, fixed={"norm": "batch"}, width=cfg["widths"])
regime["d / n"] = (regime["width"] / n).map(lambda ratio: f"{ratio:g}")
regime_rows = []
for width, table in regime.groupby("width"):
    start, end = stats.values_at_layer(table, "deficit", 0), stats.values_at_layer(table, "deficit")
    regime_rows.append(
        {
            "d": width,
            "n / d": n / width,
            "median deficit, layer 0": np.median(start),
            f"median deficit, layer {depth}": np.median(end),
            "min over layers of median": table.groupby("layer")["deficit"].median().min(),
            "seeds singular at the end": f"{np.isinf(end).sum()}/{len(end)}",
        }
    )
regime_summary = pd.DataFrame(regime_rows).set_index("d")

fig, ax = plt.subplots(figsize=(6, 3.8))
sns.lineplot(regime, x="layer", y="deficit", hue="d / n", estimator="median", errorbar=("pi", 50), ax=ax)
ax.set(yscale="log", ylabel="deficit (nats), median and IQR", title=f"BN + identity, n = {n}")
session.save_figure(fig, "02_width_regime")
plt.show()
regime_summary.round(3)

# %% [markdown]
# Plainly: **when $n/d$ is too large the entropy does not increase with depth.** At $d = n$ the deficit grows by
# tens of nats, to the round-off level where batches test as singular; at $d = 1.5n$ and $d = 2n$ it first dips and
# then grows past its starting value. From $d = 4n$ on, the deficit falls and settles at a floor that shrinks roughly in proportion to $n/d$.
#
# ## Activations
#
# At $d = 16n$, BN followed by each activation. Linear and odd activations (tanh, sin) reach a small deficit, as
# does the centred ReLU $\max(x, 0) - 1/\sqrt{2\pi}$. The plain ReLU (not centred) gains entropy but stops far from
# the maximum; sigmoid (not centred, and nearly linear around a non-zero mean) *loses* entropy.

# %%
width = cfg["main_width"]
activation_table = sweep.grid(entropy_chain, fixed={"width": width, "norm": "batch"}, activation=cfg["activations"])
deficit_end_by_activation = {
    name: stats.mean_ci(stats.values_at_layer(table, "deficit"))
    for name, table in activation_table.groupby("activation")
}
deficit_start_by_activation = {
    name: stats.mean_ci(stats.values_at_layer(table, "deficit", 0))
    for name, table in activation_table.groupby("activation")
}

fig, ax = plt.subplots(figsize=(6, 3.8))
sns.lineplot(activation_table, x="layer", y="deficit", hue="activation", hue_order=cfg["activations"], ax=ax, **band)
ax.set(yscale="log", ylabel="deficit (nats)", title=f"BN + activation, d = {width}, n = {n}")
session.save_figure(fig, "02_activations")
plt.show()
for name in cfg["activations"]:
    print(f"{name:>14}: deficit {deficit_start_by_activation[name]} -> {deficit_end_by_activation[name]}")

# %% [markdown]
# ## The deficit identity, checked on the simulated batches
#
# $h_{\max} - h = \tfrac n2\,\phi$ is an algebraic identity, so it must hold to round-off on every batch we
# simulated. The entropy comes from a Cholesky log-determinant; the right-hand side here is recomputed from an
# eigendecomposition, an independent code path. An eigenvalue is only known to about $\varepsilon\,\lambda_{\max}$,
# so $\log\lambda_{\min}$ carries an error of about $\kappa\,\varepsilon$ for a condition number $\kappa$. The comparison is made
# on the batches with $\kappa < 10^6$ (the others are counted), with the tolerance $10\,n\,\kappa_{\max}\varepsilon \approx 2\cdot 10^{-8}$ nats;
# singular batches must have entropy $-\infty$ and deficit $+\infty$ together.

# %%
every_batch = pd.concat([main, regime, activation_table], ignore_index=True)
max_condition = 1e6
identity_tolerance = 10 * n * max_condition * np.finfo(np.float64).eps
resolvable = every_batch[every_batch["condition"] < max_condition]
identity_error = float(np.max(np.abs((h_max - resolvable["entropy"]) - resolvable["deficit_eig"])))
singular_agree = bool(np.all(np.isinf(every_batch["deficit"]) == ~np.isfinite(every_batch["entropy"])))
print(
    f"{len(resolvable)} of {len(every_batch)} batches with condition number < {max_condition:.0e}: "
    f"max |h_max - h - (n/2) phi_eig| = {identity_error:.1e} nats (tolerance {identity_tolerance:.1e})"
)
print(f"singular batches have deficit inf and entropy -inf: {singular_agree}")

# %% [markdown]
# ## Mean-centred BN: the singular Gram and how we measure it
#
# With centering, BN makes every feature sum to zero over the batch, so $G\mathbf 1 = H H^\top \mathbf 1 = 0$: with the
# identity activation the Gram is singular at every layer and the entropy is $-\infty$, whatever the depth.
# (This experiment runs in float64. In float32 the features sum to zero only up to float32 round-off, which leaves
# an eigenvalue of about $10^{-14}\lambda_{\max}$ in the exact Gram of the stored numbers: not zero, yet pure
# round-off, and the entropy of such a batch is meaningless rather than $-\infty$.) That
# says nothing about the chain; it says the mean direction carries no variance by construction. We therefore
# measure on the complement of the all-ones vector: $P^\top H$ with $P$ the $n \times (n-1)$ Helmert basis
# (`metrics.project_out_mean`), whose Gram $P^\top G P$ keeps every other eigenvalue. After a non-linearity the
# rows no longer sum to zero, so the full Gram can be used again (shown for tanh). The input is a Gaussian batch
# with its top singular value multiplied by 10 (as in notebook 03): unlike the near-collinear batch, whose excess
# lies almost entirely along the mean, it is far from isometric in the complement of $\mathbf 1$ too.

# %%
width = cfg["main_width"]
centred_metrics = {
    "entropy (full Gram)": lambda h: metrics.entropy(h, unit_trace=True),
    "deficit (complement of 1)": lambda h: metrics.entropy_deficit(metrics.project_out_mean(h)),
    "deficit (full Gram)": metrics.entropy_deficit,
}
centred = sweep.grid(
    lambda activation: nets.measure_chain(
        data.spiked_batch(seeds, n, width, generator, factor=10.0, dtype=torch.float64),
        nets.NetworkSpec(width, depth, norm="batch", centering=True, activation=activation),
        centred_metrics,
        generator,
    ),
    activation=["identity", "tanh"],
)
centred_identity = centred[centred.activation == "identity"]
singular_fraction = float(np.mean(np.isneginf(centred_identity[centred_identity.layer > 0]["entropy (full Gram)"])))
complement_start = stats.mean_ci(stats.values_at_layer(centred_identity, "deficit (complement of 1)", 0))
complement_end = stats.mean_ci(stats.values_at_layer(centred_identity, "deficit (complement of 1)"))
tanh_full_end = stats.mean_ci(stats.values_at_layer(centred[centred.activation == "tanh"], "deficit (full Gram)"))

plot = pd.concat(
    [
        centred_identity.assign(curve="identity, complement of 1", deficit=lambda t: t["deficit (complement of 1)"]),
        centred[centred.activation == "tanh"].assign(
            curve="tanh, full Gram", deficit=lambda t: t["deficit (full Gram)"]
        ),
    ],
    ignore_index=True,
)
fig, ax = plt.subplots(figsize=(6, 3.8))
sns.lineplot(plot, x="layer", y="deficit", hue="curve", ax=ax, **band)
ax.set(yscale="log", ylabel="deficit (nats)", title=f"mean-centred BN, d = {width}, n = {n}")
session.save_figure(fig, "02_centred_bn")
plt.show()
print(f"centred BN + identity: full-Gram entropy is -inf in {singular_fraction:.0%} of (seed, layer >= 1) batches")
print(f"on the complement of 1: deficit {complement_start} -> {complement_end}")
print(f"centred BN + tanh, full Gram: final deficit {tanh_full_end}")

# %% [markdown]
# ## Summary and claim check
#
# Tolerances are 95% confidence intervals over seeds (Student $t$); the identity check uses the round-off
# tolerance derived above.

# %% tags=["nbval-check-output"]
numbers = {
    "deficit_start": deficit_start.mean,
    "deficit_end": deficit_end.mean,
    "deficit_end_vanilla": deficit_end_vanilla.mean,
    "deficit_end_by_activation": {name: value.mean for name, value in deficit_end_by_activation.items()},
    "deficit_identity_error": identity_error,
    "width_regime_median_end": regime_summary[f"median deficit, layer {depth}"].to_dict(),
    "centred_complement_deficit_end": complement_end.mean,
}
print(f"BN + identity, d = {cfg['main_width']}: deficit {deficit_start.mean:.0f} -> {deficit_end.mean:.1f} nats")
print(f"vanilla: deficit {deficit_start.mean:.0f} -> {deficit_end_vanilla.mean:.0f} nats")
print("final deficit by activation:", ", ".join(f"{k} {v.mean:.0f}" for k, v in deficit_end_by_activation.items()))
print(f"deficit identity holds within round-off: {identity_error < identity_tolerance}")

# %%
narrowest = min(cfg["widths"])
too_narrow = 2 * n  # n/d = 1/2
checks = {
    "all headline numbers finite": all(np.isfinite([deficit_start.mean, deficit_end.mean, deficit_end_vanilla.mean])),
    "BN: deficit falls with depth (d = 16n)": deficit_end.high < deficit_start.low,
    "BN: ends within 10% of the starting deficit": deficit_end.high < 0.1 * deficit_start.low,
    "vanilla: deficit grows with depth": deficit_end_vanilla.low > deficit_start.high,
    "odd and centred activations gain entropy": all(
        deficit_end_by_activation[name].high < 0.2 * deficit_start_by_activation[name].low
        for name in ["identity", "tanh", "sin", "centered_relu"]
    ),
    "sigmoid loses entropy": deficit_end_by_activation["sigmoid"].low > deficit_start_by_activation["sigmoid"].high,
    "n/d = 1/2: entropy does not increase": regime_summary.loc[too_narrow, f"median deficit, layer {depth}"]
    >= regime_summary.loc[too_narrow, "median deficit, layer 0"],
    "n/d = 1: the Gram degenerates": regime_summary.loc[narrowest, f"median deficit, layer {depth}"]
    > 5 * regime_summary.loc[narrowest, "median deficit, layer 0"],
    "wider is closer to the maximum": regime_summary[f"median deficit, layer {depth}"]
    .loc[4 * n :]
    .is_monotonic_decreasing,
    "deficit identity h_max - h = (n/2) phi": identity_error < identity_tolerance and singular_agree,
    "centred BN: measured on the complement, entropy rises": singular_fraction == 1.0
    and complement_end.high < 0.1 * complement_start.low,
}
session.finish(checks, numbers)

# %% [markdown]
# ## Deviations from the paper
#
# - **Reconstruction.** The v1 text was not available. We read its operational claim as follows: the Gaussian
#   entropy proxy of a pre-activation row, normalised to unit average variance, for BN chains with identity, tanh,
#   sin, ReLU and centred ReLU. The paper's figures and constants are not reproduced one to one.
# - **"Maximises" means "reaches a floor near the maximum".** From an already isotropic input (Gaussian rows at
#   $d = 16n$, deficit about 0.1 nats) the BN chain ends slightly *below* its starting entropy, at its stationary
#   floor; the floor shrinks with width.
# - **Centred ReLU** is read as the activation $\max(x,0) - 1/\sqrt{2\pi}$ (mean zero under $\mathcal N(0,1)$), not as BN
#   with centering; mean-centred BN is treated separately above *(uncertain)*.
# - **Scale.** $n = 8$, widths up to $32n$, up to 100 layers, 20 seeds (paper preset); 10 seeds and 40 layers in
#   the quick preset whose outputs are committed.
