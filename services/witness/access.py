"""Deny-by-default mTLS table of the witness.

The registry submits checkpoints; the operator (an auditor's monitor) may too, as tlog-witness
allows monitors to. Anyone on the platform may read the witness's public key.
"""

from __future__ import annotations

from mynumber.witness.v1 import witness_pb2

from mynumber_core.interceptors import ANY_PEER, AccessTable

SERVICE_NAME = witness_pb2.DESCRIPTOR.services_by_name["Witness"].full_name

ACCESS: AccessTable = {
    f"/{SERVICE_NAME}/AddCheckpoint": frozenset({"registry", "operator"}),
    f"/{SERVICE_NAME}/GetWitnessKey": frozenset({ANY_PEER}),
}
