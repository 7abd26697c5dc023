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
# # 01 · Batch norm orthogonalizes representations and avoids rank collapse
#
# **Claim.** In a deep random *linear* network, batch normalization (BN) makes the representations of a
# batch increasingly orthogonal with depth: the orthogonality gap falls exponentially for a few layers and
# then fluctuates around a floor of order $1/\sqrt{\text{width}}$ (widths 16–512; measured at the paper's batch
# size $n = 4$, and as a supporting sweep at $n = 2$ and $n = 8$: no wider range of $n$ is claimed). Without BN the
# same chain drifts towards collinearity and its representation collapses to rank one; with BN the rank stays
# bounded away from one.
#
# **Papers.**
# - H. Daneshmand, A. Joudaki, F. Bach. *Batch Normalization Orthogonalizes Representations in Deep Random
#   Networks.* NeurIPS 2021. [arXiv:2106.03970](https://arxiv.org/abs/2106.03970) — Fig. 1, Fig. 2a, Fig. 2b,
#   Theorem 1, App. F.
# - H. Daneshmand, J. Kohler, F. Bach, T. Hofmann, A. Lucchi. *Batch Normalization Provably Avoids Rank
#   Collapse for Randomly Initialised Deep Networks.* NeurIPS 2020.
#   [arXiv:2003.01652](https://arxiv.org/abs/2003.01652) — Fig. 2, Fig. 3a.
#
# **Construction** (2021 theory). $H_{\ell+1} = \mathrm{BN}(H_\ell W_\ell)$ with $W_\ell$ i.i.d. $\mathcal N(0, 1/d)$,
# square $d\times d$, BN without centering or affine parameters (each feature divided by its norm over the
# batch), identity activation, no bias, $d \ge n$. The paper's extra $1/\sqrt d$ is a global scale, which
# none of the metrics here sees. The vanilla baseline is the same chain without BN, rescaled by one scalar per
# layer so that it neither overflows nor underflows.
#
# **Orthogonality gap** (2021, eq. 2): $V(H) = \big\| \tfrac{H H^\top}{\|H\|_F^2} - \tfrac{I_n}{n} \big\|_F \in [0, \sqrt{1 - 1/n}]$.
#
# Run with `normprop run 01 --preset paper` (or `make figures`) for the paper-scale figures; the committed
# outputs below are the `quick` preset.

# %% tags=["parameters"]
preset = "quick"  # "quick": small and fast (CI); "paper": the sizes of the committed figures
seed = 0
threads = None  # torch intra-op threads; None: $NORMPROP_THREADS or 1
device = "cpu"  # "cpu", "cuda" or "auto"

# %% tags=["colab-install"]
# On Colab only: fetch the project and install it (a no-op anywhere else: locally, in CI, on Binder).
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    if not os.path.isdir("/content/normprop"):
        repository = "https://github.com/OWNER/normprop"  # [project.urls] Repository in pyproject.toml
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", repository, "/content/normprop"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "/content/normprop"], check=True)
    os.chdir("/content/normprop/notebooks")

# %%
import numpy as np
import seaborn as sns

import normprop as npp

session = npp.start("01_orthogonality", preset, seed=seed, threads=threads, device=device)
claim = session.claim_module  # normprop/claims/01_orthogonality.py: the sweeps, the longer plots, the checks
cfg, band = session.sizes, session.band
seeds, n = cfg["seeds"], cfg["batch_size"]

# %% [markdown]
# ## Fig. 1 — |cosine| between samples, with and without BN
#
# **Theory.** BN pushes the Gram matrix towards a multiple of the identity, so a highly correlated batch
# decorrelates within about ten layers. A vanilla random linear chain is a product of random matrices: its top
# singular direction takes over, so even an orthogonal batch drifts towards collinearity.
#
# **Experiment.** $d = 32$, batches of $n = 4$ samples, one batch per seed. BN starts from near-collinear
# inputs (pairwise cosine about 0.99), vanilla from exactly orthogonal ones. We plot the mean $|\cos|$ over
# the six sample pairs of the batch (the paper tracks one pair; averaging pairs only lowers the noise).

# %%
# Every sweep is a set of tasks (one per configuration and shard of seeds), each drawing from its own generator:
# in this kernel, or on a Dask cluster with `normprop run --scheduler` (see the README).
fig1 = claim.fig1(session)

with session.figure("01_fig1_cosine") as ax:
    sns.lineplot(fig1["table"], x="layer", y="abs_cos", hue="label", ax=ax, **band)
    title = f"d = {cfg['fig1_width']}, n = {n}, {seeds} seeds"
    ax.set(xlabel="layer", ylabel="mean |cos| between samples", ylim=(0, 1.02), title=title)
    ax.legend(title=None)
print(f"final |cos|: BN {fig1['final']['BN']}, vanilla {fig1['final']['vanilla']} (mean [95% CI] over seeds)")


# %% [markdown]
# BN takes the batch from $|\cos| \approx 0.99$ to a low level within about ten layers and keeps it there; the
# vanilla chain starts at exactly 0 and climbs steadily towards 1.
#
# ## Fig. 2a — log orthogonality gap vs depth, two widths
#
# **Theory** (Theorem 1): $\mathbb E\, V(H_\ell) \le 2(1 - 2\alpha/3)^\ell + \frac{3n}{\alpha\sqrt d}$ — an exponential
# transient followed by a floor of order $1/\sqrt d$. We plot $\log V$ from near-collinear inputs, $n = 4$.

# %%
fig2a = claim.fig2a(session)

with session.figure("01_fig2a_gap_vs_depth") as ax:
    sns.lineplot(fig2a["table"], x="layer", y="log_gap", hue="width", palette="colorblind", ax=ax, **band)
    ax.set(xlabel="layer", ylabel="log orthogonality gap", title=f"BN chain, n = {n}, {seeds} seeds")
for width in cfg["fig2a_widths"]:
    rate, floor = fig2a["transient_rate"][width], fig2a["late_gap"][width]
    print(
        f"d = {width}: slope of log E[V] over layers 0-{claim.TRANSIENT_LAYERS}: {rate:.2f}/layer, "
        f"floor (mean V, second half) {floor}"
    )

# %% [markdown]
# $\log V$ falls linearly (an exponential transient) and then fluctuates around a floor that is lower for the
# wider network.
#
# ## Fig. 2b — the floor scales like $1/\sqrt{\text{width}}$
#
# For each width we average $V$ over the layers after a burn-in (to leave out the transient from the
# near-collinear input), take the log, and fit a line against $\log d$ (left panel, $n = 4$ as in the paper). The
# paper reports a slope of $-0.46$; Theorem 1 bounds the floor by a multiple of $d^{-1/2}$, so the slope should not
# be shallower than $-1/2$. The confidence interval of the slope comes from fitting each seed separately.
#
# The paper measures the floor at one batch size. So that the rule is not stated beyond what was varied, a
# supporting sweep repeats the measurement at $n = 2$ and $n = 8$ (same widths, depth, burn-in and seeds; right
# panel) and fits the width exponent at each $n$; a joint fit $\text{floor} \approx C\, n^b d^a$ over the three
# batch sizes gives the floor's growth with $n$.

# %%
fig2b = claim.fig2b(session)

with session.figure("01_fig2b_gap_vs_width", ncols=2, figsize=(10, 3.6)) as axes:
    claim.plot_fig2b(axes[0], fig2b, cfg, band)
    claim.plot_floor_by_batch_size(axes[1], fig2b, cfg, band)
print(f"slope of log mean gap vs log width: {fig2b['slope']:.3f}; per-seed slopes {fig2b['slope_ci']}")
for batch_size, exponent in fig2b["exponent_by_batch_size"].items():
    print(f"n = {batch_size}: width exponent of the floor {exponent} (mean [95% CI] over seeds)")
print(f"batch-size exponent b of the floor (joint fit over n and d): {fig2b['batch_size_exponent']}")

# %% [markdown]
# ### Theorem 1: the scaling holds, the constants are vacuous at these sizes
#
# Theorem 1 bounds $\mathbb E\,V$ by $2(1-2\alpha/3)^\ell + 3n/(\alpha\sqrt d)$ with $\alpha \le 1$ a constant that
# depends on the input. Even in the most favourable case $\alpha = 1$ the floor term is far above what we
# measure, and for small widths it exceeds the largest possible gap $\sqrt{1-1/n}$: the bound explains the
# *shape* (exponential transient, $d^{-1/2}$ floor), not the numbers.

# %%
print(f"largest possible gap sqrt(1 - 1/n) = {np.sqrt(1 - 1 / n):.3f}")
claim.theorem1_table(fig2b["table"], n).round(3)

# %% [markdown]
# ## Rank collapse (2020, Fig. 2 and Fig. 3a)
#
# **Theory.** A product of random matrices has a growing gap between its top singular values, so a vanilla
# linear chain collapses to rank one; BN provably keeps the rank bounded away from one, with a stable rank of
# order $\sqrt d$. **Experiment.** $d = n = 32$, Gaussian inputs, thousands of layers, the network in float32.
# The numerical rank counts singular values above $\max(n, d)\,\varepsilon_{\text{float32}}\, s_{\max}$: below that
# level a float32 network carries only round-off.

# %%
rank = claim.rank_collapse(session)

with session.figure("01_rank_collapse", ncols=2, figsize=(10, 3.6)) as axes:
    claim.plot_rank_collapse(axes, rank, cfg, band)
print(f"numerical rank after {cfg['rank_depth']} layers: BN {rank['final']['BN']}, vanilla {rank['final']['vanilla']}")
print(f"slope of log stable rank vs log width (BN): {rank['stable_rank_slope']}")

# %% [markdown]
# The vanilla chain loses rank steadily and ends at rank one or two; the BN chain settles at a rank well above
# one and stays there. The BN stable rank grows with width as a power law; the 2020 paper bounds it from below
# by a multiple of $\sqrt d$, and the fitted exponent (printed above with its 95% interval over seeds) is compared
# with that $1/2$: at these sizes it comes out somewhat *above* $1/2$, consistent with a lower bound.
#
# The band on the rank panel is $\pm 2$ standard errors rather than a bootstrap interval: with hundreds of
# recorded layers a bootstrap per point is slow and tells nothing more.
#
# ## Non-linear chains (2021, App. F): which activations still orthogonalize
#
# The same BN chain with an activation after the normalisation, $H_{\ell+1} = \sigma(\mathrm{BN}(H_\ell W_\ell))$,
# from near-collinear inputs. Odd activations (tanh, sin) keep the representations centred and the chain still
# orthogonalizes. Sigmoid is not centred: every output is positive, all samples share a large common
# component, and the gap stays high. ReLU, also not centred but with a mean much smaller relative to its spread
# (under $\mathcal N(0,1)$: 0.7 standard deviations, against 2.4 for sigmoid), sits in between: it orthogonalizes partially and ends well above the odd activations and well below sigmoid
# (numbers below).

# %%
activations = claim.activation_chains(session)

with session.figure("01_activations") as ax:
    order = claim.ACTIVATIONS
    sns.lineplot(activations["table"], x="layer", y="gap", hue="activation", hue_order=order, ax=ax, **band)
    ax.axhline(np.sqrt(1 - 1 / n), color="gray", ls=":", lw=1)
    ax.set(xlabel="layer", ylabel="orthogonality gap", title=f"BN + activation, d = {cfg['activation_width']}, n = {n}")
for activation in claim.ACTIVATIONS:
    print(f"{activation:>8}: final gap {activations['final'][activation]}")

# %% [markdown]
# ## Summary and claim check
#
# The numbers below are rounded coarsely so that nbval can compare them across runs; the claim check uses
# confidence intervals over seeds (Student $t$, 95%) as its tolerances; no allowance is added. The two exponents are
# reported with their intervals and compared with bounds: the gap floor's width exponent with the $d^{-1/2}$ floor
# term of Theorem 1, an upper bound, which the floor may fall faster than but not slower (the paper itself reports
# $-0.46$); the stable rank's with the $\sqrt d$ lower bound of the 2020 paper, which it may exceed but should not
# fall short of. The transient check asks that the slope of $\log V$ over layers 0–6, fitted to each seed alone,
# have its whole interval below zero at both widths.
#
# Each check records its **margin**: how far the tested quantity clears its threshold (or the other interval) in
# units of its own interval's half width. `normprop ledger --seeds 0-9` runs the notebook at ten base seeds and
# reports, per check, the seeds it held at and its smallest margin. Quick preset, seeds 0–9: every check held at
# all 10 seeds; the closest to failing is the floor's width exponent (it reaches $-1/2$ by 0.9 half widths at its
# worst seed), then vanilla's drift towards collinearity (1.8), vanilla's collapse to rank 1–2 (2.5) and BN against
# vanilla $|\cos|$ (2.9); the others clear by 3.7 half widths or more. Paper preset, seeds 0–9: all 13 checks held
# at all 10 seeds, the closest again the floor's exponent (3.4 half widths) and vanilla's drift (3.9).
#
# Two **supporting lines**, outside the verdict:
# - Whether the floor's exponent is $-1/2$ *exactly* (its interval contains $-1/2$). It does not hold reliably:
#   its interval contained $-1/2$ at 6 of 10 seeds in the quick preset, and at none of the ten paper seeds
#   (margin $-5.5$ at the worst). The finite-width exponent comes out a little steeper than $-1/2$ (about $-0.52$
#   quick, $-0.51$ paper, intervals $\pm 0.01$ and $\pm 0.004$): a coin flip at quick sizes, a small but resolved
#   difference at paper sizes (the paper itself reports $-0.46$). The verdict tests only the bound's direction.
# - Whether the floor falls no slower than $d^{-1/2}$ at every batch size of the supporting sweep ($n = 2, 4, 8$):
#   it held at 9 of 10 seeds in the quick preset and at all ten paper seeds (margins 0.86 or more). The batch size
#   that misses is $n = 2$: its exponent is the noisiest (interval half width about 0.03 quick, against 0.01 at
#   $n = 8$) and a little shallower (mean $-0.50$ over the ten quick seeds, against $-0.52$ at $n = 4$ and $-0.54$
#   at $n = 8$); at one seed its interval ends at $-0.497$. At paper sizes the exponents are $-0.50$, $-0.51$ and
#   $-0.53$ at $n = 2, 4, 8$. So the rule, floor $\propto d^{-1/2}$ to within about $0.03$ in the exponent, is
#   stated for $2 \le n \le 8$; it is supporting because the paper varies only the width. The floor grows with the
#   batch size roughly like $n^{0.57}$ (the joint fit printed under Fig. 2b), slower than the $n$ of Theorem 1's
#   floor term.

# %% tags=["nbval-check-output"]
checks, numbers, supporting = claim.checks(fig1, fig2a, fig2b, rank, activations)
# Coarse on purpose: nbval compares this output across machines, and a float32 chain of 1000 layers is chaotic
# (the BN rank is 9.4 on one CPU and 9.7 on another), so only statements, not the rank itself, are printed.
bn_rank, vanilla_rank = rank["final"]["BN"], rank["final"]["vanilla"]
print(f"width slope (paper: -0.46, theory: -0.5): {numbers['width_slope']:.1f}")
print(f"final |cos|: BN {numbers['bn_abs_cos_final']:.1f}, vanilla {numbers['vanilla_abs_cos_final']:.1f}")
print(f"numerical rank: BN stays above 2: {bn_rank.low > 2}, vanilla ends below 3: {vanilla_rank.high < 3}")
print(f"stable rank vs width slope (2020 lower bound: 0.5): {numbers['stable_rank_slope']:.1f}")
slopes = {n: round(slope, 1) for n, slope in numbers["width_slope_by_batch_size"].items()}
print(f"width slope of the floor by batch size n: {slopes}")

# %%
session.finish(checks, numbers, supporting=supporting)

# %% [markdown]
# ## Deviations from the papers
#
# - **Scale.** Widths up to 512 and 500 layers for Fig. 2b (the paper's range), but 20 seeds in the paper preset
#   and fewer, shallower chains in the quick preset. Numbers in the committed outputs are from the quick preset.
# - **Pairs.** Fig. 1 averages $|\cos|$ over all pairs of a batch of 4 instead of following one pair of 2.
# - **Batch size.** The paper measures the floor at $n = 4$ only; here the verdict does too, and a supporting sweep
#   repeats Fig. 2b at $n = 2$ and $n = 8$ (same widths, depth and seeds), so the $1/\sqrt{\text{width}}$ rule is
#   stated for $2 \le n \le 8$ and no further.
#   The sweep costs about twice Fig. 2b (on the loaded machine: 270 s of a paper run of 11–15 min); a smaller
#   paper-preset version (fewer layers) would be the first thing to cut if the paper run must be faster.
# - **Burn-in.** Fig. 2b averages the gap over layers after a burn-in (50) rather than over all 500 layers, so the
#   transient from the near-collinear input does not bias the narrow-width floors.
# - **Precision.** The chains run in float32 like the papers' code; every metric is computed in float64, and
#   the numerical rank uses the float32 round-off level as its tolerance (in float64 the vanilla collapse is the
#   same but takes about twice as many layers to reach rank one).
# - **Theorem 1 constants** are not checked: as the table shows, they are vacuous at these sizes.
# - **App. F.** The normalised pre-activations have unit mean square before the activation (torch's BN convention);
#   the 2021 appendix does not fix this scale *(uncertain)*.
