"""The launcher's port picks never repeat within a process: a picked port stays free only
until its service binds it, so a second pick of the same port would give two services one
port (seen as a gateway's HTTP port answered by another process's gRPC server)."""

from __future__ import annotations

from mynumber_dev.platform import ephemeral_port_range, pick_port


def test_picks_never_repeat_even_when_the_port_is_still_free() -> None:
    picked = [pick_port(None) for _ in range(300)]
    assert len(set(picked)) == len(picked)
    # A preferred port already handed out is not handed out again, though nothing bound it.
    assert pick_port(picked[0]) != picked[0]


def test_picks_stay_below_theephemeral_port_range() -> None:
    """Outgoing connections take their local ports from the kernel's ephemeral range, so a
    port picked there could be taken before its service binds it."""
    low, high = ephemeral_port_range()
    for _ in range(200):
        port = pick_port(None)
        assert not low <= port <= high
        assert 1024 < port <= 65_535
