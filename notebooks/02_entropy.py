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
# # 02 · Depth moves the entropy of batch-normalised representations to a floor set by $n$ and $d$
#
# *Testing a reconstruction of the v1 claim "entropy maximisation with depth", not the paper's text (which was not
# available to us). The title says what was measured: depth does not maximise the entropy; it moves it to a floor.*
#
# **Claim, as measured.** In a random network with batch normalization (BN), the entropy of the representation of
# a batch of $n$ samples moves with depth to a floor below its maximum, for linear, odd (tanh, sin) and centred
# activations, *whatever the input*: it rises from near-collinear inputs and **falls** from isotropic Gaussian
# ones (at every $n = 4..32$, $d = 32..512$ measured). Without BN the entropy falls instead, as representations
# collapse. How close to the maximum the floor is depends on the batch size $n$ and the width $d$ *together*:
# measured here, the isometry-gap floor grows like $n^2/d$, so the entropy deficit ($n/2$ times the gap) is small
# only for $d$ large compared with $n^3$; a fixed ratio $d/n$ is not enough. "Depth maximises the entropy" is
# true only relative to that floor, and only for inputs less isotropic than it. The law of a pre-activation row
# over the random weights approaches an isotropic Gaussian with depth, at a distance that shrinks with width (the
# 2021 paper's statement, tested here).
#
# **Paper.** A. Joudaki, H. Daneshmand, F. Bach. *Entropy Maximization with Depth: A Variational Principle for
# Random Neural Networks.* [arXiv:2205.13076 **v1**](https://arxiv.org/abs/2205.13076v1) (later versions were
# retitled and dropped this claim). The v1 text was not available to us: the figures here are a
# reconstruction of its operational claim (see *Deviations*). The Gaussian law of the representation is the
# statement of H. Daneshmand, A. Joudaki, F. Bach, *Batch Normalization Orthogonalizes Representations in Deep
# Random Networks*, NeurIPS 2021, [arXiv:2106.03970](https://arxiv.org/abs/2106.03970).
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
# cosine about 0.9, deficit about 7 nats) so that there is entropy to gain. The section on the floor varies $n$
# from 4 to 32.

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

import normprop as npp

session = npp.start("02_entropy", preset, seed=seed, threads=threads, device=device)
claim = session.claim_module  # normprop/claims/02_entropy.py: the sweeps, fits, plots and checks of this notebook
# Every sweep is a set of independent tasks, one per configuration with all its seeds batched, each drawing from
# its own generator (seeded from the session seed, the sweep's name and the configuration).

# %% [markdown]
# ## Entropy vs depth: BN vs vanilla
#
# At width $d = 16n$: the BN chain from near-collinear inputs, the same chain from isotropic Gaussian inputs, and
# the vanilla chain (no BN) from the same near-collinear inputs.

# %%
main = claim.entropy_vs_depth(session)
with session.figure("02_entropy_vs_depth", ncols=2, figsize=(11, 3.8)) as axes:
    claim.plot_entropy_vs_depth(axes, main, session.band)
start, depth = main["deficit_start"], session.sizes["depth"]
print(f"BN, near-collinear: deficit {start} -> {main['deficit_end']} nats (layer 0 -> {depth})")
print(f"BN, Gaussian input: deficit {main['gaussian_start']} -> {main['gaussian_end']}")
print(f"vanilla:            deficit {start} -> {main['deficit_end_vanilla']}")

# %% [markdown]
# With BN the deficit drops by more than an order of magnitude within about ten layers and then stays at a small
# floor: depth drives the entropy to near its maximum. Without BN the deficit keeps growing (the representation
# collapses). From an already isotropic Gaussian batch the BN chain does **not** increase the entropy: the
# deficit rises to the same floor. So "depth maximises entropy" holds up to that floor, the stationary level
# of the chain, which is set by $n$ and $d$ together (*The floor in both variables*, below).
#
# ## The width regime at $n = 8$: BN needs $d \gg n$
#
# The same BN + identity chain for several widths at fixed $n = 8$. At $d = n$ the smallest eigenvalues of the Gram
# fall to the float32 round-off level and some batches test as singular (entropy $-\infty$). A deficit of $+\infty$
# cannot be averaged, so this figure shows the **median** over seeds with an interquartile band; infinite values are
# off the chart and counted in the table.

# %%
regime = claim.width_regime(session)
with session.figure("02_width_regime", figsize=(6, 3.8)) as ax:
    claim.plot_width_regime(ax, regime)
regime["summary"].round(3)

# %% [markdown]
# Plainly: **at $n = 8$, when $d$ is too close to $n$ the entropy does not increase with depth.** At $d = n$ the
# deficit grows by tens of nats, to the round-off level where batches test as singular; at $d = 1.5n$ and $d = 2n$
# it first dips and then grows past its starting value. From $d = 4n$ on, the deficit falls and settles at a floor
# that shrinks with width, about like $1/d$. These ratios $d/n$ hold for $n = 8$ only: the section *The floor in
# both variables* below varies $n$ and shows that the floor is not a function of $d/n$.
#
# The checks compare each network with itself: its **growth**, deficit at the last layer over its deficit at layer
# 0 (last column: median over seeds with its order-statistic 95% interval, which needs no assumption on the law
# and keeps a singular Gram's growth, $+\infty$, in its rank). At $d = 2n$ the check is that the mean over seeds of
# the log growth has its Student-$t$ interval above 0 (quick preset, seed 0: $0.46\ [0.25, 0.67]$, growth about
# 1.6-fold); at $d = n$ that the median growth's interval lies above 5 (at seed 0 all ten Grams end singular).
# An earlier version compared the two medians of the table with no interval.
#
# ## Activations
#
# At $d = 16n$, BN followed by each activation. Linear and odd activations (tanh, sin) reach a small deficit, as
# does the centred ReLU $\max(x, 0) - 1/\sqrt{2\pi}$. The plain ReLU (not centred) gains entropy but stops far from
# the maximum; sigmoid (not centred, and nearly linear around a non-zero mean) *loses* entropy.

# %%
activations = claim.activations(session)
with session.figure("02_activations", figsize=(6, 3.8)) as ax:
    claim.plot_activations(ax, activations, session.band)
for name in activations["names"]:
    print(f"{name:>14}: deficit {activations['deficit_start'][name]} -> {activations['deficit_end'][name]}")

# %% [markdown]
# ## Sanity check: the deficit identity on the simulated batches
#
# $h_{\max} - h = \tfrac n2\,\phi$ is an algebraic identity, so it cannot fail as a claim; what can fail is the code
# that computes both sides. It is a unit test of the package (`tests/test_metrics.py`) and a printed sanity
# number here, not part of the claim check. The entropy comes from a Cholesky log-determinant; the right-hand side here is recomputed from an
# eigendecomposition, an independent code path. An eigenvalue is only known to about $\varepsilon\,\lambda_{\max}$,
# so $\log\lambda_{\min}$ carries an error of about $\kappa\,\varepsilon$ for a condition number $\kappa$. The comparison is made
# on the batches with $\kappa < 10^6$ (the others are counted), with the tolerance $10\,n\,\kappa_{\max}\varepsilon \approx 2\cdot 10^{-8}$ nats;
# singular batches must have entropy $-\infty$ and deficit $+\infty$ together.

# %%
identity = claim.deficit_identity([main["table"], regime["table"], activations["table"]], session.sizes["batch_size"])
print(
    f"{identity['resolvable']} of {identity['batches']} batches with condition number < "
    f"{identity['max_condition']:.0e}: max |h_max - h - (n/2) phi_eig| = {identity['error']:.1e} nats "
    f"(tolerance {identity['tolerance']:.1e})"
)
print(f"singular batches have deficit inf and entropy -inf: {identity['singular_agree']}")

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
centred = claim.centred_bn(session)
with session.figure("02_centred_bn", figsize=(6, 3.8)) as ax:
    claim.plot_centred_bn(ax, centred, session.band)
singular = centred["singular_fraction"]
print(f"centred BN + identity: full-Gram entropy is -inf in {singular:.0%} of (seed, layer >= 1) batches")
print(f"on the complement of 1: deficit {centred['complement_start']} -> {centred['complement_end']}")
print(f"centred BN + tanh, full Gram: final deficit {centred['tanh_full_end']}")

# %% [markdown]
# ## The floor in both variables: batch size $n$ and width $d$
#
# The BN + identity chain from an i.i.d. Gaussian batch (already nearly isotropic, so the chain starts close to
# its floor), run for many layers and recorded every few layers; the **floor** of a network is its isometry gap
# $\phi$ averaged over the last 40% of its layers. Two sweeps: $n \in \{4, 8, 16, 32\}$ at a fixed $d/n = 16$,
# and $d$ from 32 to 512 at $n = 8$. Each exponent is a least-squares slope in log-log, fitted to each seed alone
# (the $k$-th network of every configuration; all networks are independent), with a Student-$t$ 95% interval over
# seeds; a joint fit $\log\phi = \log C + a\log n - b\log d$ per seed gives the prefactor $C$.

# %%
floor = claim.floor_scaling(session)
with session.figure("02_floor_scaling", ncols=3, figsize=(15, 3.8)) as axes:
    claim.plot_floor_scaling(axes, floor, session.band)
ratio, n, fit = floor["ratio"], floor["n"], floor["power_law"]
print(f"floor vs n at d = {ratio} n: slope {floor['slope_n']};  floor vs d at n = {n}: slope {floor['slope_d']}")
print(f"local slopes in d between consecutive widths: {np.round(floor['local_slopes_d'], 2)}")
print(f"joint fit: gap floor = {fit['prefactor']} * n^({fit['n']}) * d^({fit['d']})")
floor["table"].round(3)

# %% [markdown]
# **The regime, in the measured variables** (over $n = 4..32$, $d = 32..512$ only). The gap floor grows about
# linearly in $n$ at fixed $d/n$ and falls a little faster than $1/d$ at fixed $n$ (the local slope steepens at
# small $d/n$, where the gap is no longer small, and is within about 0.15 of $-1$ for $d \ge 16 n$); jointly
# $\phi_\infty \approx C\,n^{a}/d^{b}$ with $C \approx 0.3$, $a \approx 2.1$–$2.2$ and $b \approx 1.15$–$1.2$ (quick and
# paper presets). The window is stationary: its two halves differ by at most about 15%, with no trend in $n$
# (seed noise), and by 1% or less at $n = 32$, the slowest to relax (table). The deficit floor is then
# $\tfrac n2 \phi_\infty \approx \tfrac C2\, n^{a+1}/d^{b}$, about $n^3/d$: at $d = 16n$ it grows like $n^2$,
# from about 0.1 nats at $n = 4$ to about 5.5 nats at $n = 32$ (table). A fixed ratio $d/n$ therefore does not
# bring the entropy near its maximum: within $\varepsilon$ nats of it needs
# $d \gtrsim (C\,n^{a+1}/2\varepsilon)^{1/b}$, printed below, which grows like $n^{(a+1)/b} \approx n^{2.7}$; relative
# to the maximum $h_{\max} \approx 1.42\,n$ nats, the deficit is a small fraction once $d \gg n^{a/b} \approx n^{1.8}$.
#
# **Where depth lowers the entropy.** Depth moves the deficit to the floor from wherever it starts, so it lowers
# the entropy of any input that is more isotropic than the floor. An i.i.d. Gaussian batch starts at a deficit
# of about $n(n-1)/4d$, below the floor ($\approx n^3/d$ up to the constant) at every $(n, d)$ of the grid: from
# such inputs the chain always ends *below* its starting entropy (right panel, and the check below). The check
# compares each floor's interval over networks with the Gaussian input's expected deficit, the mean over 2000
# input batches (`isotropic_start_batches`, nearly exact: one Gram each). The ratio floor / input (table, quick
# preset, seed 0) is smallest at $n = 4$, $d = 64$ (about 1.9) and at $n = 8$, $d \ge 128$ (about 2.8), and
# grows with $n$ at fixed $d/n$ (11 at $n = 32$): the ratio goes roughly like $n / d^{0.2}$, so at small $n$ and
# much larger $d$ than measured the two may meet. An earlier version compared the floor with the networks' own
# ten inputs, whose deficit varies as much as the floor: at $n = 4$, $d = 64$ the two intervals overlapped at 3 of
# 8 seeds (at seed 1 a floor of 0.088 nats against an input mean of 0.060; the expected input deficit is 0.048). The
# near-collinear inputs (crosses) start far above the floor at every $n$ here, so for them depth raises the entropy;
# at $n = 8$ that stops once $d \le 2n$ (*The width regime at $n = 8$*), where the floor itself is above the start.

# %%
lowers = floor["depth_lowers_gaussian"]
print(f"from Gaussian inputs, depth lowers the entropy at every (n, d): {bool(lowers)} (margin >= {lowers.margin:.2f})")
print(f"widths d needed, from the joint fit (* outside the measured d = {min(floor['widths'])}..512: extrapolated)")
claim.widths_needed(floor)

# %% [markdown]
# ## Is the representation Gaussian? (2021)
#
# The entropy above is that of the Gaussian $\mathcal N(0, M)$, $M = G/d$: given the representation $h$, a
# pre-activation row $z = w h^\top$ is exactly that Gaussian. Over the random weights of all the layers before,
# though, $M$ is itself random, and the law of $z$ is the mixture $\mathbb E_M\,\mathcal N(0, M)$, Gaussian only if
# $M$ does not vary. Daneshmand, Joudaki and Bach (2021, in the abstract) state that, as depth grows, the
# distribution of the representation after the linear layers contracts to a Wasserstein-2 ball around an
# isotropic Gaussian, with a radius that shrinks as the network gets wider. (Within one network the $d$
# pre-activation columns are i.i.d. $\mathcal N(0, M)$, so their law is Gaussian by construction: the law to
# measure is the one over networks.)
#
# **Experiment.** One near-collinear input batch ($n = 8$), fixed; many independent BN + identity chains from it,
# in groups of $S$ networks; at each recorded layer, the law of $z$ over the networks of a group. **Reference**:
# $\mathcal N(0, I_n)$. At the stationary law this is the Gaussian with the law's own covariance: BN fixes
# $\operatorname{tr} M = n$, and the chain commutes with permuting and sign-flipping the samples, so
# $\mathbb E M = I$ (an unbiased estimate of $\|\mathbb E M - I\|_F^2$ is printed below). **Statistic**:
# $\mathrm{MMD}^2$ with a Gaussian kernel of bandwidth 1 (each coordinate of $z$ has unit variance), by two unbiased
# estimators (`normprop.gaussianity`): the two-sample U-statistic between $S$ rows $z$ (one per network) and $S$
# draws of $\mathcal N(0, I)$, whose null distribution (the same estimator on two Gaussian samples of size $S$) is
# the grey band; and its conditional expectation given the networks' $M$, in closed form: the same mean, with the
# noise of drawing $z$ given $M$ integrated out. The spread over the groups is each estimate's own.

# %%
law = claim.gaussian_law(session)
with session.figure("02_gaussianity", ncols=3, figsize=(15, 3.8)) as axes:
    claim.plot_gaussian_law(axes, law, session.band)
null, low, high = law["null"], law["null_low"], law["null_high"]
print(f"MMD^2 to N(0, I) at the floor vs width: slope {law['slope']} (MMD itself: half of it)")
print(f"two-sample null at S = {law['networks']}: mean {null.mean():.1e}, 95% range [{low:.1e}, {high:.1e}]")
law["table"]

# %% [markdown]
# From the anisotropic input the law contracts towards $\mathcal N(0, I)$ within about twenty layers and then
# stays at a floor: a distance set by how much $M$ still varies between networks, not by a wrong covariance.
# $\mathbb E M$ is $I$ up to $\|\mathbb E M - I\|_F^2 \lesssim 0.015$ (last column; a little memory of the input is
# left at $d = 32$), which would add at most about $10^{-5}$ to the $\mathrm{MMD}^2$, under 2% of the floor. The
# floor falls with width about like $d^{-2}$ in $\mathrm{MMD}^2$,
# i.e. the distance itself like $1/d$: the paper's ball, with a radius that shrinks with width. The two-sample
# estimator with $S$ networks agrees at layer 0, where the distance is large; from about layer 10 on it lies
# inside its null band at every width but the narrowest, whose floor (about $7\cdot10^{-4}$) is near the band's
# upper edge. A plain two-sample test of this size would not tell these laws from a Gaussian, which is why the
# slope is fitted to the conditional estimator. Measured at $n = 8$ only.
#
# The contraction check asks the floor's interval (over groups) to lie below 5% of the layer-0 value at every
# width, a 20-fold contraction. Measured (column *floor / layer 0*): about 0.7% at $d = 32$, 0.16% at $d = 64$ and
# less beyond. An earlier threshold of 1% sat inside the group spread at $d = 32$ (its interval's upper end
# crossed it at 1 of 8 seeds); how fast the floor falls with width is the exponent check's job.

# %% [markdown]
# ## Summary and claim check
#
# Each check is named for what it tests. Tolerances are 95% confidence intervals over seeds (Student $t$): over
# networks for the entropy and the gap floors, over groups of networks for the Gaussian law; an order-statistic
# interval for a median. The exponents are per-seed fits over the whole range of $n$ or $d$. Each check records its
# **margin**, how far the tested quantity clears its threshold in units of its own interval's half width (the
# claim ledger, `normprop ledger`, reports them over seeds). **What the verdict says**: the measured statements
# above hold at this seed (the reconstruction: depth moves the entropy to a floor set by $n$ and $d$, raising it
# from near-collinear inputs and lowering it from isotropic ones), not that the paper's "depth maximises the
# entropy" holds as stated.

# %% tags=["nbval-check-output"]
results = dict(main=main, regime=regime, activations=activations, identity=identity, centred=centred, floor=floor)
results["law"] = law
print(claim.summary(results))

# %%
session.finish(*claim.checks(results))

# %% [markdown]
# ## Deviations from the paper
#
# - **Reconstruction.** The v1 text was not available. We read its operational claim as follows: the Gaussian
#   entropy proxy of a pre-activation row, normalised to unit average variance, for BN chains with identity, tanh,
#   sin, ReLU and centred ReLU. The paper's figures and constants are not reproduced one to one.
# - **"Maximises" means "moves to a floor", and the floor is near the maximum only for $d \gg n^3$ (in nats) or
#   $d \gg n^2$ (relative to $h_{\max}$).** An earlier version of this notebook varied only the width at $n = 8$ and
#   stated the width condition as a ratio ("from $d = 4n$ on the deficit falls", "$d \ge 16n$"); the grid over
#   $n$ refutes that: at $d = 16n$ the deficit floor grows like $n^2$, so no fixed ratio keeps it small. The
#   ratios quoted for $n = 8$ hold for $n = 8$ only. From an isotropic input the chain always ends *below* its
#   starting entropy.
# - **The power law is a fit over the range varied**, $n = 4..32$ and $d = 32..512$, not an asymptotic result; the
#   local exponent in $d$ steepens where the gap is not small ($d = 4n$). Larger $n$ is left out because its chains
#   relax slowly: at $n = 64$, $d = 1024$ the gap was still rising after 200 layers.
# - **The Gaussian law** is measured by $\mathrm{MMD}^2$ with a Gaussian kernel of bandwidth 1, not by the paper's
#   Wasserstein-2 distance (whose empirical estimate is dominated by sampling error in 8 dimensions), for the
#   linear BN chain at $n = 8$ only. The conditional estimator uses that a Gaussian layer makes $z$ exactly
#   Gaussian given $M$; the two-sample estimator, which does not, agrees with it where it resolves anything.
#   The measured rate ($\mathrm{MMD} \propto 1/d$) is not the paper's bound, which we do not evaluate.
# - **The title and claim were restated** (second referee): "depth maximises the entropy" contradicts what is
#   measured, since from isotropic inputs depth lowers it. "The chain settles at a floor" alone is close to
#   generic for any Markov chain with a stationary law; what this notebook adds is quantitative: the floor's
#   scaling ($\approx n^{2.1}/d^{1.2}$ in the gap, so no fixed $d/n$ brings the entropy near its maximum), the side
#   of the floor each input starts on, and the contrast with vanilla networks (no floor: they collapse) and with
#   sigmoid and plain ReLU (floors far from the maximum).
# - **Checks made robust over seeds (wave 2).** At the quick preset, seeds 0-7, two checks failed at 4 seeds: the
#   Gaussian-input check (now against the input's expected deficit, above) and the law's 1% contraction (now 5%,
#   above). The width-regime checks compare each network with itself (paired) with an interval, and so does the
#   vanilla check (its unpaired intervals cleared each other by half a half width at seed 0).
# - **Full preset.** Its "all headline numbers finite" failed: at its 500 layers a vanilla network's Gram can
#   collapse to singular in float32 (one of ten networks in a direct test at 500 layers), so the vanilla deficit
#   is $+\infty$, a legitimate outcome. That check now allows it (NaN is still a failure); the vanilla check then holds with an infinite mean.
# - **Checks replaced.** "Wider is closer" compared two widths and the "10%" check was misnamed; they are now
#   exponent checks over the whole range and a check named for its test. The deficit identity is algebra: it is
#   a unit test and a printed sanity number, no longer a claim check.
# - **Centred ReLU** is read as the activation $\max(x,0) - 1/\sqrt{2\pi}$ (mean zero under $\mathcal N(0,1)$), not as BN
#   with centering; mean-centred BN is treated separately above *(uncertain)*.
# - **Scale.** $n = 8$ in most sections, $n$ up to 32 for the floor; widths up to 512, up to 200 layers, 20 seeds
#   (paper preset); 10 seeds, 40 layers (100 for the floor) in the quick preset whose outputs are committed.
