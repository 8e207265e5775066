"""Train the registry's record-linkage model and write ``services/registry/reconcile_model.json``.

The model is trained by Splink's own estimators (u by random sampling, m by expectation
maximisation; no labels) on synthetic residents with Japan-like name variety
(``mynumber_dev.population``) and the orphan records they wrote (``mynumber_dev.orphans``;
nobody real). The file also keeps the share of orphan records a resident
wrote, as the model estimated it (``lambda`` times the number of residents), which the
registry uses as its prior for a batch. Re-run after changing the comparisons::

    .venv/bin/python scripts/train_reconcile_model.py [residents] [orphans]
"""

from __future__ import annotations

import json
import sys

from splink import DuckDBAPI

from mynumber_dev.orphans import make_orphans
from mynumber_dev.population import generate_population
from services.registry import linkage
from services.registry.reconcile import MODEL_PATH


def main(residents_count: int = 20_000, orphans_count: int = 10_000) -> None:
    """Generate, train, write."""
    residents = generate_population(residents_count, seed=4242)
    orphans = make_orphans(residents, orphans_count, seed=4243, population=generate_population)
    orphan_frame, resident_frame, _ = linkage.labelled_frames(residents, orphans)
    model = linkage.train(DuckDBAPI(), orphan_frame, resident_frame)
    share = min(0.99, float(model["probability_two_random_records_match"]) * residents_count)
    doc = {
        "about": "trained by scripts/train_reconcile_model.py on synthetic data "
        "(mynumber_dev.population, mynumber_dev.orphans)",
        "trained_on": {"residents": residents_count, "orphan_records": orphans_count},
        "written_share": share,
        "model": model,
    }
    MODEL_PATH.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {MODEL_PATH} (written share {share:.3f})")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
