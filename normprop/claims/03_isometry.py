"""Claim 03: its catalog entry and preset sizes, the task functions of its sweeps, one function per figure that
runs that figure's sweeps and summarises them, the plots, and the claim check.

The notebook ``notebooks/03_isometry.ipynb`` tells the story; this module holds what is specific to the claim.
The network is the official validation MLP of Joudaki, Daneshmand and Bach (NeurIPS 2023, arXiv:2305.18399):
``x_{l+1} = LN(sigma(x_l W_l) - mean)``, ``W_l`` i.i.d. ``N(0, 1/d)``, a spiked Gaussian input batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from normprop.claims import Claim, cite, lazy_import

np = lazy_import("numpy")
torch = lazy_import("torch")
pd = lazy_import("pandas")
sns = lazy_import("seaborn")
analysis = lazy_import("normprop.analysis")
data = lazy_import("normprop.data")
metrics = lazy_import("normprop.metrics")
nets = lazy_import("normprop.nets")
theory = lazy_import("normprop.theory")

CITATIONS = (cite("joudaki2023impact"),)

QUICK = {
    "seeds": 10,
    "batch_size": 10,
    "width": 512,
    "depth": 30,
    "spike": 10.0,
    "fit_layers": 5,
    "ablation_widths": [64, 256, 512],
    "gains": [0.5, 1.0, 2.0, 4.0],
    "rate_widths": [128, 512, 4096],
}

PAPER = {
    "seeds": 20,
    "batch_size": 10,
    "width": 1000,
    "depth": 30,
    "spike": 10.0,
    "fit_layers": 5,
    "ablation_widths": [64, 250, 1000, 4000],
    "gains": [0.5, 1.0, 2.0, 4.0],
    "rate_widths": [250, 1000, 4000],
}

# 2023 validation MLP: n = 10, d up to 1000 (ablations to 4000), 30 layers, 10 repetitions.
FULL_CHANGES = {"seeds": 10, "width": 1000, "ablation_widths": [64, 250, 1000, 4000]}

CLAIM = Claim(
    notebook="03_isometry",
    title="Normalization and activation bias the Gram matrix towards isometry, over the first layers at the "
    "mean-field rate",
    statement="In random MLPs with layer normalization and centred activations, the isometry gap of the "
    "representations falls with depth; over the first five layers at d >= 512 at the rate the activation's "
    "mean-field correlation map predicts, later (layers 5-30, d <= 1000) or narrower slower than the map, a lag "
    "that shrinks with width; "
    "Theorem 1's beta_sigma = 2 - c_1^2 / sum_{k>=1} c_k^2 bounds that rate from below and orders the final gaps "
    "at gain 1 (not the rates across activations and gains); normalization itself never decreases isometry.",
    citations=CITATIONS,
    presets={"quick": QUICK, "paper": PAPER, "full": {**PAPER, **FULL_CHANGES}},
    runtime={"quick": 55, "paper": 64, "full": 58},
    figures={
        "03_correlation_maps": "2023, dual kernels and the beta table",
        "03_isometry_vs_depth": "2023 Fig. 1-2 (validation MLP)",
        "03_rates": "2023 Thm. 1 bound vs the mean-field rate (not a paper figure)",
        "03_normalisation": "2023, normalization never decreases isometry (lemma); the official plot",
        "03_ablations": "2023 ablations (centering, normalization, order, gain, Hermite, width)",
    },
)

ACTIVATIONS = ["identity", "relu", "leaky_relu", "tanh", "sigmoid", "sin", "exp", "selu", "elu", "gelu", "silu"]
HERMITE = ["he1", "he2", "he3"]
#: A rate is fitted only over layers where the potential stays above this many times the finite-width floor.
FLOOR_MARGIN = 3.0
#: The activations drawn in the isometry-vs-depth figure (the tables have all of them).
SHOWN = ["identity", "sigmoid", "tanh", "sin", "relu", "exp", "he2"]
#: beta_sigma as the paper and the official code report it.
REFERENCES = {"relu": 1.2665, "tanh": 1.0695, "sigmoid": 1.0158}
OFFICIAL = "official plot (mean of the two)"


def chain_sizes(sizes: Mapping[str, Any], *without: str) -> dict[str, Any]:
    """The sizes a validation-MLP task takes as fixed keyword arguments (``n``, ``width``, ``depth``, ``spike``),
    from a preset's sizes; ``without`` leaves some out (those a sweep varies)."""
    chain = {"n": sizes["batch_size"], "width": sizes["width"], "depth": sizes["depth"], "spike": sizes["spike"]}
    return {key: value for key, value in chain.items() if key not in without}


# --- task functions (one call per configuration and seed shard; see normprop.repro.sweeps) ---


def validation_mlp(
    activation: str,
    seeds: int,
    generator: torch.Generator,
    *,
    n: int,
    width: int,
    depth: int,
    spike: float,
    centering: bool = True,
    norm: str = "layer",
    order: str = "act_norm",
    gain: float = 1.0,
    mean_field: bool = False,
) -> pd.DataFrame:
    """The official validation MLP, ``x_{l+1} = LN(sigma(gain * x_l W_l) - mean)`` by default, run on a batch of
    ``seeds`` spiked inputs (:func:`normprop.data.spiked_batch`, ``n`` samples, top singular value times ``spike``);
    one row per seed and layer ``0..depth`` with the isometry ``gap`` and the correlation ``potential``
    ``gamma = max_{i != j} |C_ij| / (1 - |C_ij|)`` (the quantity Theorem 1 bounds), measured after normalisation.

    With ``mean_field``, the mean-field chain ``C_{l+1} = f(C_l)`` (eq. 7) started from the same input batch is
    added as two more columns, ``mean-field gap`` and ``mean-field potential``.
    """
    x = data.spiked_batch(seeds, n, width, generator, factor=spike)
    spec = nets.NetworkSpec(width, depth, norm=norm, centering=centering, order=order, activation=activation, gain=gain)
    isometry_metrics = {"gap": metrics.isometry_gap, "potential": metrics.correlation_potential}
    table = nets.measure_chain(x, spec, isometry_metrics, generator)
    if mean_field:
        chain = theory.mean_field_trajectory(x.double(), activation, depth, gain=gain)
        chain = chain.rename(columns={"gap": "mean-field gap", "potential": "mean-field potential"})
        table = table.merge(chain, on=["seed", "layer"])
    return table


def rate_window_mlp(
    activation: str,
    gain: float,
    w: int,
    seeds: int,
    generator: torch.Generator,
    *,
    n: int,
    depth: int,
    spike: float,
) -> pd.DataFrame:
    """:func:`validation_mlp` of width ``w`` and ``depth`` layers (the rate's fit window) with its mean-field chain:
    the measured and the mean-field rate at one width."""
    return validation_mlp(
        activation, seeds, generator, n=n, width=w, depth=depth, spike=spike, gain=gain, mean_field=True
    )


def gaussian_potential(width: int, seeds: int, generator: torch.Generator, *, n: int) -> pd.DataFrame:
    """The potential of ``n`` independent Gaussian vectors in ``R^width``, one row per seed: the finite-width floor
    where a chain whose mean field has reached isometry stays."""
    potential = metrics.correlation_potential(data.gaussian_batch(seeds, n, width, generator))
    return pd.DataFrame({"seed": np.arange(seeds), "potential": potential.cpu().numpy()})


def spiked_mean_field(
    width: int, seeds: int, generator: torch.Generator, *, n: int, depth: int, spike: float, activation: str
) -> pd.DataFrame:
    """The mean-field chain ``C_{l+1} = f(C_l)`` (eq. 7: the correlation map applied entry-wise, layer after layer)
    from the correlations of a spiked input batch of width ``width``; ``gap`` and ``potential`` per seed and layer."""
    x = data.spiked_batch(seeds, n, width, generator, factor=spike).double()
    return theory.mean_field_trajectory(x, activation, depth)


def pre_norm_gap(raw: torch.Tensor, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """Isometry gap of the activation's output before centring: what the official code logs as ``pre_norm``."""
    return metrics.isometry_gap(raw)


def centred_gap(raw: torch.Tensor, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """Isometry gap just before LN divides by the norms (after centring)."""
    return metrics.isometry_gap(before)


def normalised_gap(raw: torch.Tensor, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """Isometry gap after LN."""
    return metrics.isometry_gap(after)


def identity_residual(raw: torch.Tensor, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """``phi_before - phi_after - (log AM(a^2) - log GM(a^2))`` for the row norms ``a`` before LN: zero up to
    round-off, since ``I(C) = I(G) AM(a^2) / GM(a^2)`` exactly."""
    return metrics.isometry_gap(before) - metrics.isometry_gap(after) - metrics.row_norm_gap(before)


STAGE_METRICS = {
    "pre_norm (official, before centring)": pre_norm_gap,
    "before LN (centred)": centred_gap,
    "after LN": normalised_gap,
    "identity residual": identity_residual,
}


def normalisation_stages(
    activation: str, width: int, seeds: int, generator: torch.Generator, *, n: int, depth: int, spike: float
) -> pd.DataFrame:
    """The validation MLP in float64, measured around every LN layer (:data:`STAGE_METRICS`: the uncentred
    activation output, the centred tensor before the division by the norms, and the output); one row per seed
    and layer ``1..depth``."""
    return nets.measure_stages(
        data.spiked_batch(seeds, n, width, generator, factor=spike, dtype=torch.float64),
        nets.NetworkSpec(width, depth, norm="layer", centering=True, order="act_norm", activation=activation),
        STAGE_METRICS,
        generator,
        uncentred=True,
    )


# --- analysis of the chains ---


def bound_excess(table: pd.DataFrame, activation: str, gain: float = 1.0) -> float:
    """Largest ratio of the mean-field potential to Theorem 1's bound ``gamma_0 beta_sigma^-l`` (each seed its own
    ``gamma_0``, its layer-0 potential); at most 1 where the bound holds."""
    gamma0 = table[table.layer == 0].set_index("seed")["mean-field potential"].loc[table.seed].to_numpy()
    bound = theory.predicted_potential(gamma0, theory.beta_sigma(activation, gain=gain), table.layer.to_numpy())
    return float(np.max(table["mean-field potential"].to_numpy() / bound))


def fit_window(table: pd.DataFrame, floor: float, fit_layers: int) -> int:
    """Layers ``0..L`` used for a rate: ``L <= fit_layers``, and the seed mean of the potential stays above
    ``FLOOR_MARGIN * floor`` (``floor``: :func:`gaussian_potential` at the chain's width)."""
    return analysis.last_layer_above(table, "potential", FLOOR_MARGIN * floor, fit_layers)


def compare_with_mean_field(
    table: pd.DataFrame, activation: str, gain: float, floor: float, fit_layers: int
) -> analysis.RateComparison | str:
    """Measured vs mean-field decay rate ``-d log(gamma) / d layer`` of the potential, per seed and paired (same
    seeds, same window :func:`fit_window`); or why there is none (:func:`normprop.theory.rate_ratio_undefined`, or a
    window shorter than three layers)."""
    reason = theory.rate_ratio_undefined(activation, gain)
    end = fit_window(table, floor, fit_layers)
    if reason is None and end < 2:
        reason = f"the potential reaches {FLOOR_MARGIN:g}x the finite-width floor by layer {end + 1}"
    return reason or analysis.compare_decay_rates(table, "potential", "mean-field potential", end)


def rate_windows(fit_layers: int, depth: int) -> dict[str, tuple[int, int]]:
    """The fit windows of the rate by depth: ``early`` layers ``0..fit_layers`` (the transient from the spiked
    input, the window of the rate table), ``middle`` ``fit_layers..3 fit_layers`` and ``late`` ``3 fit_layers..depth``
    (slices of the same per-layer table)."""
    return {"early": (0, fit_layers), "middle": (fit_layers, 3 * fit_layers), "late": (3 * fit_layers, depth)}


def compare_in_window(
    table: pd.DataFrame, activation: str, gain: float, floor: float, first: int, last: int
) -> analysis.RateComparison | str:
    """Measured vs mean-field rate of the potential over layers ``first..last``, cut where the measured potential
    (seed mean) falls below ``FLOOR_MARGIN`` times the finite-width floor; or why the ratio is unresolved: no ratio
    is defined (:func:`normprop.theory.rate_ratio_undefined`), fewer than three layers are left above the floor, or
    a rate's interval over seeds reaches zero (:func:`normprop.analysis.rate_resolved`)."""
    reason = theory.rate_ratio_undefined(activation, gain)
    if reason is not None:
        return reason
    end = analysis.last_layer_above(table, "potential", FLOOR_MARGIN * floor, min(last, int(table.layer.max())))
    if end - first < 2:
        return f"fewer than 3 layers from layer {first} above {FLOOR_MARGIN:g}x the finite-width floor"
    comparison = analysis.compare_window_rates(table, "potential", "mean-field potential", first, end)
    if not analysis.rate_resolved(comparison):
        return f"a rate's interval reaches 0 (measured {comparison.measured}, mean field {comparison.predicted})"
    return comparison


def ratio_entry(comparison: analysis.RateComparison | str) -> float | str:
    """How a ratio is recorded: the number where it is resolved, ``"unresolved: <why>"`` otherwise."""
    if isinstance(comparison, str):
        return f"unresolved: {comparison}"
    return comparison.ratio if analysis.rate_resolved(comparison) else "unresolved: a rate's interval reaches 0"


# --- the figures: each runs its sweeps and returns its tables and summaries ---


def dual_kernels(names: Sequence[str] = (*ACTIVATIONS, *HERMITE), points: int = 201) -> dict[str, Any]:
    """Hermite coefficients ``c_0..c_5``, ``beta0 = c_1^2 / sum_{k>=1} c_k^2`` and ``beta_sigma = 2 - beta0``
    (Theorem 1) of each activation (``hermite``, indexed by activation; ``beta``, a dict), and the correlation map
    ``f(rho)`` on ``points`` correlations in [-1, 1] of the non-Hermite ones (``maps``, long form)."""
    rows = []
    for name in names:
        c = theory.hermite_coefficients(name, 5)
        rows.append(
            {
                "activation": name,
                **{f"c{k}": c[k] for k in range(6)},
                "beta0": theory.beta0(name),
                "beta_sigma": theory.beta_sigma(name),
            }
        )
    hermite = pd.DataFrame(rows).set_index("activation")
    rho = np.linspace(-1, 1, points)
    maps = pd.concat(
        [
            pd.DataFrame({"rho": rho, "f(rho)": theory.correlation_map(name, rho), "activation": name})
            for name in names
            if name not in HERMITE
        ],
        ignore_index=True,
    )
    return {"hermite": hermite, "beta": hermite["beta_sigma"].to_dict(), "maps": maps}


def isometry_vs_depth(session: Any, beta: Mapping[str, float]) -> dict[str, Any]:
    """Sweeps ``floors`` (:func:`gaussian_potential` at every width the rates use) and ``activations`` (every
    activation's validation MLP with its mean-field chain); per activation the final and initial gap, the fit
    window and the measured decay rate of the potential, and the table ``order`` of them sorted by ``beta_sigma``."""
    from scipy.stats import spearmanr  # here, not at the top: listing the claims must not import scipy

    cfg = session.sizes
    seeds, width = cfg["seeds"], cfg["width"]
    floors = (
        session.grid(
            "floors",
            gaussian_potential,
            fixed={"n": cfg["batch_size"]},
            seeds=seeds,
            shard=seeds,
            width=sorted({width, *cfg["rate_widths"], *cfg["ablation_widths"]}),
        )
        .groupby("width")["potential"]
        .mean()
        .to_dict()
    )
    runs = session.grid(
        "activations",
        validation_mlp,
        fixed={"mean_field": True, **chain_sizes(cfg)},
        seeds=seeds,
        shard=seeds,
        activation=ACTIVATIONS + HERMITE,
    )
    final_gap = analysis.estimates_at_layer(runs, "gap", "activation")
    start_gap = analysis.estimates_at_layer(runs, "gap", "activation", 0)
    windows = {name: fit_window(t, floors[width], cfg["fit_layers"]) for name, t in runs.groupby("activation")}
    rates = {
        name: analysis.per_seed_decay_rate(t, "potential", windows[name]) for name, t in runs.groupby("activation")
    }
    order = pd.DataFrame(
        {
            "beta_sigma": beta,
            "Theorem 1 bound log(beta)": {k: np.log(v) for k, v in beta.items()},
            "measured decay": {k: v.mean for k, v in rates.items()},
            "decay CI low": {k: v.low for k, v in rates.items()},
            "decay CI high": {k: v.high for k, v in rates.items()},
            "fit layers 0..": windows,
            "final gap": {k: v.mean for k, v in final_gap.items()},
        }
    ).sort_values("beta_sigma")
    spearman = spearmanr(order["beta_sigma"], order["final gap"]).statistic
    he2_deep = runs[(runs.activation == "he2") & (runs.layer > cfg["depth"] - 10)].potential.mean()
    return {
        "runs": runs,
        "floors": floors,
        "final_gap": final_gap,
        "start_gap": start_gap,
        "windows": windows,
        "rates": rates,
        "order": order,
        "spearman": spearman,
        "he2_deep": he2_deep,
    }


def rate_comparison(session: Any, beta: Mapping[str, float], chains: Mapping[str, Any]) -> dict[str, Any]:
    """Measured vs mean-field vs bound rates: sweeps ``gains`` (tanh(gain x) with its mean-field chain) and
    ``rate_widths`` (ReLU, exp and tanh(4x) over the fit window, at several widths), on top of the ``activations``
    sweep of :func:`isometry_vs_depth` (``chains``).

    Returns the comparisons (:class:`normprop.analysis.RateComparison`) that have a ratio (``compared``) and the
    reasons of those that do not (``excluded``), the ``rate_table``, which prediction the rates ``follow`` (median
    ``|log(measured / predicted)|`` over the cases with a positive measured rate), the comparison per width
    (``by_width``, ``ratio_by_width``) and the largest ratio of a mean-field potential to Theorem 1's bound.
    """
    cfg = session.sizes
    seeds, fit_layers = cfg["seeds"], cfg["fit_layers"]
    runs, floors = chains["runs"], chains["floors"]
    floor = floors[cfg["width"]]
    gain_runs = session.grid(
        "gains",
        validation_mlp,
        fixed={"activation": "tanh", "mean_field": True, **chain_sizes(cfg)},
        seeds=seeds,
        shard=seeds,
        gain=cfg["gains"],
    )
    gain_rates = {
        gain: compare_with_mean_field(t, "tanh", gain, floor, fit_layers) for gain, t in gain_runs.groupby("gain")
    }
    gain_betas = {gain: theory.beta_sigma("tanh", gain=gain) for gain in cfg["gains"]}
    comparisons = {
        name: compare_with_mean_field(t, name, 1.0, floor, fit_layers) for name, t in runs.groupby("activation")
    }
    comparisons |= {f"tanh({gain:g}x)": comparison for gain, comparison in gain_rates.items() if gain != 1.0}
    case_beta = dict(beta) | {f"tanh({gain:g}x)": value for gain, value in gain_betas.items()}
    excluded = {name: reason for name, reason in comparisons.items() if isinstance(reason, str)}
    compared = {name: c for name, c in comparisons.items() if not isinstance(c, str)}
    rate_table = pd.DataFrame(
        {
            name: {
                "beta_sigma": case_beta[name],
                "bound log(beta)": np.log(case_beta[name]),
                "mean field": c.predicted.mean,
                "measured": c.measured.mean,
                "measured CI": f"[{c.measured.low:.3f}, {c.measured.high:.3f}]",
                "measured - mean field CI": f"[{c.difference.low:.3f}, {c.difference.high:.3f}]",
                "ratio to mean field": c.ratio,
                "ratio to bound": c.measured.mean / np.log(case_beta[name]),
                "layers 0..": c.last_layer,
                "resolved": analysis.rate_resolved(c),
            }
            for name, c in compared.items()
        }
    ).T.sort_values("beta_sigma")
    # A ratio is a number only where both rates' intervals exclude zero (analysis.rate_resolved): a slow decay lost in
    # the seeds' noise (sigmoid at the quick sizes) is unresolved, left out of both medians and listed by rates_reading.
    unresolved = [name for name, c in compared.items() if not analysis.rate_resolved(c)]
    decaying = {name: c for name, c in compared.items() if name not in unresolved}
    log_error = pd.DataFrame(
        {
            "mean field": {name: abs(np.log(c.ratio)) for name, c in decaying.items()},
            "bound": {name: abs(np.log(c.measured.mean / np.log(case_beta[name]))) for name, c in decaying.items()},
        }
    )
    follows = "the mean-field map" if log_error["mean field"].median() < log_error["bound"].median() else "the bound"

    # Finite width: the same comparison at several widths, over the fit window only.
    width_cases = [
        {"activation": a, "gain": g, "w": w}
        for a, g in [("relu", 1.0), ("exp", 1.0), ("tanh", 4.0)]
        for w in cfg["rate_widths"]
    ]
    width_rates = session.cases(
        "rate_widths",
        rate_window_mlp,
        width_cases,
        fixed={"n": cfg["batch_size"], "depth": fit_layers, "spike": cfg["spike"]},
        seeds=seeds,
        shard=seeds,
    )
    by_width = {
        (a if g == 1.0 else f"{a}({g:g}x)", w): compare_with_mean_field(t, a, g, floors[w], fit_layers)
        for (a, g, w), t in width_rates.groupby(["activation", "gain", "w"])
    }
    ratio_by_width = pd.DataFrame(
        [
            {
                "case": case,
                "width": w,
                "ratio": c.ratio,
                "low": (c.predicted.mean + c.difference.low) / c.predicted.mean,
                "high": (c.predicted.mean + c.difference.high) / c.predicted.mean,
                "agrees": c.agrees,
                "resolved": analysis.rate_resolved(c),
                "layers 0..": c.last_layer,
            }
            for (case, w), c in by_width.items()
        ]
    )
    mean_field_over_bound = max(
        [bound_excess(t, name) for name, t in runs.groupby("activation")]
        + [bound_excess(t, "tanh", gain) for gain, t in gain_runs.groupby("gain")]
    )
    return {
        "gain_runs": gain_runs,
        "gain_rates": gain_rates,
        "gain_betas": gain_betas,
        "case_beta": case_beta,
        "excluded": excluded,
        "compared": compared,
        "rate_table": rate_table,
        "rate_ratio_to_mean_field": {name: ratio_entry(c) for name, c in compared.items()},
        "agreeing": [name for name, c in decaying.items() if c.agrees],
        "resolved": list(decaying),
        "unresolved": unresolved,
        "log_error": log_error,
        "follows": follows,
        "by_width": by_width,
        "narrowest": min(cfg["rate_widths"]),
        "widest": max(cfg["rate_widths"]),
        "ratio_by_width": ratio_by_width,
        "mean_field_over_bound": mean_field_over_bound,
    }


def rates_by_window(session: Any, chains: Mapping[str, Any], rates: Mapping[str, Any], ablations: Mapping[str, Any]):
    """Measured / mean-field rate ratio per window of depth (:func:`rate_windows`) and per width, from chains already
    simulated: every activation and tanh gain at the main width (``chains``, ``rates``), ReLU at every ablation width
    (``ablations``, which carry their mean-field chain), and one new sweep, ``window_widths`` (tanh at the widest
    ablation width, when it is wider than the main one). Each window is a slice of the same per-layer table.

    Returns ``table`` (one row per case, width and window: the ratio and its paired 95% interval, or ``unresolved``
    with the reason) and ``record`` (``{case: {window: {"d = w": ratio or "unresolved: ..."}}}``)."""
    cfg = session.sizes
    width, floors = cfg["width"], chains["floors"]
    windows = rate_windows(cfg["fit_layers"], cfg["depth"])
    cases = [(name, 1.0, width, t) for name, t in chains["runs"].groupby("activation")]
    cases += [(f"tanh({g:g}x)", g, width, t) for g, t in rates["gain_runs"].groupby("gain") if g != 1.0]
    widths = ablations["widths"]
    cases += [("relu", 1.0, w, widths[widths.run == f"d = {w}"]) for w in cfg["ablation_widths"] if w != width]
    widest = max(cfg["ablation_widths"])
    if widest > width:
        wide = session.cases(
            "window_widths",
            validation_mlp,
            [{"width": widest}],
            fixed={"activation": "tanh", "mean_field": True, **chain_sizes(cfg, "width")},
            seeds=cfg["seeds"],
            shard=cfg["seeds"],
        )
        cases.append(("tanh", 1.0, widest, wide))
    rows, record = [], {}
    for case, gain, w, table in cases:
        activation = case.split("(")[0]
        for window, (first, last) in windows.items():
            c = compare_in_window(table, activation, gain, floors[w], first, last)
            entry = ratio_entry(c)
            record.setdefault(case, {}).setdefault(window, {})[f"d = {w}"] = entry
            resolved = not isinstance(entry, str)
            rows.append(
                {
                    "case": case,
                    "width": w,
                    "window": window,
                    "layers": f"{first}..{c.last_layer}" if resolved else f"{first}..{last}",
                    "ratio": entry if resolved else np.nan,
                    "low": (c.predicted.mean + c.difference.low) / c.predicted.mean if resolved else np.nan,
                    "high": (c.predicted.mean + c.difference.high) / c.predicted.mean if resolved else np.nan,
                    "agrees": c.agrees if resolved else None,
                    "unresolved": "" if resolved else entry.removeprefix("unresolved: "),
                }
            )
    table = pd.DataFrame(rows)
    return {"table": table, "record": record, "windows": windows, "widest": widest}


def window_summary(windows: Mapping[str, Any]) -> pd.DataFrame:
    """The ratios of :func:`rates_by_window` as a table, one row per case and width and one column per window: the
    ratio with its paired 95% interval, or ``unresolved``."""
    table = windows["table"]
    cells = [
        f"{row.ratio:.2f} [{row.low:.2f}, {row.high:.2f}]" if np.isfinite(row.ratio) else "unresolved"
        for row in table.itertuples()
    ]
    wide = table.assign(cell=cells).pivot(index=["case", "width"], columns="window", values="cell")
    return wide[list(windows["windows"])]


def normalisation(session: Any) -> dict[str, Any]:
    """Sweep ``stages`` (:func:`normalisation_stages`: ReLU at every width of the ablations, tanh at the main
    width): the identity ``phi_before - phi_after = log AM(a^2) - log GM(a^2) >= 0`` at every LN layer (its largest
    residual, and whether the gap never grows), and what the official figures plot, the mean of the pre-norm and
    post-LN gaps, at the last layer (``last``; ``official_plot_ratio`` for ReLU at the widest width)."""
    cfg = session.sizes
    width, depth, n = cfg["width"], cfg["depth"], cfg["batch_size"]
    stage_widths = sorted({width, *cfg["ablation_widths"]})
    stages = session.cases(
        "stages",
        normalisation_stages,
        [{"activation": "relu", "width": w} for w in stage_widths] + [{"activation": "tanh", "width": width}],
        fixed=chain_sizes(cfg, "width"),
        seeds=cfg["seeds"],
        shard=cfg["seeds"],
    )
    stages[OFFICIAL] = (stages["pre_norm (official, before centring)"] + stages["after LN"]) / 2
    stages["gain of normalisation"] = stages["before LN (centred)"] - stages["after LN"]
    last = stages[stages.layer == depth].groupby(["activation", "width"])[["after LN", OFFICIAL]].mean()
    last["official / after LN"] = last[OFFICIAL] / last["after LN"]
    rho_relu = float(theory.dual_kernel("relu", 0.0) / theory.dual_kernel("relu", 1.0))  # 1/pi: the uncentred mean
    return {
        "stages": stages,
        "identity_residual": float(stages["identity residual"].abs().max()),
        "never_hurts": bool((stages["after LN"] <= stages["before LN (centred)"] + 1e-12).all()),
        "last": last,
        "official_plot_ratio": float(last.loc[("relu", max(stage_widths)), "official / after LN"]),
        "widest": max(stage_widths),
        "pre_norm_limit": -(np.log1p((n - 1) * rho_relu) + (n - 1) * np.log1p(-rho_relu)) / n,
    }


def ablations(session: Any, runs: pd.DataFrame, gain_runs: pd.DataFrame) -> dict[str, Any]:
    """The six ablations of the validation MLP, each a table with a ``run`` column naming its curves: sweeps
    ``centering``, ``no_norm`` (next to the LN runs of ``runs``), ``order``, the tanh gains (``gain_runs``), the
    Hermite activations (from ``runs``), and ``ablation_widths`` with ``ablation_mean_field`` (ReLU at several
    widths and its mean-field chain); with the final gaps the checks compare."""
    cfg = session.sizes
    seeds, depth = cfg["seeds"], cfg["depth"]
    centering = session.grid(
        "centering",
        validation_mlp,
        fixed=chain_sizes(cfg),
        seeds=seeds,
        shard=seeds,
        activation=["relu", "exp", "sigmoid"],
        centering=[True, False],
    )
    centering["run"] = centering.activation + np.where(centering.centering, ", centred", ", not centred")
    no_norm = pd.concat(
        [
            session.grid(
                "no_norm",
                validation_mlp,
                fixed={"norm": "none", **chain_sizes(cfg)},
                seeds=seeds,
                shard=seeds,
                activation=["relu", "tanh"],
            ).assign(run=lambda t: t.activation + ", no normalisation"),
            runs[runs.activation.isin(["relu", "tanh"])].assign(run=lambda t: t.activation + ", LN"),
        ],
        ignore_index=True,
    )
    order_runs = session.grid(
        "order",
        validation_mlp,
        fixed=chain_sizes(cfg),
        seeds=seeds,
        shard=seeds,
        activation=["relu", "tanh"],
        order=["act_norm", "norm_act"],
    )
    order_runs["run"] = order_runs.activation + order_runs.order.map({"act_norm": ", LN(act)", "norm_act": ", act(LN)"})
    width_runs = session.grid(
        "ablation_widths",
        validation_mlp,
        fixed={"activation": "relu", "mean_field": True, **chain_sizes(cfg, "width")},
        seeds=seeds,
        shard=seeds,
        width=cfg["ablation_widths"],
    )
    width_runs["run"] = width_runs.width.map(lambda w: f"d = {w}")
    mean_field = session.cases(
        "ablation_mean_field",
        spiked_mean_field,
        [dict()],
        fixed={"width": max(cfg["ablation_widths"]), "activation": "relu", **chain_sizes(cfg, "width")},
        seeds=seeds,
        shard=seeds,
    ).assign(run="mean field")
    width_runs = pd.concat([width_runs, mean_field], ignore_index=True)
    return {
        "centering": centering,
        "no_norm": no_norm,
        "order": order_runs,
        "gain": gain_runs.assign(run=gain_runs.gain.map(lambda gain: f"tanh({gain:g} x)")),
        "hermite": runs[runs.activation.isin(HERMITE)],
        "widths": width_runs,
        "uncentred_final": analysis.estimates_at_layer(centering, "gap", "run"),
        "width_floor": {
            w: analysis.estimate_at_layer(width_runs[width_runs.run == f"d = {w}"], "gap")
            for w in cfg["ablation_widths"]
        },
        "mean_field_final": float(mean_field[mean_field.layer == depth].gap.mean()),
    }


# --- plots (the drawing calls and their order fix the figures' bytes) ---


def plot_correlation_maps(ax: Any, maps: pd.DataFrame) -> None:
    """The centred, normalised dual kernels ``f(rho)`` with the diagonal."""
    sns.lineplot(maps, x="rho", y="f(rho)", hue="activation", ax=ax)
    ax.plot([-1, 1], [-1, 1], ":", color="gray", lw=1)
    ax.set(xlabel="input correlation rho", ylabel="output correlation f(rho)", title="centred, normalised dual kernels")
    ax.legend(fontsize="x-small", ncols=2)


def plot_isometry_vs_depth(
    axes: Sequence[Any], runs: pd.DataFrame, beta: Mapping[str, float], band: Mapping[str, Any], width: int, depth: int
) -> None:
    """Gap and potential after LN (solid, ``band`` over seeds) with the mean-field chain (dotted) for the
    :data:`SHOWN` activations, and Theorem 1's bound ``gamma_0 beta_sigma^-l`` on the potential (dashed)."""
    palette = dict(zip(SHOWN, sns.color_palette("colorblind", len(SHOWN)), strict=True))
    subset = runs[runs.activation.isin(SHOWN)]
    for ax, column in zip(axes, ["gap", "potential"], strict=True):
        sns.lineplot(subset, x="layer", y=column, hue="activation", hue_order=SHOWN, palette=palette, ax=ax, **band)
        sns.lineplot(
            subset,
            x="layer",
            y=f"mean-field {column}",
            hue="activation",
            hue_order=SHOWN,
            palette=palette,
            ax=ax,
            errorbar=None,
            linestyle=":",
            legend=False,
        )
    layers = np.arange(depth + 1)
    for name in SHOWN:
        gamma0 = runs[(runs.activation == name) & (runs.layer == 0)].potential.mean()
        axes[1].plot(layers, theory.predicted_potential(gamma0, beta[name], layers), "--", color=palette[name], lw=1)
    axes[0].set(
        yscale="log", ylim=(1e-3, None), ylabel="isometry gap after LN", title=f"LN + centred activation, d = {width}"
    )
    axes[0].legend(fontsize="x-small")
    axes[1].set(
        yscale="log", ylim=(1e-2, None), ylabel="potential gamma", title="dotted: mean field; dashed: gamma_0 beta^-l"
    )
    axes[1].get_legend().remove()


def plot_rates(axes: Sequence[Any], rates: Mapping[str, Any], sizes: Mapping[str, Any]) -> None:
    """Left: measured rate (95% CI), mean-field rate and Theorem 1's bound ``log beta_sigma`` per case; right: the
    measured / mean-field ratio against the width (paired 95% CI)."""
    from matplotlib.ticker import NullLocator

    rate_table, compared, ratio_by_width = rates["rate_table"], rates["compared"], rates["ratio_by_width"]
    ordered = rate_table.index.tolist()
    y = np.arange(len(ordered))
    measured_low = [compared[name].measured.low for name in ordered]
    measured_high = [compared[name].measured.high for name in ordered]
    axes[0].errorbar(
        rate_table.measured,
        y,
        xerr=[rate_table.measured - measured_low, np.array(measured_high) - rate_table.measured],
        fmt="o",
        color="black",
        label="measured (95% CI)",
    )
    axes[0].plot(rate_table["mean field"], y, "D", mfc="none", color="tab:orange", label="mean field, same window")
    axes[0].plot(
        rate_table["bound log(beta)"], y, "|", ms=12, mew=2, color="tab:blue", label="Theorem 1 bound log beta"
    )
    axes[0].set(yticks=y, yticklabels=ordered, xscale="log", xlabel="decay rate of log(potential) per layer")
    axes[0].set_title(f"d = {sizes['width']}, layers 0..L (L <= {sizes['fit_layers']})")
    axes[0].legend(fontsize="x-small", loc="upper left")
    for case, rows in ratio_by_width.groupby("case"):
        axes[1].errorbar(
            rows.width,
            rows.ratio,
            yerr=[rows.ratio - rows.low, rows.high - rows.ratio],
            fmt="o-",
            capsize=3,
            label=case,
        )
    axes[1].axhline(1.0, color="gray", ls=":")
    axes[1].set(
        xscale="log", xlabel="width d", ylabel="measured / mean-field rate", title="finite width (paired 95% CI)"
    )
    axes[1].set_xticks(sizes["rate_widths"], [str(w) for w in sizes["rate_widths"]], minor=False)
    axes[1].xaxis.set_minor_locator(NullLocator())
    axes[1].legend(fontsize="x-small")


def plot_normalisation(axes: Sequence[Any], stages: pd.DataFrame, band: Mapping[str, Any], width: int) -> None:
    """Left: the gap after LN, the official ``pre_norm`` gap and their mean (what the official figures plot) at
    ``width``; right: what normalisation gains, ``phi_before - phi_after``."""
    main = stages[stages.width == width]
    long = main.melt(
        id_vars=["activation", "layer", "seed"],
        value_vars=["after LN", "pre_norm (official, before centring)", OFFICIAL],
        var_name="measured",
    )
    sns.lineplot(long, x="layer", y="value", hue="activation", style="measured", ax=axes[0], **band)
    axes[0].set(yscale="log", ylabel="isometry gap", title=f"correct (after LN) vs official plot, d = {width}")
    axes[0].legend(fontsize="x-small", ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    sns.lineplot(main, x="layer", y="gain of normalisation", hue="activation", ax=axes[1], **band)
    axes[1].set(yscale="log", ylabel="gap before - gap after", title="= log AM(a^2) - log GM(a^2) >= 0")


def ablation_panel(
    ax: Any, table: pd.DataFrame, hue: str, title: str, band: Mapping[str, Any], hue_order: list[str] | None = None
) -> None:
    """One ablation: the isometry gap against depth, one curve per ``hue`` value, on a log scale."""
    sns.lineplot(table, x="layer", y="gap", hue=hue, hue_order=hue_order, ax=ax, **band)
    ax.set(yscale="log", ylabel="isometry gap", title=title)
    ax.legend(fontsize="x-small", title=None)


def plot_ablations(axes: Any, ablations: Mapping[str, Any], band: Mapping[str, Any]) -> None:
    """The six ablation panels on a 2 x 3 grid of axes."""
    ablation_panel(axes[0, 0], ablations["centering"], "run", "1. centering", band)
    ablation_panel(axes[0, 1], ablations["no_norm"], "run", "2. normalisation", band)
    ablation_panel(axes[0, 2], ablations["order"], "run", "3. activation before / after LN", band)
    ablation_panel(axes[1, 0], ablations["gain"], "run", "4. gain (tanh)", band)
    ablation_panel(axes[1, 1], ablations["hermite"], "activation", "5. Hermite activations", band, hue_order=HERMITE)
    ablation_panel(axes[1, 2], ablations["widths"], "run", "6. mean field vs finite width (ReLU)", band)


# --- readings: what the notebook prints under each figure ---


def depth_reading(chains: Mapping[str, Any], sizes: Mapping[str, Any]) -> str:
    width = sizes["width"]
    return (
        f"Spearman correlation of beta_sigma and final gap: {chains['spearman']:.3f}\n"
        f"finite-width floor of the potential at d = {width}: {chains['floors'][width]:.3f}; "
        f"He2, last 10 layers: {chains['he2_deep']:.3f}"
    )


def rates_reading(rates: Mapping[str, Any], sizes: Mapping[str, Any]) -> str:
    from scipy.stats import spearmanr

    log_error, compared, agreeing = rates["log_error"], rates["compared"], rates["agreeing"]
    rate_table, widest, resolved = rates["rate_table"], rates["widest"], rates["resolved"]
    fast = rate_table[rate_table.beta_sigma >= 1.05]
    above_bound = fast["ratio to bound"].astype(float)
    case_beta = rates["case_beta"]
    below = [k for k in fast.index if compared[k].measured.high < np.log(case_beta[k])]
    widest_agree = [case for (case, w), c in rates["by_width"].items() if w == widest and c.agrees]
    ranked = rate_table.loc[resolved]
    lines = [
        f"median |log(measured / predicted)|: mean field {log_error['mean field'].median():.2f}, "
        f"bound {log_error['bound'].median():.2f}: the rates follow {rates['follows']}",
        f"unresolved (a rate's interval reaches 0), no ratio, left out of the medians: {rates['unresolved']}",
        f"within the seed CI of the mean field at d = {sizes['width']}: {len(agreeing)} of {len(resolved)} resolved "
        f"({', '.join(agreeing)})",
        f"slower than the mean field beyond the CI: {[k for k in resolved if compared[k].difference.high < 0]}",
        f"faster than the mean field beyond the CI: {[k for k in resolved if compared[k].difference.low > 0]}",
        f"measured / bound (beta_sigma >= 1.05), point estimates: from {above_bound.min():.2f} "
        f"({above_bound.idxmin()}) to {above_bound.max():.2f} ({above_bound.idxmax()}); "
        f"{int((above_bound > 1).sum())} of {len(above_bound)} above 1; interval wholly below the bound: "
        f"{below}",
        f"Spearman(beta_sigma, measured rate), resolved activations and gains: "
        f"{spearmanr(ranked.beta_sigma.astype(float), ranked.measured.astype(float)).statistic:.2f}; "
        + ", ".join(
            f"{k} (beta {rate_table.beta_sigma[k]:.2f}) {rate_table.measured[k]:.2f}"
            for k in ("relu", "exp", "tanh(4x)")
            if k in rate_table.index
        ),
        f"within the seed CI of the mean field at d = {widest}: {widest_agree}",
        "max mean-field potential / Theorem 1 bound (every seed, layer, activation, gain): "
        f"{rates['mean_field_over_bound']:.4f}",
    ]
    lines += [f"no ratio for {name}: {reason}" for name, reason in rates["excluded"].items()]
    return "\n".join(lines)


def windows_reading(windows: Mapping[str, Any], sizes: Mapping[str, Any]) -> str:
    """Per window and width: the range of the resolved ratios, how many agree within the seeds' interval, and how
    many are unresolved (every case of the table at that width: activations and gains at the main width)."""
    lines = []
    for (window, width), rows in windows["table"].groupby(["window", "width"], sort=False):
        ok = rows.dropna(subset=["ratio"])
        first, last = windows["windows"][window]
        span = f"{ok.ratio.min():.2f}-{ok.ratio.max():.2f}" if len(ok) else "none resolved"
        lines.append(
            f"{window:>6} (layers {first}..{last}), d = {width}: ratio {span}, within the seed CI "
            f"{int(ok.agrees.astype(bool).sum())} of {len(ok)} resolved; unresolved {len(rows) - len(ok)} "
            f"({', '.join(rows[rows.ratio.isna()].case)})"
        )
    return "\n".join(lines)


def normalisation_reading(normalisation: Mapping[str, Any], sizes: Mapping[str, Any]) -> str:
    return (
        f"max |phi_before - phi_after - row_norm_gap| over {len(normalisation['stages'])} LN layers: "
        f"{normalisation['identity_residual']:.1e}\n"
        f"phi_after <= phi_before at every LN layer: {normalisation['never_hurts']}\n"
        f"ReLU pre_norm gap at isometry (uncentred correlation 1/pi, n = {sizes['batch_size']}): "
        f"{normalisation['pre_norm_limit']:.3f}\n"
        f"official plot / post-LN gap, ReLU, layer {sizes['depth']}, d = {normalisation['widest']}: "
        f"{normalisation['official_plot_ratio']:.1f}"
    )


def ablations_reading(ablations: Mapping[str, Any], rates: Mapping[str, Any]) -> str:
    lines = [f"{run_name:>22}: final gap {estimate}" for run_name, estimate in ablations["uncentred_final"].items()]
    gain_betas = rates["gain_betas"]
    lines += [
        f"tanh({gain:g} x): beta_sigma {gain_betas[gain]:.3f}, bound log beta {np.log(gain_betas[gain]):.3f}, "
        f"mean field {comparison.predicted.mean:.3f}, measured {comparison.measured}"
        for gain, comparison in rates["gain_rates"].items()
    ]
    lines += [f"ReLU, d = {w}: final gap {estimate}" for w, estimate in ablations["width_floor"].items()]
    lines.append(f"ReLU, mean field: final gap {ablations['mean_field_final']:.2e}")
    return "\n".join(lines)


def summary(
    beta: Mapping[str, float], chains: Mapping[str, Any], rates: Mapping[str, Any], normalisation: Mapping[str, Any]
) -> str:
    """The key numbers, rounded coarsely enough to be stable (the notebook's nbval-checked summary)."""
    final_gap, identity = chains["final_gap"], normalisation["identity_residual"]
    return "\n".join(
        [
            "beta_sigma: " + ", ".join(f"{k} {v:.4f}" for k, v in beta.items() if k in ("relu", "tanh", "sigmoid")),
            f"rank correlation of beta_sigma and final gap: {chains['spearman']:.1f}",
            f"final gap: sigmoid {final_gap['sigmoid'].mean:.1f}, tanh {final_gap['tanh'].mean:.1f}, "
            f"relu {final_gap['relu'].mean:.2f}",
            f"normalisation never hurts: {normalisation['never_hurts']}; "
            f"identity residual below 1e-9: {identity < 1e-9}",
            f"official plot overstates the ReLU gap more than 3x: {normalisation['official_plot_ratio'] > 3}",
            f"the rates follow {rates['follows']}",
        ]
    )


# --- the claim check ---


def lag_shrinks(by_width: Mapping[tuple[str, int], Any], narrowest: int, widest: int) -> analysis.Check:
    """Some case lags the mean field at the narrowest width (its paired interval excludes 0), and every such lag
    is smaller at the widest width. Fails when nothing lags: there is then no lag to shrink. Margins: the lag's
    distance from 0 in half widths of its paired interval (the largest over cases), and for each lagging case
    ``|1 - ratio|`` at the narrowest minus at the widest width in half widths of the widest ratio's interval."""
    narrow = {case: c for (case, w), c in by_width.items() if w == narrowest and analysis.rate_resolved(c)}
    distances = {
        case: max(-c.difference.high, c.difference.low) / analysis.half_width(c.difference)
        for case, c in narrow.items()
    }
    lagging = [case for case, distance in distances.items() if distance > 0]
    some_lag = analysis.Check(bool(lagging), max(distances.values()) if distances else None)
    shrinks = []
    for case in lagging:
        wide = by_width[(case, widest)]
        gain = abs(1 - narrow[case].ratio) - abs(1 - wide.ratio)
        half = analysis.half_width(wide.difference) / abs(wide.predicted.mean)
        shrinks.append(analysis.Check(bool(gain > 0), float(gain / half)))
    return analysis.every([some_lag, *shrinks])


def checks(
    beta: Mapping[str, float],
    chains: Mapping[str, Any],
    rates: Mapping[str, Any],
    normalisation: Mapping[str, Any],
    ablations: Mapping[str, Any],
    windows: Mapping[str, Any],
    sizes: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The claim check, ``(checks, numbers, supporting)`` for :meth:`normprop.repro.session.Session.finish`; a
    check comparing intervals is an :class:`normprop.analysis.Check` with its margin.

    Tolerances are 95% intervals over seeds (paired per seed for measured - mean field); the identity residual is
    compared with a float64 round-off tolerance; the rate is compared with Theorem 1's bound only where
    ``beta_sigma >= 1.05``. The rate claims are over the early window (layers ``0..fit_layers``); the later windows
    and agreement with the mean field within the seeds' interval are supporting, not checked.
    """
    final_gap, start_gap, decay = chains["final_gap"], chains["start_gap"], chains["rates"]
    spearman = chains["spearman"]
    compared, case_beta, by_width = rates["compared"], rates["case_beta"], rates["by_width"]
    gain_rates, narrowest, widest = rates["gain_rates"], rates["narrowest"], rates["widest"]
    identity, never_hurts = normalisation["identity_residual"], normalisation["never_hurts"]
    uncentred_final, width_floor = ablations["uncentred_final"], ablations["width_floor"]
    gains, ablation_widths = sizes["gains"], sizes["ablation_widths"]
    fast = [name for name in ACTIVATIONS + HERMITE if beta[name] >= 1.05]
    order_matches_beta = bool(spearman <= -0.8)
    normalisation_never_hurts = never_hurts and identity < 1e-9
    window_table = windows["table"]
    later = window_table[(window_table.window != "early") & window_table.ratio.notna()]
    main_later = later[later.width == sizes["width"]]
    numbers = {
        "beta_sigma": dict(beta),
        "final_gap": {name: value.mean for name, value in final_gap.items()},
        "decay_rate": {name: value.mean for name, value in decay.items()},
        "spearman_beta_final_gap": spearman,
        "normalisation_identity_residual": identity,
        "official_plot_ratio": normalisation["official_plot_ratio"],
        "rate_ratio_to_mean_field": rates["rate_ratio_to_mean_field"],
        "rate_ratio_to_bound": {name: c.measured.mean / np.log(case_beta[name]) for name, c in compared.items()},
        "rate_ratio_excluded": rates["excluded"],
        "rate_ratio_to_mean_field_by_width": {f"{case}, d = {w}": ratio_entry(c) for (case, w), c in by_width.items()},
        "rate_ratio_by_window": windows["record"],
        "order_matches_beta": order_matches_beta,
        "normalisation_never_hurts": normalisation_never_hurts,
    }
    gain_pairs = list(zip(gains, gains[1:], strict=False))
    checks = {
        "beta_sigma matches the paper's values": all(abs(beta[k] - v) < 5e-5 for k, v in REFERENCES.items()),
        "all final gaps finite": all(np.isfinite(v.mean) for v in final_gap.values()),
        "final gaps ordered by beta_sigma at gain 1 (Spearman <= -0.8)": order_matches_beta,
        "Theorem 1's bound holds for the mean-field chain (every seed, layer, activation, gain)": rates[
            "mean_field_over_bound"
        ]
        <= 1 + 1e-9,
        "decay at least Theorem 1's bound log(beta_sigma) (CI upper end)": analysis.every(
            analysis.Check(
                bool(decay[name].high >= np.log(beta[name])),
                float((decay[name].high - np.log(beta[name])) / analysis.half_width(decay[name])),
            )
            for name in fast
        ),
        "rates nearer the mean-field prediction than the bound (early window, median |log ratio|)": rates["follows"]
        == "the mean-field map",
        "finite-width lag: some case lags the mean field at the narrowest width, and every lag shrinks at the widest": (
            lag_shrinks(by_width, narrowest, widest)
        ),
        "He1 (linear) does not become isometric": analysis.Check(
            bool(final_gap["he1"].high >= start_gap["he1"].low),
            float((final_gap["he1"].high - start_gap["he1"].low) / analysis.half_width(final_gap["he1"])),
        ),
        "normalisation never hurts (exact identity)": normalisation_never_hurts,
        "no centering: relu, exp, sigmoid do not converge": analysis.every(
            analysis.above(uncentred_final[f"{name}, not centred"], 5 * uncentred_final[f"{name}, centred"].high)
            for name in ["relu", "exp", "sigmoid"]
        ),
        "gain orders the tanh rate": analysis.every(
            analysis.Check(
                bool(gain_rates[a].measured.mean < gain_rates[b].measured.mean),
                float(
                    (gain_rates[b].measured.mean - gain_rates[a].measured.mean)
                    / ((analysis.half_width(gain_rates[a].measured) + analysis.half_width(gain_rates[b].measured)) / 2)
                ),
            )
            for a, b in gain_pairs
        ),
        "finite-width floor falls with width": analysis.every(
            analysis.apart(width_floor[b], width_floor[a])
            for a, b in zip(ablation_widths, ablation_widths[1:], strict=False)
        ),
    }
    supporting = {
        f"measured rate within the seed CI of the mean field at d = {sizes['width']}, every resolved activation": (
            len(rates["agreeing"]) == len(rates["resolved"])
        ),
        f"measured rate within the seed CI of the mean field at d = {widest} (relu, exp, tanh(4x))": all(
            c.agrees for (case, w), c in by_width.items() if w == widest
        ),
        f"middle and late windows: every resolved ratio within the seed CI of the mean field at d = {sizes['width']}": (
            bool(main_later.agrees.astype(bool).all())
        ),
        "middle and late windows: every resolved ratio at least 0.9": bool((later.ratio >= 0.9).all()),
    }
    return checks, numbers, supporting
