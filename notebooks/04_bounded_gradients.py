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
# # 04 · Batch normalization without gradient explosion
#
# **Claim.** A batch-normalised linear MLP with **orthogonal** weights keeps the gradients of its early layers
# bounded at any depth, provided the samples of the batch are linearly independent (here: $n = d$ of them): the
# representations converge to isometry and BN then acts as an isometry too. With Gaussian weights, or with repeated
# samples, the gradient explodes exponentially with depth. For tanh and sin, an activation gain that decays with
# depth, $\alpha_\ell = (\ell+1)^{-\gamma}$, restores bounded gradients (here: slows their growth many times over). The
# title claim: such networks can be **trained** by SGD at depths where batch-normalised networks with Gaussian weights
# cannot.
#
# **Paper.** A. Meterez, A. Joudaki, F. Orabona, A. Immer, G. Rätsch, H. Daneshmand. *Towards Training Without
# Depth Limits: Batch Normalization Without Gradient Explosion.* ICLR 2024.
# [arXiv:2310.02012](https://arxiv.org/abs/2310.02012) — Theorem 1, Theorem 3, Fig. 1, 2, 3, 5.
#
# **Construction.** In this package's convention a batch is $h \in \mathbb R^{n\times d}$ (samples by features; the
# paper writes $X = h^\top$). $h_{\ell+1} = \mathrm{BN}(h_\ell W_\ell)$ with $W_\ell$ Haar-orthogonal $d\times d$, $n = d$, BN
# without centering scaling each feature to **unit norm** over the batch (the theory's convention), identity
# activation. The shaped variant is $h_{\ell+1} = \sigma(\alpha_\ell\,\mathrm{BN}(h_\ell W_\ell))$ with BN at **unit variance**
# (torch's convention: the activation must see inputs of order one to be non-linear at all), $\gamma = 0.4$ as in the
# official code. Gradients: the loss is the mean squared error of a fixed Gaussian readout against Gaussian
# targets; we report $\log\|\partial L/\partial W_0\|_F$, computed in float64 for a whole batch of seeds in one
# backward pass. Inputs are synthetic Gaussian batches with $n = d$. The last section trains such MLPs by SGD on the
# 8x8 digits, following the official `run.py`.

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
import normprop as npp

session = npp.start("04_bounded_gradients", preset, seed=seed, threads=threads, device=device)
claim, band = session.claim_module, session.band

# %% [markdown]
# ## Fig. 1 — the isometry gap decays exponentially (Theorem 1)
#
# **Theory.** $\mathbb E\,\phi(X_{\ell+1}) \le \phi(X_0)\, e^{-\ell/k}$ with $k = C d^2 (1 + d\,\phi(X_0))$. The constant $C$ is not
# given in a usable form, so we do not draw the bound; we fit the empirical rate $r(d)$ of
# $\log\phi_\ell \approx \log\phi_0 - r\,\ell$ for each width and compare how it **scales** with $d$ with the theorem's $1/k$,
# which falls at least as fast as $d^{-2}$. Input: an orthogonal batch plus Gaussian noise of standard deviation
# 0.3 (near-isometric, $\phi_0 \approx 0.09$), $n = d$, float64 (the gap reaches $10^{-12}$ within a few hundred layers; the
# rate is fitted where the gap is above $10^{-10}$, since float64 round-off of a log-determinant is about $10^{-14}$).

# %%
rate = claim.isometry_rate(session)
with session.figure("04_isometry_rate", ncols=2, figsize=(11, 4)) as axes:
    claim.plot_isometry_rate(axes, rate, band)
print(claim.isometry_rate_reading(rate))

# %% [markdown]
# The decay is exponential at every width, and the rate falls like $1/d$ ($d \cdot r \approx$ constant), much faster
# than the theorem's $d^{-2}$ (or $d^{-3}$ once $d\,\phi_0$ dominates). Theorem 1 is an upper bound and proves the
# exponential decay; its width dependence is loose by at least one power of $d$.
#
# ## Theorem 3 by Monte Carlo: BN with orthogonal weights increases isometry in expectation
#
# $\mathbb E_W\, \mathcal I(\mathrm{BN}(W X)) \ge \big(1 - \sum_k (\lambda_k - 1)^2 / (2d^2(d+2))\big)^{-1} \mathcal I(X)$ for an input whose features
# have unit norm, with $\lambda_k$ the eigenvalues of its $n\times n$ Gram ($n = d$, mean eigenvalue 1). We draw random
# inputs and estimate the left side with many Haar matrices, in float64.


# %%
theorem = claim.theorem3(session)
theorem.round(4)

# %% [markdown]
# The Monte Carlo mean exceeds the bound in every case, with its 99.9% interval clear of it: the expected isometry
# increases by at least the factor the theorem states (and usually by much more).
#
# ## Fig. 3, Fig. 2 and the centering ablation — log gradient norm vs depth
#
# For each depth $L$ a fresh network is drawn and $\log\|\partial L/\partial W_0\|$ measured. A bounded gradient shows as a
# flat line, an exponential explosion as a straight rising line. The slope per layer is fitted per seed.
#
# - **orthogonal** vs **Gaussian** weights, independent samples (Fig. 3);
# - **orthogonal weights, repeated samples**: the batch holds $d/2$ distinct samples, each twice (Fig. 2);
# - **orthogonal weights, mean-centred BN** (the ablation: centering makes the Gram singular in the mean direction);
# - **orthogonal weights, $n = d/2$ samples**: independent samples, but fewer than features. Not in the paper: it
#   decides the batch size of the training section below.

# %%
grads = claim.gradient_growth(session)
with session.figure("04_gradients", figsize=(6.5, 4)) as ax:
    claim.plot_gradients(ax, grads, band)
print(claim.gradient_reading(grads))

# %% [markdown]
# Orthogonal weights with independent samples: flat (the slope's interval lies within 10% of the Gaussian slope
# around zero). Gaussian weights and repeated samples: the log gradient grows linearly, i.e. the gradient explodes
# exponentially. **Fewer samples than features** ($n = d/2$) explodes as well, at a rate close to the Gaussian one,
# although the samples are independent: in these runs the bound needs $n = d$, not only linearly independent samples.
#
# **Mean-centred BN** grows at least ten times slower than with Gaussian weights (the printed factor). Whether it grows
# at all is only clearly resolved at the paper preset's depths: there (depth 1000, 16 seeds) the slope's interval lies
# above 0 at every seed of the ledger, a mild growth; at the quick preset (depth 300, 16 seeds) its lower end lies
# close to 0, above it at 9 of seeds 0-9. The line printed above says which holds for this run. The gradient figures
# (this one and Fig. 5) draw 16 seeds in the quick preset, not the 8 of its other sweeps: with 8, the slowdown's
# interval was too wide to clear 10 at 2 of quick seeds 0-9 (lower ends 8.3 and 9.1, means 22 and 17); with 16 its
# lower end is at least 13.3 at every one of those seeds. A plausible
# reading: centering removes the all-ones direction of the batch, so the batch is degenerate in one of $n$ directions.
#
# ## Fig. 5 — activation shaping for tanh and sin
#
# Orthogonal weights, BN at unit variance, $\sigma \in \{\tanh, \sin\}$, with and without the gain
# $\alpha_\ell = (\ell+1)^{-\gamma}$. **Confound:** the gain also shrinks the last representation, hence the logits of
# the readout, by $\alpha_{L-1}$, and that alone shrinks the gradient. The dashed lines remove it by plotting
# $\log\|\partial L/\partial W_0\| - \log\alpha_{L-1}$.

# %% [markdown]
# ### How many samples the bound needs: $n/d$ from 1/4 to 1
#
# The $n = d/2$ case above rests on one width. Here orthogonal weights with $n/d \in \{1/4, 1/2, 3/4, 1\}$ at two
# widths ($d = 16$ and $32$), the same depths and seeds; the slope of the log gradient per layer, with its 95% interval:

# %%
ratios = claim.sample_ratio_growth(session)
claim.sample_ratio_table(ratios)

# %% [markdown]
# Read the table: every $n < d$ cell whose interval lies above 0 grows, and the $n = d$ column is the only one
# near zero. The rule "the bound needs $n = d$" is stated over what was varied: $n/d$ from 1/4 to 1 at $d = 16$ and
# $32$, linear networks, depths up to the preset's deepest. The claim check's supporting lines test both halves.

# %%
shaped = claim.shaping(session)
with session.figure("04_shaping", ncols=2, figsize=(11, 4)) as axes:
    claim.plot_shaping(axes, shaped, band)
print(claim.shaping_reading(shaped))

# %% [markdown]
# Without the gain, tanh and sin explode at about 0.09 and 0.13 nats per layer. With it, the raw log gradient falls
# slightly (slope below 0), which the shrinking logits account for. Once they are removed (dashed), the gradient
# still **grows**, measurably in both presets (the gain-corrected slope's interval lies above 0), but by less than one
# nat over the deepest network and many times slower than without the gain (the printed factors, with conservative
# intervals: at least ten-fold in both presets). "Bounded" is therefore an overstatement at these depths: the gain
# slows the explosion by a large factor rather than removing it.
#
# ## Training at depth — the title claim
#
# The paper's title is about training. Its official `run.py` trains `MLPWithBatchNorm` (`src/modules/models.py`) by
# plain SGD on the cross-entropy; we follow it where the code fixes a choice and say where we deviate:
#
# | | official code | here |
# |---|---|---|
# | data | torchvision CIFAR-10, CIFAR-100, MNIST, FashionMNIST, normalised | 8x8 digits, 1438 training images, each pixel standardised |
# | layer | `Linear` (bias a flag), BN, activation with gain $(\ell+1)^{-\gamma}$ | the same: `NetworkSpec`, no bias |
# | BN | `CustomNormalization('bn')`: batch statistics only (no running statistics, also at evaluation), no affine parameters, centring a flag, each feature rescaled to unit mean square | the same, uncentred |
# | order | `--order`; the model's default is `act_norm` | `act_norm` (below) |
# | init | `nn.init.orthogonal_` or `xavier_normal_`, every layer including the readout | Haar orthogonal or $\mathcal N(0, 1/d_{in})$ hidden layers; Xavier readout for both |
# | optimiser | SGD, no momentum, `--learning-rate` default 0.001 | SGD, no momentum, learning rate 0.005 |
# | batch size, width | command-line arguments (the gradient notebooks use $n = d = 100$) | $n = d = 48$ |
# | budget | `--num-epochs` default 1000 | 2 epochs (60 steps) |
#
# The paper's text on its training runs was not available to us *(uncertain)*; the table reads the code only.
#
# **Why $n = d = 48$.** The bound needs as many samples as features: with $n = d/2$ the orthogonal gradient explodes
# (figure above). Digits have 64 pixels of which 3 are constant, so a batch of 64 digits is rank-deficient (rank at most
# 61): the repeated-samples regime. Width 48 with mini-batches of 48 is the construction of the theory with
# independent samples; the first layer is a $64 \to 48$ semi-orthogonal (or Gaussian) map, as `nn.init.orthogonal_`
# draws for a non-square layer.
#
# **Why `act_norm`.** With `norm_act` the gain shrinks the last representation, hence the logits, by $\alpha_{L-1}$ (the
# confound of the previous section), and a deep shaped network starts with near-zero logits. `act_norm`,
# $h_{\ell+1} = \mathrm{BN}(\sigma(\alpha_\ell\, h_\ell W_\ell))$, ends every layer with BN; for the linear networks the two
# orders are the same network.
#
# **Budget and loss.** Every network trains for the same budget, all seeds in one batched SGD run per (network, depth),
# mini-batches of 48 normalised with their own statistics. The figure's loss is the cross-entropy
# on the **whole training set in one forward pass**, so BN uses the statistics of all 1438 images: the evaluation
# of `train.sgd`. The table below also gives the official code's reading, the mean loss over mini-batches of 48 (in the data's
# order), each normalised with its own statistics. For the linear networks the two readings agree on which train
# and which fail (supporting lines of the claim check); for tanh with the gain at the deepest depth they do not
# (paper preset, seed 0: 0.78 [0.68, 0.87] with whole-set statistics, trains; 1.09 [1.00, 1.17] with mini-batch
# ones, undecided), so the shaped network's check holds with whole-set statistics only. A seed whose loss becomes infinite or NaN has
# **diverged**; it is reported as $+\infty$ and the other seeds train on.
#
# **"Trains"** means: the mean loss after the budget, over seeds, lies below half the chance level,
# $\tfrac12 \ln 10 \approx 1.15$, with its 95% interval; **"fails"** means its interval lies above it (or a seed
# diverged). The runs: orthogonal and Gaussian weights with identity activation (the theory's network), and orthogonal
# weights with tanh with and without the gain $\gamma = 0.4$. Next to the loss, the log gradient norm of the first
# layer at initialisation on mini-batches of 48 digits (the mean squared error of a Gaussian readout, as above), to
# connect the two.
#
# **The step size.** One step (0.005) for every network is a step tuned for no one, and a smaller one could rescue
# Gaussian weights. So the two linear networks also train at a smaller step (the grid 0.001, 0.005), same
# budget, and each is read at its **best** step per depth (the lowest mean loss; a step at which a seed diverged "did
# not train" and is listed). "Fails" in the claim check means: fails at its best step of this grid and budget.

# %%
training = claim.training_at_depth(session)
with session.figure("04_training_depth", ncols=2, figsize=(12, 4.5)) as axes:
    claim.plot_training(axes, training, band)

# %%
print(claim.training_reading(training))
claim.training_table(training)

# %%
claim.step_scan_table(training)

# %% [markdown]
# **Orthogonal weights** train at every depth tried, the deepest included, and their gradient at initialisation does
# not grow with depth (right). **Gaussian weights**: the gradient at initialisation grows exponentially with depth
# (a straight line on the right's linear axis), at large depth the loss after the same budget rises far above the
# orthogonal network's, and at the deepest depth the network fails (its interval lies above half the chance level,
# or seeds diverge). The lines above the
# table give the depths at which each network trains. So the title claim reproduces in this setting: with the same
# SGD step and budget, BN with orthogonal weights trains at depths where BN with Gaussian weights does not, up to the
# deepest depth tried (300 layers in the quick preset, 500 in the paper preset). The step table says it is not the
# step's doing: at the deepest depth Gaussian weights fail at their best step of the grid too, so "fails" holds over steps
# 0.001-0.005 with this budget. At depth 200 the smaller step lowers their loss but not below the line (paper preset, seed 0: 1.32 at 0.001
# against 1.45 at 0.005); at depth 500 one or two of the 8 seeds diverge at each step (loss inf: the network "did
# not train") and the others end at 1.5-2.8. **Limit:** Gaussian weights' best step at depth 200 is the grid's
# smaller edge, 0.001; smaller steps were not tried (with 2 epochs a smaller step moves the network less, and an
# independent read trained Gaussian weights at depth 200 with 10 epochs at 0.001), so "fails at its best step" is
# over this grid and budget. The mini-batch reading of the loss is higher for the trained networks (their BN
# statistics over 48 images are noisier than over the whole set); see the table for where it changes a verdict.
#
# **tanh**: without the gain the gradient at initialisation explodes at about 0.09 nats per layer and training fails
# (seeds diverge, or end at or above chance) beyond the shallowest depth; with the gain $\alpha_\ell = (\ell+1)^{-0.4}$
# it trains at every depth tried, with losses close to the linear orthogonal network's (see the table).
#
# What this does not show: training at *any* depth (we stop at 500, with a budget of 60 SGD steps), nor that
# orthogonal networks are insensitive to depth (the loss after the budget is not constant in depth; see the table),
# nor generalisation (only the training loss is measured).
#
# ## Summary and claim check
#
# Tolerances are 95% confidence intervals over seeds (Student $t$): of per-seed slopes for the gradients, of the
# losses after the budget for training. "Bounded" is tested as a slope whose interval lies within 10% of the
# Gaussian slope around zero, at the same depths; "$k$ times slower" compares two slopes by the conservative interval
# of their ratio; an overflow makes a slope infinite and fails every check it enters. Checks of what did not
# reproduce, or is only resolved in one preset, are reported as supporting lines, not hidden.

# %% tags=["nbval-check-output"]
results = rate, theorem, grads, shaped, training, ratios
print(claim.summary(*results))

# %%
session.finish(*claim.checks(*results))

# %% [markdown]
# ## Deviations from the paper
#
# - **Data.** Synthetic Gaussian batches with $n = d = 32$ for the gradients instead of CIFAR-10 batches of 100
#   (official notebooks); 8x8 digits for training instead of CIFAR-10 or MNIST (bundled, no download; a 2-core CPU).
#   A batch of digits is rank-deficient beyond $n = 61$ (3 of the 64 pixels are constant).
# - **Depth.** Gradients up to 1000 layers (paper preset) and 300 (quick), 16 seeds in both. Training up to 500 layers
#   (paper preset, 8 seeds) and 300 (quick, 6 seeds); the official gradient notebooks go to 1000. The full preset also
#   trains at depth 1000, with the same budget, and there the claim is **not reproduced**: orthogonal BN ends at 1.09
#   (undecided against the 1.15 threshold; 0.56 at depth 500) and shaped tanh at 1.24, while Gaussian weights diverge
#   from depth 500 on. Two epochs are not enough at depth 1000 (the official `run.py` allows up to 1000). Training covers
#   tanh only (sin only in the gradient figures), to keep the paper preset within its time budget.
# - **BN scale.** Unit norm per feature for the linear chains (the theory), unit variance for the shaped chains and
#   for training (the official `CustomNormalization`; the activation's input must be of order one, and with unit-norm
#   features tanh and sin are nearly linear and nothing explodes even without the gain).
# - **Shaping (Fig. 5).** The official gain notebook uses torch's `BatchNorm1d` (centred, affine, running statistics)
#   and biases; we use the uncentred, non-affine BN of the theory and no biases.
# - **Loss.** For the gradient figures the paper's exact loss is not specified in what we had *(uncertain)*: we use
#   the mean squared error of a fixed Gaussian readout, which only sets the constant in front of the gradient, not
#   its growth (the official notebooks use the cross-entropy of a CIFAR-10 batch).
# - **Training.** Width and batch size $n = d = 48$, chosen so the batch satisfies the theory (the official values
#   are command-line arguments); 2 epochs at learning rate 0.005 instead of up to 1000 epochs at the default 0.001: a
#   budget a CPU affords, with a step large enough for shallow networks to train in it. The step was picked from a
#   few tried in exploratory runs (0.001 to 0.03, widths 32 to 64, 2 or 3 epochs; not recorded here): at depth 300
#   Gaussian weights stayed well above orthogonal ones at every step from 0.001 to 0.01, and at 0.03 neither trained.
#   A step scan over 0.001 and 0.005 (smaller steps are what could rescue Gaussian weights) for the linear networks, at every depth, reads each at its best
#   step: "fails" means "fails at its best step of that grid, with this budget"; longer budgets are not tried (an
#   independent read found 10 epochs at 0.001 train Gaussian weights at depth 200). Xavier readout for both inits (the official orthogonal run also orthogonalises the
#   readout). `act_norm` order for the non-linear networks, chosen because `norm_act` would shrink the logits by
#   $\alpha_{L-1}$. Both readings of the loss are shown: full-training-set BN statistics (the figure and the checks) and
#   mini-batch ones (the table and a supporting line). The paper's own
#   training setup (learning rate, batch size, depths) could not be read from its text *(uncertain)*.
# - **Theorem 1 constant** is not drawn as a bound; we report the measured rate and its width exponent instead.
