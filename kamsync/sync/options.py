"""The options every command shares, as given on the command line (a light module: the CLI imports it early)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Options:
    manifest: str | None
    api_url: str | None
    json: bool
    no_color: bool
    wait: bool = False
    max_requests: int | None = None
    from_rev: str | None = None  # --from: only mapped files changed since this commit
    to_rev: str | None = None  # --to: read files, manifest and history at this commit
    verbose: bool = False  # -v: each request on stderr
    quiet: bool = False  # -q: only errors and the final summary

    @property
    def ranged(self) -> bool:
        return self.from_rev is not None or self.to_rev is not None
