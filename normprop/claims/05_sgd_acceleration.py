"""Claim 05: orthogonal initial representations accelerate SGD in plain deep MLPs (Daneshmand et al. 2021).

The notebook ``notebooks/05_sgd_acceleration.ipynb`` tells the story; this module holds what is specific to the
claim: its catalog entry and preset sizes, the training runs its sweeps are made of (:func:`fit` and the task
functions), the functions that run and summarise each figure's sweeps, the figures' plots and the claim's checks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
train = lazy_import("normprop.train")
sweeps = lazy_import("normprop.repro.sweeps")

CITATIONS = (cite("daneshmand2021batch", "sec. 5"), cite("daneshmand2020batch"), cite("joudaki2023impact"))

QUICK = {
    "seeds": 5,
    "dataset": "digits",
    "width": 64,
    "depths": [5, 15, 25],
    "epochs": 5,
    "lr": 0.01,
    "batch_size": 32,
    "init_batch": 192,
    "fig3b_depth": 8,
    "fig3b_epochs": 20,
    "variant_depth": 25,
    "variant_epochs": 2,
    "support_depths": [5, 25],
    "support_epochs": 5,
    "beta_depth": 10,
    "beta_epochs": 3,
    "beta_seeds": 5,
    "beta_activations": ["sigmoid", "tanh", "sin", "relu"],
    "steps": [0.003, 0.01, 0.03],
    "step_depths": [25],
    "step_epochs": 5,
    "control_seeds": 5,
}

PAPER = {
    "seeds": 8,
    "dataset": "digits",
    "width": 64,
    "depths": [5, 15, 25, 35, 45],
    "epochs": 20,
    "lr": 0.01,
    "batch_size": 32,
    "init_batch": 192,
    "fig3b_depth": 8,
    "fig3b_epochs": 30,
    "variant_depth": 35,
    "variant_epochs": 3,
    # The supporting runs (2020 Fig. 1, 2023's beta ordering; neither enters the verdict) are smaller than the main
    # runs, to keep `make figures` within 8 minutes on 2 cores: 4 seeds and 5 epochs for beta, two depths and 4
    # epochs for 2020 (an even number: the main runs that BN is compared with record every second epoch).
    "support_depths": [5, 35],
    "support_epochs": 4,
    "beta_depth": 10,
    "beta_epochs": 5,
    "beta_seeds": 4,
    "beta_activations": ["sigmoid", "tanh", "sin", "relu", "he2"],
    "steps": [0.003, 0.01, 0.03],
    "step_depths": [15, 45],
    "step_epochs": 10,
    # The two controls (the step scan, the orthogonalized layers) on 4 seeds: their contrasts are two to three
    # orders of magnitude (orthogonal start about 0.004 against He's 1.6-1.9 at depth 45), and 8 seeds took a
    # fifth of `make figures`. The main runs, whose steps the scan is read against, keep 8.
    "control_seeds": 4,
}

# 2021 sec. 5: CIFAR-10, width 800, depths 15-75, 30 epochs.
FULL_CHANGES = {
    "seeds": 3,
    "dataset": "cifar10",
    "width": 800,
    "depths": [15, 30, 45, 60, 75],
    "epochs": 30,
    "batch_size": 500,
    "init_batch": 2400,
    "fig3b_depth": 30,
    "fig3b_epochs": 30,
    "variant_depth": 45,
    "variant_epochs": 10,
    "support_depths": [15, 30, 45, 60, 75],
    "support_epochs": 30,
    "beta_epochs": 30,
    "beta_seeds": 3,
    "control_seeds": 3,
}

CLAIM = Claim(
    notebook="05_sgd_acceleration",
    title="Orthogonal initial representations accelerate SGD, without batch norm",
    statement="Starting SGD from orthogonal representations (iterative orthogonalization) trains deep plain ReLU "
    "MLPs faster than Xavier (whose signal also vanishes with depth) at every depth, and faster than He (the same "
    "collinearity at an order-one scale) wherever depth slows He down, also at the deepest depth with each at its "
    "best step of a small grid (0.003-0.03); the gain comes from orthogonalizing the layers after the first, not "
    "the first layer alone; no batch norm.",
    citations=CITATIONS,
    presets={"quick": QUICK, "paper": PAPER, "full": {**PAPER, **FULL_CHANGES}},
    runtime={"quick": 70, "paper": 334},
    figures={
        "05_fig3a_gap_and_loss_vs_depth": "2021 Fig. 3a, with the signal-scale control (Xavier, He, orthogonal)",
        "05_fig3b_training": "2021 Fig. 3b (Xavier and He)",
        "05_fig4_orthogonal_vs_xavier": "2021 Fig. 4: training curves, Xavier, He and orthogonal",
        "05_supporting": "2020 Fig. 1 (rank and trainability) and 2023 (beta ordering, LN after the activation)",
    },
)

#: The three initialisations of the main runs, by ``NetworkSpec.init`` name, and their labels in tables and plots.
INITS = {"xavier": "Xavier", "he": "He", "iterative_orthogonalization": "iterative orthogonalization"}
XAVIER, HE, ORTHOGONAL = INITS.values()
#: The 2023 training runs: linear logits, or the official code's activation on the logits.
SETUPS = {False: "linear logits", True: "activation on the logits"}
#: The 2023 theory's layer: LN after the activation, with centring, h' = LN(act(h W)).
BETA_LAYER = {"norm": "layer", "centering": True, "order": "act_norm"}
#: Images of the probe batch on which the gap is measured (``train.sgd``'s default): the maximum gap is sqrt(1 - 1/32).
PROBE = 32


# --- training runs: the tasks of the sweeps -------------------------------------------------------------------------


def training_settings(sizes: Mapping[str, Any], v_prime: str = "sample", scale: str = "rms") -> dict[str, Any]:
    """The keyword arguments of :func:`fit` that a preset and the notebook's parameters fix (a sweep's ``fixed``)."""
    keys = ("dataset", "width", "lr", "batch_size", "init_batch")
    return {key: sizes[key] for key in keys} | {"v_prime": v_prime, "scale": scale}


def fit(
    depth: int,
    init: str,
    epochs: int,
    seeds: int,
    generator: torch.Generator,
    *,
    dataset: str,
    width: int,
    lr: float,
    batch_size: int,
    init_batch: int,
    v_prime: str,
    scale: str,
    logit_activation: bool = False,
    record_every: int | None = 1,
    **layer: Any,
) -> train.TrainingResult:
    """Initialise and train all seeds of one configuration at once: a plain ReLU MLP (no bias, no normalisation)
    unless ``layer`` says otherwise, SGD on the cross-entropy of ``dataset`` (:func:`normprop.train.fit`).

    Iterative orthogonalization (2021, eq. 6) fits layer ``l`` to the SVD ``h = U S V^T`` of its input on each
    seed's own batch of ``init_batch`` training images: ``W = c V S^(-1/2) V'^T`` (``v_prime`` reads V', ``scale``
    sets c)."""
    x, y, _, _ = data.classification_data(dataset)
    spec = nets.NetworkSpec(width, depth, **({"norm": "none", "activation": "relu"} | layer), init=init)
    return train.fit(
        x,
        y,
        spec,
        seeds,
        epochs,
        generator,
        lr=lr,
        batch_size=batch_size,
        v_prime=v_prime,
        scale=scale,
        init_batch=init_batch,
        logit_activation=logit_activation,
        record_every=record_every,
    )


def history(
    depth: int, init: str, seeds: int, generator: torch.Generator, *, epochs: int, **training: Any
) -> pd.DataFrame:
    """One main run (depth, init): every seed's loss, gap and RMS after every recorded epoch (:func:`fit`'s
    ``record_every``, in ``training``), with the init's
    label, why it stopped early (``message``) and whether the seeds' initial hidden weights differ (the readout is
    random in every init and is left out)."""
    result = fit(depth, init, epochs, seeds, generator, **training)
    distinct = train.distinct_across_seeds(result.initial_weights[:-1])
    return result.history.assign(init=INITS[init], message=result.message, seeds_differ=distinct)


def long_run(
    init: str, seeds: int, generator: torch.Generator, *, depth: int, epochs: int, **training: Any
) -> pd.DataFrame:
    """Fig. 3b: one longer training run (:func:`fit`), its per-epoch history with the init's label."""
    return fit(depth, init, epochs, seeds, generator, **training).history.assign(init=INITS[init])


def variant_row(
    v_prime: str, scale: str, seeds: int, generator: torch.Generator, *, depth: int, epochs: int, **training: Any
) -> dict[str, Any]:
    """One reading of iterative orthogonalization (V' and the scale c of eq. 6), trained: epochs run, mean loss
    at the end and gap at init over seeds, whether no overflow stopped it, and whether the seeds' hidden weights
    differ."""
    result = fit(
        depth, "iterative_orthogonalization", epochs, seeds, generator, v_prime=v_prime, scale=scale, **training
    )
    table = result.history
    last = table[table.epoch == table.epoch.max()]
    return {
        "epochs run": int(table.epoch.max()),
        "loss": last.loss.mean(),
        "gap at init": table[table.epoch == 0].gap.mean(),
        "stable": result.message is None,
        "seeds differ": train.distinct_across_seeds(result.initial_weights[:-1]),
    }


def shared_batch_init(seeds: int, generator: torch.Generator, *, dataset: str, width: int, depth: int) -> dict:
    """Iterative orthogonalization with V' = V and the whole training set as one batch shared by all seeds:
    whether the seeds' hidden weights still differ (they should not: W = c V S^(-1/2) V^T is then the same)."""
    x, _, _, _ = data.classification_data(dataset)
    spec = nets.NetworkSpec(width, depth, norm="none", activation="relu", init="iterative_orthogonalization")
    shared = train.init_weights(seeds, x.shape[1], spec, generator, x_init=x, v_prime="input")
    return {"seeds differ": train.distinct_across_seeds(shared[:-1])}


def support_rows(
    depth: int, norm: str, seeds: int, generator: torch.Generator, *, dataset: str, width: int, epochs: int, lr: float
) -> pd.DataFrame:
    """2020, Fig. 1: numerical rank of the last hidden layer at init (64 training images, float32 tolerance) and
    loss after training, Xavier, with (``norm="batch"``, centred) and without BN."""
    x, y, _, _ = data.classification_data(dataset)
    spec = nets.NetworkSpec(width, depth, norm=norm, centering=True, activation="relu", init="xavier")
    weights = train.init_weights(seeds, x.shape[1], spec, generator)
    with torch.no_grad():
        _, hidden = train.predict(x[:64], weights, spec)
    result = train.sgd(x, y, weights, spec, epochs, generator, lr=lr, record_every=None)
    last = result.history[result.history.epoch == result.history.epoch.max()]
    ranks = metrics.numerical_rank(hidden, precision=torch.float32).numpy()
    return pd.DataFrame({"seed": last.seed.to_numpy(), "rank at init": ranks, "loss": last.loss.to_numpy()})


def isometry_at_init(
    activation: str, order: str, seeds: int, generator: torch.Generator, *, dataset: str, width: int, depth: int
) -> dict:
    """2023: beta_sigma of ``activation`` and the isometry gap at init of the last hidden layer (first 32 training
    images, mean over seeds), LN after the activation (``order="act_norm"``, the theory's) or before it."""
    probe = data.classification_data(dataset)[0][:PROBE]
    spec = nets.NetworkSpec(width, depth, **(BETA_LAYER | {"order": order}), activation=activation)
    weights = train.init_weights(seeds, probe.shape[1], spec, generator)
    with torch.no_grad():
        _, hidden = train.predict(probe, weights, spec)
    return {
        "beta_sigma": theory.beta_sigma(activation),
        "isometry gap at init": metrics.isometry_gap(hidden).mean().item(),
    }


def beta_rows(
    logit_activation: bool,
    activation: str,
    seeds: int,
    generator: torch.Generator,
    *,
    depth: int,
    epochs: int,
    **training: Any,
) -> pd.DataFrame:
    """2023: the loss after training of the LN-after-activation MLP (Gaussian N(0, 1/d) weights), with the
    activation's beta_sigma, the setup's label and the loss floor that an activation on bounded logits sets."""
    result = fit(
        depth,
        "gaussian",
        epochs,
        seeds,
        generator,
        activation=activation,
        logit_activation=logit_activation,
        record_every=None,  # only the last epoch is read
        **BETA_LAYER,
        **training,
    )
    floor = train.logit_activation_loss_floor(activation) if logit_activation else 0.0
    last = result.history.query("epoch == epoch.max()")
    return last.assign(beta_sigma=theory.beta_sigma(activation), setup=SETUPS[logit_activation], floor=floor)


def loss_at_step(
    init: str, lr: float, depth: int, seeds: int, generator: torch.Generator, *, epochs: int, **training: Any
) -> pd.DataFrame:
    """One run of the step scan: every seed's loss after ``epochs`` epochs at step ``lr`` (:func:`fit`; a seed
    whose loss overflowed has loss ``inf``: it did not train), with the init's label."""
    result = fit(depth, init, epochs, seeds, generator, lr=lr, record_every=None, **training)
    return result.history.query("epoch == epoch.max()")[["seed", "loss"]].assign(init=INITS[init])


#: The arms of the control "where does the speed-up come from": which hidden layers iterative orthogonalization
#: fits (0-based; the others are drawn from He's N(0, 2/d_in)). The full construction is the main runs' own.
ORTHOGONALIZED_LAYERS = {"first layer only": "first", "all but the first": "rest"}


def partially_orthogonalized(
    layers: str, seeds: int, generator: torch.Generator, *, depth: int, epochs: int, **training: Any
) -> pd.DataFrame:
    """Iterative orthogonalization of some layers only (``layers``: ``"first"`` or ``"rest"``, the others He),
    trained like the main runs: every seed's loss after ``epochs`` epochs. Eq. 6 on the first layer alone is one
    square-root step of the input's spectrum (not a whitening, which the official code's S^-1 would be); every layer
    but the first is which layers the official 2021 code fits."""
    x, y, _, _ = data.classification_data(training["dataset"])
    spec = nets.NetworkSpec(
        training["width"], depth, norm="none", activation="relu", init="iterative_orthogonalization"
    )
    fitted = {0} if layers == "first" else set(range(1, depth))
    x_init = train.init_batches(x, seeds, training["init_batch"], generator)
    weights = train.init_weights(
        seeds,
        x.shape[1],
        spec,
        generator,
        int(y.max()) + 1,
        x_init=x_init,
        v_prime=training["v_prime"],
        scale=training["scale"],
        fitted_layers=fitted,
    )
    result = train.sgd(
        x, y, weights, spec, epochs, generator, training["lr"], training["batch_size"], record_every=None
    )
    return result.history.query("epoch == epoch.max()")[["seed", "loss"]]


# --- the figures' sweeps and summaries ------------------------------------------------------------------------------


def main_runs(session: Any, v_prime: str = "sample", scale: str = "rms") -> pd.DataFrame:
    """The sweep ``main``: :func:`history` for every depth and init, all seeds batched. A depth's three runs draw the
    same random numbers (:class:`normprop.repro.sweeps.SharedDraws` over the depth): Xavier and He then differ by
    one positive factor per layer, which a ReLU network without bias carries through unchanged."""
    sizes = session.sizes
    configurations = [dict(depth=d, init=init) for d in sizes["depths"] for init in INITS]
    shared = sweeps.SharedDraws("main: shared draws", ("depth",))
    # Fig. 4's curves every second epoch: a full-data evaluation is a fifth of an epoch, and the epochs read off
    # these runs (epoch 0, the step scan's ``step_epochs``, ``support_epochs`` and the last) are all recorded.
    read = [sizes[key] for key in ("step_epochs", "support_epochs") if sizes[key] < sizes["epochs"]]
    record_every = math.gcd(2, *read)
    fixed = {"epochs": sizes["epochs"], "record_every": record_every, **training_settings(sizes, v_prime, scale)}
    return session.cases(
        "main", history, configurations, fixed=fixed, seeds=sizes["seeds"], shard=sizes["seeds"], shared=shared
    )


def by_depth(table: pd.DataFrame, column: str) -> dict[str, dict[int, analysis.Estimate]]:
    """init label -> depth -> mean and CI over seeds of ``column``."""
    return {
        label: {d: analysis.mean_ci(t[column]) for d, t in rows.groupby("depth")}
        for label, rows in table.groupby("init")
    }


@dataclass(eq=False)
class MainRuns:
    """What Fig. 3a, Fig. 4 and the checks read from the main runs (:func:`summarize_main`)."""

    depths: list[int]
    table: pd.DataFrame  # every epoch of every run
    at_init: pd.DataFrame  # epoch 0
    final: pd.DataFrame  # each run's last epoch
    messages: dict[tuple[int, str], str]  # (depth, init) -> why it stopped early
    loss: dict[str, dict[int, analysis.Estimate]]  # after training, init label -> depth -> over seeds
    gap0: dict[str, dict[int, analysis.Estimate]]  # at init
    rms0: dict[str, dict[int, analysis.Estimate]]  # at init
    seed_weights_distinct: bool  # iterative orthogonalization: every pair of seeds' initial hidden weights differs

    @property
    def shallow(self) -> int:
        return min(self.depths)

    @property
    def deep(self) -> int:
        return max(self.depths)

    @property
    def same_gap(self) -> float:
        """The largest difference between Xavier's and He's mean gaps at init (the same draws: 0 up to rounding)."""
        return max(abs(self.gap0[XAVIER][d].mean - self.gap0[HE][d].mean) for d in self.depths)

    def rises(self, estimates: Mapping[int, analysis.Estimate]) -> bool:
        """The mean rises from each depth to the next."""
        return all(estimates[a].mean < estimates[b].mean for a, b in zip(self.depths, self.depths[1:], strict=False))

    @property
    def gap_rises(self) -> analysis.Check:
        """Xavier's (= He's) gap at init is higher at the deepest depth than at the shallowest, CIs separated."""
        return analysis.apart(self.gap0[XAVIER][self.shallow], self.gap0[XAVIER][self.deep])

    @property
    def xavier_rms_falls(self) -> bool:
        pairs = zip(self.depths, self.depths[1:], strict=False)
        return all(self.rms0[XAVIER][a].mean > self.rms0[XAVIER][b].mean for a, b in pairs)

    @property
    def he_rms_order_one(self) -> bool:
        return all(0.25 < self.rms0[HE][d].mean < 4 for d in self.depths)

    @property
    def he_loss_rises(self) -> analysis.Check:
        return analysis.apart(self.loss[HE][self.shallow], self.loss[HE][self.deep])

    def beats(self, baseline: str, depth: int) -> analysis.Check:
        """The orthogonal start's loss CI lies entirely below the baseline's at ``depth``."""
        return analysis.apart(self.loss[ORTHOGONAL][depth], self.loss[baseline][depth])

    def beats_at(self, baseline: str, depths: Sequence[int]) -> analysis.Check:
        """The orthogonal start beats the baseline at every one of ``depths`` (margin: the closest depth)."""
        return analysis.every(self.beats(baseline, d) for d in depths)

    def beaten(self, baseline: str) -> list[int]:
        """Depths where the orthogonal start's loss CI lies entirely below the baseline's."""
        return [d for d in self.depths if self.beats(baseline, d)]

    @property
    def faster_than_xavier(self) -> list[int]:
        return self.beaten(XAVIER)

    @property
    def faster_than_he(self) -> list[int]:
        return self.beaten(HE)

    @property
    def speedup_depth(self) -> int | None:
        """The deepest depth where the orthogonal start beats Xavier."""
        return max(self.faster_than_xavier) if self.faster_than_xavier else None

    @property
    def he_slowed(self) -> list[int]:
        """Where depth itself slows the variance-preserving baseline down: He's loss CI above its shallowest one."""
        return [d for d in self.depths if self.loss[HE][d].low > self.loss[HE][self.shallow].high]

    @property
    def faster_than_he_where_slowed(self) -> analysis.Check:
        """The orthogonal start beats He at every depth where He is slowed down; fails when depth slows He nowhere
        (margin then: how far He's deepest loss is from clearing its shallowest)."""
        if not self.he_slowed:
            return analysis.Check(False, self.he_loss_rises.margin)
        return self.beats_at(HE, self.he_slowed)

    def fig3a_table(self) -> pd.DataFrame:
        """Fig. 3a's means: depth -> (gap at init, RMS at init, loss) x init."""
        table = pd.DataFrame(
            {
                (name, label): {d: estimates[label][d].mean for d in self.depths}
                for name, estimates in (("gap at init", self.gap0), ("RMS at init", self.rms0), ("loss", self.loss))
                for label in INITS.values()
            }
        )
        table.index.name = "depth"
        return table


def summarize_main(main: pd.DataFrame, depths: Sequence[int]) -> MainRuns:
    """The main runs' table (:func:`main_runs`) summarised over seeds."""
    messages = {(row.depth, row.init): row.message for row in main.dropna(subset="message").itertuples()}
    final = main[main.epoch == main.groupby(["init", "depth"]).epoch.transform("max")]
    at_init = main[main.epoch == 0]
    return MainRuns(
        depths=list(depths),
        table=main,
        at_init=at_init,
        final=final,
        messages=messages,
        loss=by_depth(final, "loss"),
        gap0=by_depth(at_init, "gap"),
        rms0=by_depth(at_init, "rms"),
        seed_weights_distinct=bool(main[main.init == ORTHOGONAL].seeds_differ.all()),
    )


def fig3a_reading(runs: MainRuns) -> str:
    """What Fig. 3a shows, in a few lines: collinearity and scale at init, loss after training."""
    shallow, deep = runs.shallow, runs.deep
    xavier_rms = runs.rms0[XAVIER]
    return "\n".join(
        [
            f"gap at init (Xavier and He, the same draws) higher at depth {deep} than at {shallow}, CIs separated: "
            f"{bool(runs.gap_rises)}; mean rises at every step: {runs.rises(runs.gap0[XAVIER])} "
            "(near the ceiling the steps are within noise)",
            f"Xavier's RMS at init falls with depth: {runs.xavier_rms_falls} "
            f"({xavier_rms[shallow].mean:.2g} at depth {shallow}, {xavier_rms[deep].mean:.2g} at depth {deep}); "
            f"He's stays between 1/4 and 4: {runs.he_rms_order_one}",
            f"He's loss after training is higher at depth {deep} than at depth {shallow} (95% CIs apart): "
            f"{bool(runs.he_loss_rises)}",
            f"Xavier's loss after training at depth {deep}: {runs.loss[XAVIER][deep]} "
            f"(chance: log 10 = {np.log(10):.3f})",
        ]
    )


def fig4_reading(runs: MainRuns) -> str:
    """Per depth, the three losses after training and whether the orthogonal start beats Xavier and He."""
    loss, faster_than_he = runs.loss, runs.faster_than_he
    lines = [
        f"depth {depth:>2}: Xavier {loss[XAVIER][depth]}, He {loss[HE][depth]}, orthogonal {loss[ORTHOGONAL][depth]}"
        f" -> faster than Xavier: {depth in runs.faster_than_xavier}, faster than He: {depth in faster_than_he}"
        for depth in runs.depths
    ]
    return "\n".join(
        [
            *lines,
            f"orthogonal start faster than Xavier at depths {runs.faster_than_xavier}, than He at depths "
            f"{faster_than_he}",
            f"NOT faster than He at depths: {[d for d in runs.depths if d not in faster_than_he] or 'none'}",
            f"depths where He trains slower than at depth {runs.shallow}: {runs.he_slowed}; orthogonal start faster "
            f"than He at all of them: {bool(runs.faster_than_he_where_slowed)}",
        ]
    )


def step_scan(session: Any, main: pd.DataFrame, v_prime: str = "sample", scale: str = "rms") -> dict[str, Any]:
    """The sweep ``step scan``: He and the orthogonal start at every step of ``steps`` (:func:`loss_at_step`) at
    ``step_depths``, ``step_epochs`` epochs each (equal budget), ``control_seeds`` seeds; the main runs give the
    paper's step ``lr`` at the same epoch. ``best``: per init and depth, the best step and its loss
    (:func:`normprop.train.best_step_outcomes`; a step where a seed diverged "did not train")."""
    sizes = session.sizes
    settings = {key: value for key, value in training_settings(sizes, v_prime, scale).items() if key != "lr"}
    inits = ["he", "iterative_orthogonalization"]
    scan = session.cases(
        "step scan",
        loss_at_step,
        [
            dict(init=init, lr=lr, depth=depth)
            for depth in sizes["step_depths"]
            for init in inits
            for lr in sizes["steps"]
            if lr != sizes["lr"]  # the main runs' step
        ],
        fixed={"epochs": sizes["step_epochs"], **settings},
        seeds=sizes["control_seeds"],
        shard=sizes["control_seeds"],
    )
    literal = []
    for (depth, _init), rows in main[main.init.isin([INITS[i] for i in inits])].groupby(["depth", "init"]):
        if depth in sizes["step_depths"]:
            epoch = min(sizes["step_epochs"], rows.epoch.max())  # a run that diverged earlier stopped there
            literal.append(rows[rows.epoch == epoch][["seed", "loss", "init", "depth"]].assign(lr=sizes["lr"]))
    table = pd.concat([scan, *literal], ignore_index=True)
    best = train.best_step_outcomes(table, np.log(10) / 2, by=("init", "depth"))
    return {"table": table, "best": best, "steps": list(sizes["steps"]), "epochs": sizes["step_epochs"]}


def best_step_loss(scan: Mapping[str, Any]) -> dict[str, dict[int, analysis.Estimate]]:
    """init label -> depth -> the loss at its best step (mean and 95% interval over seeds)."""
    estimates: dict[str, dict[int, analysis.Estimate]] = {}
    for _, row in scan["best"].iterrows():
        estimates.setdefault(row["init"], {})[int(row["depth"])] = train.outcome_estimate(row)
    return estimates


def step_scan_table(scan: Mapping[str, Any]) -> pd.DataFrame:
    """Init by depth: the loss at every step of the grid (mean [95% interval]; "did not train" where a seed
    diverged), and the best step."""
    outcomes = train.training_outcomes(scan["table"], np.log(10) / 2, by=("init", "depth", "lr"))
    outcomes["cell"] = [
        "did not train (diverged)" if row.diverged else f"{row.mean:.3g} [{row.low:.3g}, {row.high:.3g}]"
        for row in outcomes.itertuples()
    ]
    table = outcomes.pivot(index=["init", "depth"], columns="lr", values="cell")
    table.columns = [f"step {lr:g}" for lr in table.columns]
    table["best step"] = scan["best"].set_index(["init", "depth"])["lr"]
    return table


def orthogonalized_layers(session: Any, runs: MainRuns, v_prime: str = "sample", scale: str = "rms") -> dict:
    """The sweep ``orthogonalized layers`` (:func:`partially_orthogonalized`) at the deepest main depth,
    ``control_seeds`` seeds, with the main runs' full construction and He beside it: label -> loss after the main
    budget (Estimate)."""
    sizes = session.sizes
    fixed = {"depth": runs.deep, "epochs": sizes["epochs"], **training_settings(sizes, v_prime, scale)}
    table = session.grid(
        "orthogonalized layers",
        partially_orthogonalized,
        fixed=fixed,
        seeds=sizes["control_seeds"],
        shard=sizes["control_seeds"],
        layers=list(ORTHOGONALIZED_LAYERS.values()),
    )
    loss = {"every layer (the main runs)": runs.loss[ORTHOGONAL][runs.deep]}
    loss |= {label: analysis.mean_ci(table[table.layers == key].loss) for label, key in ORTHOGONALIZED_LAYERS.items()}
    return loss | {"none (He)": runs.loss[HE][runs.deep]}


def fig3b_runs(session: Any, v_prime: str = "sample", scale: str = "rms") -> pd.DataFrame:
    """The sweep ``fig3b``: :func:`long_run` of Xavier and He at ``fig3b_depth`` for ``fig3b_epochs`` epochs."""
    sizes = session.sizes
    fixed = {"depth": sizes["fig3b_depth"], "epochs": sizes["fig3b_epochs"], **training_settings(sizes, v_prime, scale)}
    return session.grid(
        "fig3b", long_run, fixed=fixed, seeds=sizes["seeds"], shard=sizes["seeds"], init=["xavier", "he"]
    )


def training_change(long_runs: pd.DataFrame) -> dict[str, dict[str, analysis.Estimate]]:
    """init label -> each seed's own change of the loss and of the gap from the start to the end of training,
    mean and CI over seeds (paired over seeds)."""
    change = {}
    for label, run in long_runs.groupby("init"):
        start, end = (run[run.epoch == e].set_index("seed") for e in (0, run.epoch.max()))
        change[label] = {"loss": analysis.mean_ci(end.loss - start.loss), "gap": analysis.mean_ci(end.gap - start.gap)}
    return change


def loss_and_gap_fall(change: Mapping[str, Mapping[str, analysis.Estimate]]) -> dict[str, analysis.Check]:
    """init label -> whether the loss and the gap both fell over training (95% CIs of the change below 0)."""
    return {
        label: analysis.every([analysis.below(c["loss"], 0), analysis.below(c["gap"], 0)])
        for label, c in change.items()
    }


def fig3b_reading(change: Mapping[str, Mapping[str, analysis.Estimate]]) -> str:
    falls = loss_and_gap_fall(change)
    return "\n".join(
        f"{label}: change over training, per seed: loss {c['loss']}, gap {c['gap']}\n"
        f"  {label}: loss and gap both fall (95% CIs below 0): {bool(falls[label])}"
        for label, c in change.items()
    )


def variant_runs(session: Any) -> pd.DataFrame:
    """The sweep ``variants``: :func:`variant_row` for every V' and scale, at ``variant_depth``."""
    sizes = session.sizes
    fixed = {"depth": sizes["variant_depth"], "epochs": sizes["variant_epochs"]}
    fixed |= {key: value for key, value in training_settings(sizes).items() if key not in ("v_prime", "scale")}
    return session.grid(
        "variants",
        variant_row,
        fixed=fixed,
        seeds=sizes["seeds"],
        shard=sizes["seeds"],
        v_prime=list(train.V_PRIMES),
        scale=list(train.ORTHOGONALIZING_SCALES),
    )


def shared_batch_distinct(session: Any) -> bool:
    """The sweep ``shared batch`` (:func:`shared_batch_init`): whether the seeds' hidden weights differ when all
    seeds share one initialisation batch and V' = V."""
    sizes = session.sizes
    fixed = {"dataset": sizes["dataset"], "width": sizes["width"], "depth": sizes["variant_depth"]}
    table = session.cases(
        "shared batch", shared_batch_init, [{}], fixed=fixed, seeds=sizes["seeds"], shard=sizes["seeds"]
    )
    return bool(table["seeds differ"][0])


def summarize_variants(variants: pd.DataFrame) -> dict[str, Any]:
    """``stable`` (V'/scale -> trained without overflow), ``stable_names``, ``loss`` (V'/scale -> mean loss) and
    ``scale_gain`` (for the sample and input V', loss with the unit-RMS scale / loss with the paper's)."""
    stable = {f"{row.v_prime}/{row.scale}": bool(row.stable) for row in variants.itertuples()}
    losses = variants.pivot(index="v_prime", columns="scale", values="loss")
    # Only where both scales trained (an overflow has loss inf).
    gain = (losses["rms"] / losses["paper"]).loc[["sample", "input"]].round(1).where(np.isfinite(losses.max(axis=1)))
    return {
        "stable": stable,
        "stable_names": [name for name, ok in stable.items() if ok],
        "loss": {f"{row.v_prime}/{row.scale}": row.loss for row in variants.itertuples()},
        "scale_gain": {
            v_prime: (float(ratio) if np.isfinite(ratio) else "n/a, a run overflowed")
            for v_prime, ratio in gain.items()
        },
    }


def support_runs(session: Any) -> pd.DataFrame:
    """The sweep ``support`` (:func:`support_rows`) over ``support_depths``, without and with BN, and a ``network``
    column naming them."""
    sizes = session.sizes
    fixed = {"dataset": sizes["dataset"], "width": sizes["width"], "epochs": sizes["support_epochs"], "lr": sizes["lr"]}
    support = session.grid(
        "support",
        support_rows,
        fixed=fixed,
        seeds=sizes["seeds"],
        shard=sizes["seeds"],
        depth=sizes["support_depths"],
        norm=["none", "batch"],
    )
    support["network"] = support.norm.map({"none": "no BN", "batch": "BN"})
    return support


def rank_and_loss(support: pd.DataFrame, main: pd.DataFrame | None = None, epochs: int | None = None) -> dict[str, Any]:
    """At the deepest depth: rank at init and loss after training, with (``bn``) and without BN (``plain``); and,
    given the main runs' table and the supporting runs' ``epochs``, ``bn_vs_he``: depth -> BN's loss and He's
    after the same number of epochs (He from the main runs: the same collinearity as Xavier without its vanishing
    signal), at every supporting depth that the main runs also trained that long."""
    deepest = max(support.depth)
    deep = support[support.depth == deepest]
    rank_bn, rank_plain = (analysis.mean_ci(deep[deep.network == k]["rank at init"]) for k in ("BN", "no BN"))
    loss_bn, loss_plain = (analysis.mean_ci(deep[deep.network == k]["loss"]) for k in ("BN", "no BN"))
    bn_vs_he = {}
    if main is not None:
        he = main[(main.init == HE) & (main.epoch == epochs)]
        for depth in sorted(set(support.depth) & set(he.depth)):
            bn = support[(support.depth == depth) & (support.network == "BN")]["loss"]
            bn_vs_he[int(depth)] = {"BN": analysis.mean_ci(bn), "He": analysis.mean_ci(he[he.depth == depth].loss)}
    return {
        "depth": deepest,
        "rank_bn": rank_bn,
        "rank_plain": rank_plain,
        "loss_bn": loss_bn,
        "loss_plain": loss_plain,
        "bn_vs_he": bn_vs_he,
    }


def bn_reading(bn: Mapping[str, Any]) -> str:
    """Rank and loss with and without BN at the deepest supporting depth, and BN against He at every depth."""
    lines = [
        f"depth {bn['depth']}: rank at init BN {bn['rank_bn']}, no BN {bn['rank_plain']}; "
        f"loss BN {bn['loss_bn']}, no BN {bn['loss_plain']}"
    ]
    for depth, pair in bn.get("bn_vs_he", {}).items():
        lower = analysis.apart(pair["BN"], pair["He"])
        lines.append(
            f"depth {depth}, same epochs: loss BN {pair['BN']}, He {pair['He']} -> BN lower (CIs apart): {bool(lower)}"
        )
    return "\n".join(lines)


def isometry_orders(session: Any) -> pd.DataFrame:
    """The sweep ``orders`` (:func:`isometry_at_init`): activation x order -> isometry gap at init."""
    sizes = session.sizes
    fixed = {"dataset": sizes["dataset"], "width": sizes["width"], "depth": sizes["beta_depth"]}
    orders = session.grid(
        "orders",
        isometry_at_init,
        fixed=fixed,
        seeds=sizes["seeds"],
        shard=sizes["seeds"],
        activation=sizes["beta_activations"],
        order=["act_norm", "norm_act"],
    )
    return orders.pivot(index="activation", columns="order", values="isometry gap at init").loc[
        sizes["beta_activations"]
    ]


def input_isometry_gap(dataset: str) -> float:
    """The isometry gap of the first 32 training images themselves."""
    return metrics.isometry_gap(data.classification_data(dataset)[0][:PROBE]).item()


def orders_reading(orders: pd.DataFrame, input_gap: float) -> str:
    """Per order, the activations that start closer to isometry than the input and those with a singular Gram."""
    lines = [f"input's isometry gap: {input_gap:.3g}"]
    for order, name in (("act_norm", "theory's order, LN(act(hW))"), ("norm_act", "reverse order, act(LN(hW))")):
        better = [a for a in orders.index if orders.loc[a, order] < input_gap]
        singular = [a for a in orders.index if np.isinf(orders.loc[a, order])]
        lines.append(f"{name}: closer to isometry than the input: {better}; singular Gram: {singular or 'none'}")
    return "\n".join(lines)


def beta_runs(session: Any, v_prime: str = "sample", scale: str = "rms") -> pd.DataFrame:
    """The sweep ``beta`` (:func:`beta_rows`): every activation, with linear logits and with the activation on the
    logits."""
    sizes = session.sizes
    fixed = {"depth": sizes["beta_depth"], "epochs": sizes["beta_epochs"], **training_settings(sizes, v_prime, scale)}
    return session.grid(
        "beta",
        beta_rows,
        fixed=fixed,
        seeds=sizes["beta_seeds"],
        shard=sizes["beta_seeds"],
        logit_activation=[False, True],
        activation=sizes["beta_activations"],
    )


def summarize_beta(beta: pd.DataFrame) -> dict[str, Any]:
    """The 2023 prediction, per setup: Spearman's rho between beta_sigma and the mean loss over seeds (negative:
    larger beta_sigma, faster training), whether it is ordered (rho <= -0.8), the rho that the loss floors alone
    give, the activations in beta_sigma order and the means."""
    from scipy.stats import spearmanr  # here: listing the claims must not import scipy (nor numpy)

    means = beta.groupby(["setup", "activation"])[["beta_sigma", "loss", "floor"]].mean()
    spearman = {
        setup: float(spearmanr(means.loc[setup].beta_sigma, means.loc[setup].loss).statistic)
        for setup in SETUPS.values()
    }
    # Spearman over a handful of activations takes few values (-0.8 is one adjacent swap among 4); a small slack
    # keeps -0.8 computed as -0.7999... on the side it belongs to.
    reproduced = {setup: rho <= -0.8 + 1e-9 for setup, rho in spearman.items()}
    on_logits = means.loc[SETUPS[True]]
    floor_order = float(spearmanr(on_logits.beta_sigma, on_logits.floor).statistic)
    order = list(means.loc[SETUPS[False]].sort_values("beta_sigma").index)
    return {"means": means, "spearman": spearman, "reproduced": reproduced, "floor_order": floor_order, "order": order}


def beta_reading(beta: Mapping[str, Any]) -> str:
    means, order = beta["means"], beta["order"]
    table = means.unstack("setup")["loss"].loc[order].assign(beta_sigma=means.loc[SETUPS[False]].beta_sigma)
    lines = [str(table)]
    for setup, rho in beta["spearman"].items():
        lines.append(
            f"{setup}: Spearman(beta_sigma, loss) = {rho:+.2f}; ordered (rho <= -0.8): {beta['reproduced'][setup]}"
        )
    lines.append(
        f"the loss floors alone (activation on the logits): Spearman(beta_sigma, floor) = {beta['floor_order']:+.2f}"
    )
    return "\n".join(lines)


# --- plots ----------------------------------------------------------------------------------------------------------


def plot_fig3a(axes: Sequence[Any], runs: MainRuns, epochs: int, band: Mapping[str, Any]) -> None:
    """Gap at init, RMS at init and loss after training against depth, one line per init."""
    style = {"x": "depth", "hue": "init", "hue_order": list(INITS.values()), "marker": "o", **band}
    sns.lineplot(runs.at_init, y="gap", ax=axes[0], **style)
    axes[0].axhline(np.sqrt(1 - 1 / PROBE), color="gray", ls=":", lw=1)
    axes[0].set(ylabel="orthogonality gap at init (last hidden layer)", title="collinearity at init (Xavier = He)")
    sns.lineplot(runs.at_init, y="rms", ax=axes[1], legend=False, **style)
    axes[1].set(yscale="log", ylabel="RMS at init (last hidden layer)", title="signal scale at init")
    sns.lineplot(runs.final, y="loss", ax=axes[2], legend=False, **style)
    axes[2].axhline(np.log(10), color="gray", ls=":", lw=1, label="log 10 (chance)")
    axes[2].set(yscale="log", ylabel=f"training loss after {epochs} epochs", title="loss after training")
    axes[0].legend(title=None, fontsize=8)


def plot_fig3b(axes: Sequence[Any], long_runs: pd.DataFrame, depth: int, band: Mapping[str, Any]) -> None:
    """Loss and gap of the last hidden layer during training, Xavier and He."""
    sns.lineplot(long_runs, x="epoch", y="loss", hue="init", ax=axes[0], **band)
    axes[0].set(yscale="log", ylabel="training loss", title=f"depth {depth}")
    sns.lineplot(long_runs, x="epoch", y="gap", hue="init", ax=axes[1], legend=False, **band)
    axes[1].set(ylabel="orthogonality gap, last hidden layer", title="gap during training")


def plot_fig4(axes: Sequence[Any], main: pd.DataFrame, sizes: Mapping[str, Any], band: Mapping[str, Any]) -> None:
    """One panel per depth: the training curves of the three inits, chance (log 10) dotted."""
    depths = sizes["depths"]
    for ax, depth in zip(axes, depths, strict=True):
        legend = depth == depths[0]
        sns.lineplot(main[main.depth == depth], x="epoch", y="loss", hue="init", ax=ax, legend=legend, **band)
        ax.axhline(np.log(10), color="gray", ls=":", lw=1)
        ax.set(yscale="log", title=f"depth {depth}", ylabel="training loss")
    axes[0].legend(title=None, fontsize=8)
    axes[0].figure.suptitle(f"plain ReLU MLP, width {sizes['width']}, {sizes['dataset']}")


def plot_supporting(
    axes: Sequence[Any],
    support: pd.DataFrame,
    beta: pd.DataFrame,
    summary: Mapping[str, Any],
    sizes: Mapping[str, Any],
    band: Mapping[str, Any],
) -> None:
    """Left, 2020: rank at init against loss, with and without BN. Right, 2023: loss per activation in beta_sigma
    order, both setups, with the loss floors of bounded logits."""
    sns.scatterplot(support, x="rank at init", y="loss", hue="network", style="depth", ax=axes[0], s=60)
    axes[0].set(
        ylabel=f"training loss after {sizes['support_epochs']} epochs", title="rank at init vs trainability (Xavier)"
    )
    order = summary["order"]
    sns.pointplot(beta, x="activation", y="loss", hue="setup", order=order, ax=axes[1], dodge=0.2, **band)
    floors = summary["means"].loc[SETUPS[True]].reindex(order).query("floor > 0")
    axes[1].scatter(
        floors.index, floors.floor, marker="_", s=400, color="gray", label="loss floor, activation on logits"
    )
    axes[1].set(
        ylabel=f"training loss after {sizes['beta_epochs']} epochs",
        title=f"LN after the activation, depth {sizes['beta_depth']}; ordered by beta_sigma",
    )
    axes[1].legend(fontsize=8)


# --- the claim check ------------------------------------------------------------------------------------------------


def checks(
    runs: MainRuns,
    change: Mapping[str, Mapping[str, analysis.Estimate]],
    variants: Mapping[str, Any],
    support: Mapping[str, Any],
    beta: Mapping[str, Any],
    scan: Mapping[str, Any],
    layers: Mapping[str, analysis.Estimate],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The claim's checks, its recorded numbers and the supporting checks (2023, He beaten at every depth, and BN's
    loss against Xavier's without BN and against He's), each a bool or an :class:`normprop.analysis.Check`.

    ``runs``: :func:`summarize_main`; ``change``: :func:`training_change` of Fig. 3b; ``variants``:
    :func:`summarize_variants`; ``support``: :func:`rank_and_loss`; ``beta``: :func:`summarize_beta`; ``scan``:
    :func:`step_scan`; ``layers``: :func:`orthogonalized_layers`."""
    best = best_step_loss(scan)
    scan_deep = max(best[HE])
    steps = ", ".join(f"{lr:g}" for lr in scan["steps"])
    loss, gap0, rms0, depths = runs.loss, runs.gap0, runs.rms0, runs.depths
    falls = loss_and_gap_fall(change)
    numbers = {
        "loss_xavier": {d: e.mean for d, e in loss[XAVIER].items()},
        "loss_he": {d: e.mean for d, e in loss[HE].items()},
        "loss_orthogonal": {d: e.mean for d, e in loss[ORTHOGONAL].items()},
        "gap_at_init": {d: e.mean for d, e in gap0[XAVIER].items()},
        "gap_at_init_orthogonal": {d: e.mean for d, e in gap0[ORTHOGONAL].items()},
        "rms_at_init": {label: {d: e.mean for d, e in rms0[label].items()} for label in INITS.values()},
        "speedup_depth": runs.speedup_depth,
        "faster_than_he_depths": runs.faster_than_he,
        "he_slowed_depths": runs.he_slowed,
        "seed_weights_distinct": runs.seed_weights_distinct,
        "v_prime_stable": variants["stable"],
        "variant_loss": variants["loss"],
        "beta_order_spearman_by_setup": beta["spearman"],
        "beta_order_reproduced": beta["reproduced"],
        "beta_order_spearman_of_loss_floors": beta["floor_order"],
        "fig3b_loss_and_gap_fall": {label: bool(ok) for label, ok in falls.items()},
        "best_step_loss_by_depth": {row.init: {} for row in scan["best"].itertuples()},
        "loss_by_orthogonalized_layers": {label: e.as_record() for label, e in layers.items()},
        "step_scan_loss_by_depth": train.loss_by_step(scan["table"], group="init"),
        "main_runs_diverged": [f"depth {depth}, {init}: {message}" for (depth, init), message in runs.messages.items()],
        "bn_vs_he_loss": {
            d: {name: e.as_record() for name, e in pair.items()} for d, pair in support.get("bn_vs_he", {}).items()
        },
    }
    for row in scan["best"].itertuples():
        numbers["best_step_loss_by_depth"][row.init][int(row.depth)] = {
            "step": row.lr if pd.notna(row.lr) else None,
            "mean": row.mean,
            "low": row.low,
            "high": row.high,
            "did_not_train_at": row.diverged_steps,
        }
    bn_vs_he = support.get("bn_vs_he", {})
    claim_checks = {
        "iterative orthogonalization: the seeds' initial hidden weights differ": runs.seed_weights_distinct,
        "Xavier and He (same draws): gap at init higher at the deepest than at the shallowest depth (CIs apart)": (
            runs.gap_rises
        ),
        "Xavier: last hidden layer's RMS at init falls with depth": runs.xavier_rms_falls,
        "He: last hidden layer's RMS at init stays between 1/4 and 4": runs.he_rms_order_one,
        "He (same gap, order-one signal): loss after training higher at the deepest than at the shallowest depth": (
            runs.he_loss_rises
        ),
        "He training (the official code's baseline): loss falls and the last layer's gap falls": falls[HE],
        "orthogonal start: lower loss than Xavier at every depth": runs.beats_at(XAVIER, depths),
        f"orthogonal start: lower loss than He at every depth where He's loss is above its depth-{runs.shallow} CI": (
            runs.faster_than_he_where_slowed
        ),
        f"each at its best step of {steps} ({scan['epochs']} epochs): orthogonal start lower loss than He at depth "
        f"{scan_deep}": analysis.apart(best[ORTHOGONAL][scan_deep], best[HE][scan_deep]),
        f"orthogonalizing every layer but the first: lower loss than He at depth {runs.deep}": analysis.apart(
            layers["all but the first"], layers["none (He)"]
        ),
        # The rank is relative to the largest singular value: it does not see Xavier's vanishing scale.
        "BN keeps a higher rank at init than without BN": analysis.apart(support["rank_plain"], support["rank_bn"]),
    }
    supporting = {
        "no main run diverged at the paper's step (a diverged run did not train and enters as loss inf)": (
            not runs.messages
        ),
        "orthogonal start: lower loss than He at every depth": runs.beats_at(HE, depths),
        f"each at its best step: orthogonal start lower loss than He at every scanned depth "
        f"({', '.join(map(str, sorted(best[HE])))})": analysis.every(
            analysis.apart(best[ORTHOGONAL][d], best[HE][d]) for d in sorted(best[HE])
        ),
        f"eq. 6 on the first layer only (a square-root step of the input's spectrum): lower loss than He at depth "
        f"{runs.deep}": (analysis.apart(layers["first layer only"], layers["none (He)"])),
        # Confounded: without BN, Xavier's signal vanishes with depth (its loss stays at chance whatever its rank).
        "BN trains better than without BN (Xavier: confounded by its vanishing signal)": analysis.apart(
            support["loss_bn"], support["loss_plain"]
        ),
    }
    if bn_vs_he:
        supporting["BN trains better than He (the same epochs) at every supporting depth"] = analysis.every(
            analysis.apart(pair["BN"], pair["He"]) for pair in bn_vs_he.values()
        )
    supporting |= {
        f"training speed ordered by beta_sigma (2023), {setup}": ok for setup, ok in beta["reproduced"].items()
    }
    return claim_checks, numbers, supporting
