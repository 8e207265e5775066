"""The cost of sealed answers (issue 10, part B), in-process, beside baselines in the same run.

* one answer sealed by the provider and opened by the requester with the suite in use
  (ML-KEM-768 + X25519 hybrid HPKE) against classic X25519 HPKE, and against what the hub did
  before (AES-256-GCM under its own key, encrypt and decrypt);
* a 500-item batch answer sealed once (ProvideBatch) against 500 single seals.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from bench.table import Row
from mynumber_core.keyring import FieldCipher, Keyring
from mynumber_core.sealing import (
    KEYSET,
    DomainKeys,
    answer_context,
    batch_context,
    params_digest,
    seal_json,
)

ANSWER = {
    "year": 2025,
    "total_income": 4_321_000,
    "taxable_income": 2_880_000,
    "employment_income": 4_000_000,
    "business_income": 321_000,
    "social_insurance": 610_000,
    "assessed": True,
}


def _per_second(op: Callable[[int], object], n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        op(i)
    return n / (time.perf_counter() - start)


def rows(scale: float) -> list[Row]:
    """Seal + open per answer, and batch sealing, with their baselines."""
    n = max(200, int(3_000 * scale))
    keys = DomainKeys(Keyring.generate(["data", KEYSET]), "pension")
    public = keys.public_key()
    context = answer_context(
        request_id="bench-1",
        requester="pension",
        provider="tax",
        item="income",
        procedure="pension.exemption",
        params={"year": 2025},
    )

    def hybrid(i: int) -> object:
        return keys.open_json(seal_json(public, ANSWER, context), context)

    classic_suite = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
    classic_key = x25519.X25519PrivateKey.generate()
    classic_public = classic_key.public_key()

    def classic(i: int) -> object:
        raw = json.dumps(ANSWER, sort_keys=True).encode()
        sealed = classic_suite.encrypt(raw, classic_public, info=context)
        return json.loads(classic_suite.decrypt(sealed, classic_key, info=context))

    cipher = FieldCipher(Keyring.generate(["data"]))

    def hub_key(i: int) -> object:
        stored = cipher.encrypt(json.dumps(ANSWER, sort_keys=True), "log_entries.result")
        return json.loads(cipher.decrypt(stored, "log_entries.result"))

    hybrid_rate = _per_second(hybrid, n)
    classic_rate = _per_second(classic, n)
    hub_rate = _per_second(hub_key, n)

    batch_size = 500
    members = [
        (f"r{k}", "income", "disaster.victim_support", params_digest({"year": 2025}))
        for k in range(batch_size)
    ]
    batch_ctx = batch_context(requester="municipality", provider="tax", members=members)
    batches = max(3, int(20 * scale))
    answers = {"answers": [ANSWER] * batch_size}
    start = time.perf_counter()
    for _ in range(batches):
        keys.open_json(seal_json(public, answers, batch_ctx), batch_ctx)
    batch_items_rate = batches * batch_size / (time.perf_counter() - start)
    return [
        Row(
            "sealed answer: seal + open (ML-KEM-768+X25519)",
            hybrid_rate,
            classic_rate,
            "answers/s",
            "X25519-only HPKE seal + open",
        ),
        Row(
            "sealed answer: seal + open (ML-KEM-768+X25519)",
            hybrid_rate,
            hub_rate,
            "answers/s",
            "before: AES-256-GCM under the hub's key, encrypt + decrypt",
        ),
        Row(
            "batch answer sealed once (500 items)",
            batch_items_rate,
            hybrid_rate,
            "items/s",
            "one seal + open per item",
        ),
    ]


if __name__ == "__main__":  # pragma: no cover - manual run
    from bench.table import render

    print(render(rows(float(os.environ.get("BENCH_SCALE", "1")))))
