"""The claims this companion reproduces: one notebook each, with its papers and figures.

The CLI, the results record and the README's figure table all read this one list.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Claim:
    notebook: str
    title: str
    statement: str
    papers: tuple[str, ...]
    figures: dict[str, str] = field(default_factory=dict)  # figure file stem -> paper figure it reproduces


CLAIMS: tuple[Claim, ...] = (
    Claim(
        notebook="01_orthogonality",
        title="Batch norm orthogonalizes representations and avoids rank collapse",
        statement="In deep random linear networks, batch normalization makes representations increasingly "
        "orthogonal with depth, down to an O(1/sqrt(width)) floor, and avoids rank collapse.",
        papers=(
            "Daneshmand, Joudaki, Bach. Batch Normalization Orthogonalizes Representations in Deep Random "
            "Networks. NeurIPS 2021. arXiv:2106.03970",
            "Daneshmand, Kohler, Bach, Hofmann, Lucchi. Batch Normalization Provably Avoids Rank Collapse for "
            "Randomly Initialised Deep Networks. NeurIPS 2020. arXiv:2003.01652",
        ),
        figures={
            "01_fig1_cosine": "2021 Fig. 1",
            "01_fig2a_gap_vs_depth": "2021 Fig. 2a",
            "01_fig2b_gap_vs_width": "2021 Fig. 2b",
            "01_rank_collapse": "2020 Fig. 2 and Fig. 3a",
            "01_activations": "2021 App. F",
        },
    ),
    Claim(
        notebook="02_entropy",
        title="Depth maximises the entropy of batch-normalised representations",
        statement="In random batch-normalised networks, the Gaussian-proxy entropy of the representations of a batch "
        "of n samples settles with depth at a floor below its maximum, for linear, odd and centred activations; "
        "vanilla networks lose entropy instead. The floor is set by n and the width d together: the isometry-gap "
        "floor scales about like n^2/d (fitted n^2.2/d^1.2 over n = 4..32, d = 32..512), so the deficit, n/2 "
        "times the gap, stays below a fixed number of nats only if d grows about like n^3, and no fixed ratio d/n "
        "suffices; depth raises the entropy of inputs less isotropic than that floor and lowers it otherwise. "
        "The law of a pre-activation row over the random weights approaches an isotropic Gaussian with depth, "
        "at a distance that shrinks with width.",
        papers=(
            "Joudaki, Daneshmand, Bach. Entropy Maximization with Depth: A Variational Principle for Random "
            "Neural Networks. arXiv:2205.13076 (v1)",
            "Daneshmand, Joudaki, Bach. Batch Normalization Orthogonalizes Representations in Deep Random "
            "Networks. NeurIPS 2021. arXiv:2106.03970 (the Gaussian law of the representation)",
        ),
        figures={
            "02_entropy_vs_depth": "2022 v1, entropy vs depth (reconstruction)",
            "02_width_regime": "2022 v1, the width condition at n = 8 (reconstruction)",
            "02_activations": "2022 v1, activations (reconstruction)",
            "02_centred_bn": "2022 v1, mean-centred BN (reconstruction)",
            "02_floor_scaling": "the entropy floor in batch size and width (this project)",
            "02_gaussianity": "2021, the representation's law approaches an isotropic Gaussian (arXiv:2106.03970)",
        },
    ),
    Claim(
        notebook="03_isometry",
        title="Normalization and activation bias the Gram matrix towards isometry at the mean-field rate",
        statement="In random MLPs with layer normalization and centred activations, the isometry gap of the "
        "representations falls with depth at the rate the activation's mean-field correlation map predicts; "
        "Theorem 1's beta_sigma = 2 - c_1^2 / sum_{k>=1} c_k^2 bounds that rate and orders the activations; "
        "normalization itself never decreases isometry.",
        papers=(
            "Joudaki, Daneshmand, Bach. On the impact of activation and normalization in obtaining isometric "
            "embeddings at initialization. NeurIPS 2023. arXiv:2305.18399",
        ),
        figures={
            "03_correlation_maps": "2023, dual kernels and the beta table",
            "03_isometry_vs_depth": "2023 Fig. 1-2 (validation MLP)",
            "03_rates": "2023 Thm. 1 bound vs the mean-field rate (not a paper figure)",
            "03_normalisation": "2023, normalization never decreases isometry (lemma); the official plot",
            "03_ablations": "2023 ablations (centering, normalization, order, gain, Hermite, width)",
        },
    ),
    Claim(
        notebook="04_bounded_gradients",
        title="Batch normalization without gradient explosion",
        statement="A batch-normalised linear MLP with orthogonal weights and n = d independent samples keeps the "
        "gradient of early weights bounded with depth, while Gaussian weights, repeated samples or n < d make it "
        "explode; an activation gain schedule slows the explosion for tanh and sin many times over; and with the "
        "same SGD budget, orthogonal BN MLPs train at depths (up to 500) where Gaussian ones fail.",
        papers=(
            "Meterez, Joudaki, Orabona, Immer, Ratsch, Daneshmand. Towards Training Without Depth Limits: Batch "
            "Normalization Without Gradient Explosion. ICLR 2024. arXiv:2310.02012",
        ),
        figures={
            "04_isometry_rate": "2024 Fig. 1 and Theorem 1",
            "04_gradients": "2024 Fig. 2, Fig. 3 and the centering ablation",
            "04_shaping": "2024 Fig. 5",
            "04_training_depth": "2024, training at depth (title claim; setup of the official run.py)",
        },
    ),
    Claim(
        notebook="05_sgd_acceleration",
        title="Orthogonal initial representations accelerate SGD, without batch norm",
        statement="Starting SGD from orthogonal representations (iterative orthogonalization) trains deep plain ReLU "
        "MLPs faster than Xavier (whose signal also vanishes with depth) at every depth, and faster than He (the same "
        "collinearity at an order-one scale) wherever depth slows He down; no batch norm.",
        papers=(
            "Daneshmand, Joudaki, Bach. Batch Normalization Orthogonalizes Representations in Deep Random "
            "Networks. NeurIPS 2021, sec. 5. arXiv:2106.03970",
            "Daneshmand, Kohler, Bach, Hofmann, Lucchi. Batch Normalization Provably Avoids Rank Collapse for "
            "Randomly Initialised Deep Networks. NeurIPS 2020. arXiv:2003.01652",
            "Joudaki, Daneshmand, Bach. On the impact of activation and normalization in obtaining isometric "
            "embeddings at initialization. NeurIPS 2023. arXiv:2305.18399",
        ),
        figures={
            "05_fig3a_gap_and_loss_vs_depth": "2021 Fig. 3a, with the signal-scale control (Xavier, He, orthogonal)",
            "05_fig3b_training": "2021 Fig. 3b (Xavier and He)",
            "05_fig4_orthogonal_vs_xavier": "2021 Fig. 4: training curves, Xavier, He and orthogonal",
            "05_supporting": "2020 Fig. 1 (rank and trainability) and 2023 (beta ordering, LN after the activation)",
        },
    ),
)


def find_claim(name: str) -> Claim:
    """Look a claim up by notebook name (``01_orthogonality``), its number (``01`` or ``1``) or a path."""
    stem = name.rsplit("/", 1)[-1].removesuffix(".ipynb")
    for claim in CLAIMS:
        number = claim.notebook.split("_", 1)[0]
        if stem in (claim.notebook, number) or (stem.isdigit() and int(stem) == int(number)):
            return claim
    known = ", ".join(claim.notebook for claim in CLAIMS)
    raise ValueError(f"notebook must be one of {known} (or its number), got {name!r}")
