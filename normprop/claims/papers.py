"""The bibliography: every paper a claim cites, once. ``CITATION.cff``'s references and the README's BibTeX
block are checked against it (``tests/claims/test_registry.py``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paper:
    key: str  # the BibTeX key
    title: str
    authors: tuple[tuple[str, str], ...]  # (family name, given name)
    year: int
    venue: str  # short, as printed: "NeurIPS 2021"
    arxiv: str  # arXiv identifier, without version
    version: str = ""  # a pinned arXiv version ("v1") when a later one dropped the claim

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv}{self.version}"

    def citation(self, note: str = "") -> str:
        """One line: ``Family, Family. Title. Venue. arXiv:id`` (with ``note`` after the venue, e.g. a section)."""
        families = ", ".join(family for family, _ in self.authors)
        venue = f"{self.venue}, {note}" if note else self.venue
        venue = f"{venue}. " if venue else ""
        version = f" ({self.version})" if self.version else ""
        return f"{families}. {self.title}. {venue}arXiv:{self.arxiv}{version}"


PAPERS: dict[str, Paper] = {
    paper.key: paper
    for paper in (
        Paper(
            "daneshmand2021batch",
            "Batch Normalization Orthogonalizes Representations in Deep Random Networks",
            (("Daneshmand", "Hadi"), ("Joudaki", "Amir"), ("Bach", "Francis")),
            2021,
            "NeurIPS 2021",
            "2106.03970",
        ),
        Paper(
            "daneshmand2020batch",
            "Batch Normalization Provably Avoids Rank Collapse for Randomly Initialised Deep Networks",
            (
                ("Daneshmand", "Hadi"),
                ("Kohler", "Jonas"),
                ("Bach", "Francis"),
                ("Hofmann", "Thomas"),
                ("Lucchi", "Aurelien"),
            ),
            2020,
            "NeurIPS 2020",
            "2003.01652",
        ),  # fmt: skip
        Paper(
            "joudaki2022entropy",
            "Entropy Maximization with Depth: A Variational Principle for Random Neural Networks",
            (("Joudaki", "Amir"), ("Daneshmand", "Hadi"), ("Bach", "Francis")),
            2022,
            "",
            "2205.13076",
            version="v1",
        ),
        Paper(
            "joudaki2023impact",
            "On the impact of activation and normalization in obtaining isometric embeddings at initialization",
            (("Joudaki", "Amir"), ("Daneshmand", "Hadi"), ("Bach", "Francis")),
            2023,
            "NeurIPS 2023",
            "2305.18399",
        ),
        Paper(
            "meterez2024towards",
            "Towards Training Without Depth Limits: Batch Normalization Without Gradient Explosion",
            (
                ("Meterez", "Alexandru"),
                ("Joudaki", "Amir"),
                ("Orabona", "Francesco"),
                ("Immer", "Alexander"),
                ("Rätsch", "Gunnar"),
                ("Daneshmand", "Hadi"),
            ),
            2024,
            "ICLR 2024",
            "2310.02012",
        ),  # fmt: skip
    )
}
