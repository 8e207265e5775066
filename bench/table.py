"""The bench table: operation | this project | baseline measured in the same run | ratio."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    operation: str
    project: float
    baseline: float
    unit: str
    baseline_name: str

    @property
    def ratio(self) -> float:
        """project / baseline."""
        return self.project / self.baseline if self.baseline else float("nan")


def render(rows: list[Row]) -> str:
    """A Markdown table, so it pastes into the README and the closing note as is."""
    lines = [
        "| operation | this project | baseline (same run) | ratio |",
        "|---|---:|---|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.operation} | {r.project:,.1f} {r.unit} | {r.baseline:,.1f} {r.unit} "
            f"({r.baseline_name}) | {r.ratio:.3f} |"
        )
    return "\n".join(lines)
