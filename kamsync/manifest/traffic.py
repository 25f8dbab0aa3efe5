"""The ``traffic:`` key of an experiment entry: the split a variation creation sets, checked before anything
is sent — a share for ``origin`` and for each variation's ``dir``, every one of them, summing to 1."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kamsync.core.errors import ManifestError
from kamsync.manifest.nodes import YamlMap, key_line

ORIGIN = "origin"
TOLERANCE = 1e-6

Fail = Callable[[int | None, str], ManifestError]


def check_traffic(
    node: YamlMap, label: str, line: int, dirs: Sequence[str], fail: Fail
) -> tuple[tuple[str, float], ...]:
    """``node['traffic']`` as ``(key, share)`` pairs in the order of ``origin`` then ``dirs``."""
    traffic_line = key_line(node, "traffic", line)
    raw = node["traffic"]
    wanted = (ORIGIN, *dirs)
    example = ", ".join(f"{key}: {round(1 / len(wanted), 2)}" for key in wanted)
    if not isinstance(raw, YamlMap):
        raise fail(traffic_line, f"'traffic' of {label} must be a mapping like `{{{example}}}`")
    shares: dict[str, float] = {}
    for key, value in raw.items():
        key_text = str(key)
        where = key_line(raw, key, traffic_line)
        if key_text not in wanted:
            raise fail(
                where,
                f"'traffic' of {label} names {key_text!r}, which is neither 'origin' nor the dir of one of its "
                f"variations ({', '.join(dirs) or 'none'})",
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise fail(where, f"the share of {key_text!r} in 'traffic' of {label} must be a number from 0 to 1")
        shares[key_text] = float(value)
    missing = [key for key in wanted if key not in shares]
    if missing:
        raise fail(traffic_line, f"'traffic' of {label} has no share for {', '.join(missing)}; give every one")
    total = sum(shares.values())
    if abs(total - 1.0) > TOLERANCE:
        raise fail(traffic_line, f"the shares in 'traffic' of {label} sum to {total:g}; they must sum to 1")
    return tuple((key, shares[key]) for key in wanted)
