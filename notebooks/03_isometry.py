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
# # 03 · Normalization + activation bias the Gram matrix towards isometry, over the first layers at the rate of the mean-field correlation map
#
# **Claim.** In a random MLP with layer normalization (LN) and a centred activation, the Gram matrix of a batch
# becomes isometric (a multiple of the identity) with depth. Over the first five layers (the transient from the
# spiked input) and at the main width and wider ($d \ge 512$ quick, $d \ge 1000$ paper) it does so at the rate that the
# activation's mean-field correlation map predicts when it is iterated from the batch's own correlations (the median
# over activations; heavy-tailed exp approaches it only at the widest width); later
# (layers 5-30), and at narrower widths already in the first layers, a finite-width chain decays *slower* than the
# map, a lag that shrinks as the width grows (measured per window and width below). Theorem 1's
# $\beta_\sigma = 2 - c_1^2 / \sum_{k\ge1} c_k^2 \in [1, 2]$, set by the Hermite coefficients, bounds the rate from
# below; it orders the final gaps of the activations at gain 1 and the rates of one activation over its gains, but
# not the rates across activations once gains are included ($\tanh(4x)$, $\beta_\sigma = 1.25$, decays faster than
# ReLU, 1.27, and exp, 1.42). Linear activations do not help ($\beta_\sigma = 1$). Normalization itself never
# decreases isometry.
#
# **Paper.** A. Joudaki, H. Daneshmand, F. Bach. *On the impact of activation and normalization in obtaining
# isometric embeddings at initialization.* NeurIPS 2023. [arXiv:2305.18399](https://arxiv.org/abs/2305.18399).
#
# **Construction** (the official validation MLP). $x_{\ell+1} = \mathrm{LN}(\sigma(x_\ell W_\ell) - \text{mean})$: the
# activation, then the mean over features subtracted and each sample divided by its norm; $W_\ell$ i.i.d.
# $\mathcal N(0, 1/d)$, no bias; $n = 10$ samples, 30 layers; the input is a Gaussian batch with its top singular
# value multiplied by 10, rows rescaled to unit RMS.
#
# **Quantities.** Isometry $\mathcal I(G) = \det(G)^{1/n} / (\operatorname{tr}G/n)$ and the isometry gap
# $\phi = -\log \mathcal I$, measured **after** normalization. The mean-field theory tracks the correlation matrix $C$,
# which evolves entry-wise by the map $C_{\ell+1} = f(C_\ell)$, through the potential
# $\gamma = \max_{i\ne j} |C_{ij}|/(1-|C_{ij}|)$, and Theorem 1 bounds it by $\gamma_\ell \le \gamma_0\,\beta_\sigma^{-\ell}$.

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
from IPython.display import display

import normprop as npp

session = npp.start("03_isometry", preset, seed=seed, threads=threads, device=device)
claim = session.claim_module  # normprop/claims/03_isometry.py: the validation MLP, the sweeps, the checks
cfg, band = session.sizes, session.band
# Every sweep below is a set of tasks (one per configuration, all seeds batched in it), each drawing from its own
# generator: in this kernel, or on a Dask cluster with `normprop run --scheduler` (see the README).

# %% [markdown]
# ## Hermite coefficients, $\beta_0$ and $\beta_\sigma$
#
# Coefficients $c_k = \mathbb E[\sigma(X)\,\mathrm{he}_k(X)]$ in the normalised basis $\mathrm{he}_k = \mathrm{He}_k/\sqrt{k!}$, by
# Gauss-Hermite quadrature (piecewise Gauss-Legendre across the kinks of the ReLU family). The non-linearity
# strength $\beta_0 = c_1^2/\sum_{k\ge1}c_k^2$ uses Parseval, $\sum_{k\ge1} c_k^2 = \operatorname{Var}\sigma(X)$, so nothing
# is truncated. The official code and figures report $\beta_\sigma = 2 - \beta_0$.

# %%
kernels = claim.dual_kernels()
beta = kernels["beta"]
with session.figure("03_correlation_maps", figsize=(5.5, 4)) as ax:
    claim.plot_correlation_maps(ax, kernels["maps"])
kernels["hermite"].round(4)

# %% [markdown]
# The map $f(\rho) = \sum_{k\ge1} c_k^2 \rho^k / \sum_{k\ge1} c_k^2$ is what centring + normalisation do to a correlation in the
# mean-field limit: $f(0) = 0$, $f(1) = 1$, and its slope at 0 is $\beta_0$. The further below the diagonal, the
# faster correlations die. Reference values (paper and official code): ReLU 1.2665, tanh 1.0695, sigmoid 1.0158.
#
# ## Isometry gap vs depth, with the mean-field chain and the bound
#
# Gap and potential measured after LN (solid, 95% band over seeds); dotted, the mean-field chain $C_{\ell+1} = f(C_\ell)$
# started from each seed's own input correlations; dashed, Theorem 1's bound $\gamma_0\beta_\sigma^{-\ell}$ (for a
# readable figure, seven activations are drawn; the table below has all of them).

# %%
chains = claim.isometry_vs_depth(session, beta)
with session.figure("03_isometry_vs_depth", ncols=2, figsize=(11, 4)) as axes:
    claim.plot_isometry_vs_depth(axes, chains["runs"], beta, band, cfg["width"], cfg["depth"])
print(claim.depth_reading(chains, cfg))
chains["order"].round(3)

# %% [markdown]
# The gap falls fastest for the most non-linear activations and not at all for the identity (and He1), and the
# final gaps at gain 1 are ordered by $\beta_\sigma$ (Spearman printed above) up to a finite-width floor where the
# fastest activations all end. The
# identity's potential even *grows* slowly: at finite width a linear chain drifts towards collinearity, exactly as
# the vanilla chain of notebook 01 does. The dotted mean-field chains run close to the measured ones until these
# reach the floor; the dashed bound lies above every mean-field chain (Theorem 1; checked for every seed, layer,
# activation and gain, printed below) and far above the measured potentials while they decay. The next section
# puts numbers on that.
#
# ## Rates: measured, mean field, and Theorem 1's bound
#
# Three rates per activation, all in units of $-\mathrm d\log\gamma/\mathrm d\ell$:
#
# - **measured**: the per-seed least-squares slope of $-\log\gamma_\ell$ over layers $0..L$;
# - **mean field**: the same slope, fitted the same way to the mean-field chain started from the *same* input batch,
#   over the same layers (paired seed by seed, so that the inputs cancel from the difference's interval);
# - **Theorem 1's bound** $\log\beta_\sigma$, a guaranteed rate and not a prediction of it. Near isometry the mean-field
#   map contracts $\gamma$ by $f'(0) = \beta_0$ per layer, an asymptotic rate $-\log\beta_0 > \log(2 - \beta_0)$; from a
#   spiked input the correlations start near 1, where $1 - \rho$ grows by $f'(1)$ per layer, so the early rate is
#   different again. Only the iterated map covers both.
#
# The window: $L$ is at most `fit_layers` and ends before the measured potential (seed mean) falls below
# 3× the finite-width floor, the potential of $n$ independent Gaussian vectors in $\mathbb R^d$ (where He2, whose mean
# field is isometric after a few layers, stays). A ratio is a number only where both rates' intervals over seeds
# exclude zero; otherwise it is **unresolved** (a slow decay lost in the seeds' noise, e.g. sigmoid and
# $\tanh(x/2)$ at the quick sizes): it is reported so, never as a number, and left out of every median and range.
# Activations without a defined ratio are listed with the reason:
# linear ones (the mean field predicts no decay, 0/0) and He2/He3 ($\beta_0 = 0$: infinite asymptotic rate, the
# mean-field correlations fall faster than exponentially). The gain ablation $\tanh(\alpha x)$ is included, since
# there the bound is furthest from the measurement. Since the mean field is an infinite-width prediction, the last
# part repeats the comparison at several widths for ReLU, exp and $\tanh(4x)$ (layers $0..L$ only).

# %%
rates = claim.rate_comparison(session, beta, chains)
with session.figure("03_rates", ncols=2, figsize=(12, 4.5)) as axes:
    claim.plot_rates(axes, rates, cfg)
print(claim.rates_reading(rates, cfg))
display(rates["rate_table"].round(3))
rates["ratio_by_width"].round(3)

# %% [markdown]
# Over this early window the measured rates follow the mean-field rates, not the bound (median $|\log|$ ratio printed
# above: below 0.1 for the mean field, 0.5 to 0.7, a factor of about 1.6 to 2, for the bound). The bound is only a
# bound, and what holds at every seed of the ledger is that no measured rate with $\beta_\sigma \ge 1.05$ lies
# *significantly* below it (the upper end of each interval reaches it; the check below). The point estimates usually
# lie above it, by the printed factors, but not at every seed: at seed 1 of the quick ledger SiLU's came out at 0.93
# times the bound, inside its interval. $\tanh(x/2) = 2\,\mathrm{sigmoid}(x) - 1$, so those two rows share $\beta_\sigma$
# and the mean-field rate; for such slow decays five layers do not resolve the rate at the quick sizes (unresolved).
#
# $\beta_\sigma$ does not order the rates across activations once the gains are in: the printed Spearman correlation of
# $\beta_\sigma$ with the measured rate is well below 1, and $\tanh(4x)$ ($\beta_\sigma = 1.25$) decays about twice as fast as
# ReLU (1.27) and exp (1.42). What it orders is the final gap at gain 1 (the Spearman correlation of the previous
# section, near $-1$) and the rate of tanh over its gains (ablation 4); the mean-field map, not $\beta_\sigma$, sets the
# rate.
#
# Where a measured rate falls outside the seeds' interval around the mean field, it is mostly *slower* (lists
# above); these are findings, reported, not counted as passes. Among the activations with $\beta_\sigma \ge 1.05$, exp
# lags most. Finite width is the likely cause, and the right panel tests it: the lag closes as the width grows. At
# the widest width the three ratios are 0.92-1.00 at the ledger's seeds, within the seeds' interval at some seeds
# and not at others (exp stays up to about 8% slow at $d = 4096$): that agreement is a supporting line, not a check.
# exp's outputs are heavy-tailed ($\mathbb E\sigma^4/(\mathbb E\sigma^2)^2 = e^4 \approx 55$, against 6 for ReLU), so a
# layer of width $d$ fluctuates like a much narrower one, and exp needs the widest layers to reach its mean field.
#
# ## Normalisation never decreases isometry
#
# For a batch $u$ with row norms $a_i$, normalising the rows gives the correlation matrix $C$ with
# $\mathcal I(C) = \mathcal I(G)\,\mathrm{AM}(a^2)/\mathrm{GM}(a^2) \ge \mathcal I(G)$ by AM-GM, i.e.
# $\phi_{\text{before}} - \phi_{\text{after}} = \log\mathrm{AM}(a^2) - \log\mathrm{GM}(a^2) \ge 0$ exactly. We check it at every LN
# layer of ReLU and tanh chains, on the tensors just before (after centring) and just after the division by the norms.
# These chains run in float64: in float32 the stored normalised tensor carries float32 rounding, and the residual of
# the identity is then about $5\cdot10^{-9}$ instead of round-off.
#
# **What the official figures plot.** The official validation code (`validations.ipynb`, `run_experiments`) appends
# two rows per layer to one table: `layer='pre_norm'`, the gap of $\sigma(x W)$, the activation's output *before* its
# mean is subtracted, and `layer='post_norm'`, after centring and dividing by the norms. Its plotting helper
# `plot_line_graph` draws `sns.lineplot(x='l', y='iso_gap')` over the whole table without selecting a stage, so
# seaborn's mean estimator plots, at every layer, the average over repetitions of both rows,
# $(\bar\phi_{\text{pre}} + \bar\phi_{\text{post}})/2$; the log scale is only the axis. The gap figures drawn with it
# (Hermite activations, order, centering, normalisation, gain, mean field vs width) all show this average; only the
# supplementary potential figure (`plot_line`) keeps the `post_norm` rows. We compute the same average (dotted) next
# to the correct post-LN gap (solid). For ReLU the uncentred output carries a common mean: at isometry its
# correlations are $\mathbb E[\sigma(X)]^2/\mathbb E[\sigma(X)^2] = 1/\pi$, a pre-norm gap that no depth removes, so the
# plotted average stays near half of it while the true gap falls to the finite-width floor.

# %%
normalisation = claim.normalisation(session)
with session.figure("03_normalisation", ncols=2, figsize=(11, 4.8)) as axes:
    claim.plot_normalisation(axes, normalisation["stages"], band, cfg["width"])
print(claim.normalisation_reading(normalisation, cfg))
normalisation["last"].round(4)


# %% [markdown]
# At every LN layer the gap after normalisation is below the gap before it, and the difference is the AM-GM gap of
# the squared row norms to round-off. At these widths the row norms are nearly equal, so what normalisation itself
# gains (right panel) is a small fraction of the gap. The official plot's error is of another kind: it averages the
# post-LN gap with that of a different, uncentred tensor. For tanh (odd, so nearly centred already) the two agree;
# for ReLU the plotted value at the last layer is several times the true gap (table: `official / after LN`), and the
# factor grows with the width, because the true gap falls with the width while the uncentred pre-norm gap does not.
#
# ## Ablations
#
# Six variations of the validation MLP (ReLU unless stated):
#
# 1. **No centering**: LN without subtracting the mean. ReLU, exp and sigmoid outputs share a large mean
#    component that normalisation alone cannot remove.
# 2. **No normalisation** (vanilla; rescaled by one scalar per layer so it does not overflow).
# 3. **Order**: activation before normalisation (the validation MLP) vs after, $\sigma(\mathrm{LN}(xW))$.
# 4. **Gain** $\sigma(\alpha x)$ for tanh: a larger gain makes tanh more non-linear, $\beta_\sigma$ grows and so does the rate
#    (the same runs as in the rates section).
# 5. **Hermite activations**: He1 is linear ($\beta_\sigma = 1$, flat); He2 and He3 have $\beta_\sigma = 2$, the fastest possible.
# 6. **Mean-field vs finite width**: the mean-field trajectory (the map $f$ applied entry-wise to the input
#    correlation matrix, layer after layer) against finite widths; finite width adds a floor of order $n/d$.


# %%
ablations = claim.ablations(session, chains["runs"], rates["gain_runs"])
with session.figure("03_ablations", ncols=3, nrows=2, figsize=(15, 8)) as axes:
    claim.plot_ablations(axes, ablations, band)
print(claim.ablations_reading(ablations, rates))

# %% [markdown]
# Reading the panels: (1) without centering, ReLU, exp and sigmoid move *away* from isometry (the uncentred
# sigmoid chain becomes numerically singular, gap $+\infty$, and leaves the chart); (2) without normalisation ReLU's
# gap grows, while tanh, odd and so already centred, decays almost as with LN; (3) the order matters exactly when it
# decides whether the activation's output is centred: tanh is indifferent, but ReLU after LN is not centred and its
# gap grows as in panel 1; (4) the measured rate grows with the gain in the order $\beta_\sigma$ predicts, at about the
# mean-field rate and well above the bound (printed above); (5) He1 is flat and He2/He3 are the fastest; (6) the
# finite-width gap follows the mean-field curve until it reaches a floor that falls as the width grows, while the
# mean-field gap keeps falling.
#
# ## The rate by window of depth and by width
#
# The rates above are fitted over layers $0..5$. The same per-layer tables give the rate over later windows of depth
# at no extra cost: **early** layers $0..5$, **middle** $5..15$, **late** $15..30$, each cut, as before, where the measured
# potential falls below 3× the finite-width floor, and each compared with the mean-field chain over the same layers
# (paired per seed). Widths: every activation and gain at the main width; ReLU at every width of the ablations (its
# runs carry their mean-field chain); tanh at the widest ablation width when it is wider than the main one (one
# extra sweep, `window_widths`, paper preset only). An entry is unresolved when the window has fewer than three
# layers above the floor (fast activations reach it early) or a rate's interval reaches zero.

# %%
windows = claim.rates_by_window(session, chains, rates, ablations)
print(claim.windows_reading(windows, cfg))
claim.window_summary(windows)

# %% [markdown]
# The agreement with the mean field belongs to the early window. Past it, the finite-width chains decay slower than
# the map: at the main width the middle-window ratios are mostly below 1, several with a paired interval excluding 1
# (quick seed 0: ReLU 0.86, exp 0.62, $\tanh(2x)$ 0.84; in the paper preset at $d = 1000$ the referee measured ReLU
# layers 8-12 at 0.80 and tanh layers 15-30 at 0.82), while the potential is still far above its floor, so the floor
# cut is not the cause. The lag shrinks with the width: ReLU's ratio over layers $5..15$ rises with $d$ (table), and
# at $d = 4000$ (paper) the later ratios recover to about 0.87-0.99. Narrow chains lag even in the early window
# (quick seed 0: ReLU 0.41 at $d = 64$, 0.81 at $d = 256$, 1.04 at $d = 512$). So the claim "at the mean-field rate" is
# stated over layers $0..5$ at the main width and wider; for layers $5..30$ it holds only approximately and only at
# the widest widths, and two supporting lines of the claim check report it.
#
# ## Summary and claim check
#
# Tolerances: 95% confidence intervals over seeds (Student $t$) for rates and gaps (paired per seed for the
# measured - mean-field difference); the identity residual is compared with a float64 round-off tolerance. The
# decay rate is compared with Theorem 1's bound only for activations with $\beta_\sigma \ge 1.05$ (slower ones barely
# move in the window). Which prediction the rates follow is decided by the median $|\log(\text{measured}/\text{predicted})|$
# over all activations and gains with a resolved ratio, in the early window. The mean field is an infinite-width
# theory, so what is checked at finite width is that a lag behind it (a ratio whose paired interval excludes 1 at the
# narrowest width) exists at all (the check fails if nothing lags: there would be nothing to shrink) and shrinks as
# the width grows; agreement within the seeds' interval, at the main and at the widest width, is reported as a
# supporting finding (a "no" there is a finite-width lag, quantified by `rate_ratio_to_mean_field`).
#
# **Across seeds (the ledger, seeds 0-9).** Every verdict check held at 10 of 10 seeds in both presets; the closest
# were the finite-width lag check (margin 0.41 half widths quick, 0.79 paper) and the bound check (0.70 quick, 1.3
# paper). The supporting lines do not hold across seeds, as the windows table says: agreement within the seeds'
# interval at the main width for every resolved activation 0 of 10 (both presets; exp lags), at the widest width 3 of
# 10 quick and 0 of 10 paper, and every middle/late ratio at least 0.9 0 of 10 in both (quick seeds 0-5: ReLU over
# layers $5..15$ 0.84-0.98 at $d = 512$, 0.44-0.80 at $d = 64$; early window at $d = 64$: 0.41-0.86).

# %% tags=["nbval-check-output"]
print(claim.summary(beta, chains, rates, normalisation))

# %%
session.finish(*claim.checks(beta, chains, rates, normalisation, ablations, windows, cfg))

# %% [markdown]
# ## Deviations from the paper and the official code
#
# - **Scale.** $n = 10$, 30 layers as in the official validation MLP; width 1000 and 20 seeds in the paper preset
#   (the official code uses 10 repetitions), width 512 and 10 seeds in the committed quick outputs; one degeneracy
#   factor (10) instead of three (5, 10, 100).
# - **The gap is measured after normalisation only.** The official gap figures plot the average of the gap of the
#   activation's output before centring (`pre_norm`) and the gap after normalisation (`post_norm`); that average is
#   not the gap of any representation, and for ReLU it is several times the true gap (computed above, dotted).
# - **The rate is compared with the mean-field chain, not only with $\beta_\sigma$.** The paper's figures overlay the
#   bound $\gamma_0\beta_\sigma^{-\ell}$ as "theory"; here it is named a bound, and the prediction of the rate is the
#   iterated correlation map from the same inputs. The official code's theory line also starts at layer 1's
#   measured potential, ours at the input's.
# - **A fitted rate, its window and a floor.** The paper fits no rate. Here a rate is the per-seed slope of
#   $-\log\gamma$ over the first `fit_layers` = 5 layers (the transient from the spiked input), cut where the measured
#   potential falls below 3x the potential of $n$ independent Gaussian vectors in $\mathbb R^d$; the factor 3 is a
#   choice; the `layers 0..` columns above show where it cut a window. The verdict's rate claims are over this early
#   window; the middle (5..15) and late (15..30) windows are reported per width and are supporting: there the chains
#   lag the map at $d \le 1000$.
# - **Float64 Cholesky gaps.** The official code takes eigenvalues of a float32 Gram; here every gap is a float64
#   log-determinant (see `metrics.isometry_gap`), which changes nothing visible at these condition numbers.
# - **The activation never touches the logits.** The official training MLP applies the activation to the output
#   layer, which caps the loss; this notebook has no training, and notebook 05 keeps logits linear.
# - **No normalisation** (ablation 2) drops centering too, since centering without a normalisation axis is not
#   defined in the chain; the vanilla chain is rescaled by one scalar per layer, which changes no gap.
