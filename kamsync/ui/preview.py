"""What ``kamsync preview`` prints: what to paste where on start, one line per save, and the simulation URL of
``--remote``. With ``--json`` each is one line of JSON on stdout, the first one holding the URLs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import click

from kamsync.ui.console import Console

__all__ = ["emit_line", "show_in_sync", "show_saved", "show_simulation", "show_start", "show_stopped"]


def emit_line(console: Console, payload: object) -> None:
    """One JSON object on one stdout line (``--json``), flushed at once: a program reads it as it comes."""
    if console.json_mode:
        click.echo(json.dumps(payload, separators=(",", ":")))


def show_start(
    console: Console,
    urls: Mapping[str, str],
    *,
    what: str,
    snippet: str,
    files: Sequence[str],
    matched: bool,
) -> None:
    emit_line(console, dict(urls))
    console.out(f"kamsync preview: {what}, served on 127.0.0.1 from these files (no request to Kameleoon):")
    for path in files:
        console.out(f"  {path}")
    console.out("")
    console.out("Pages without a strict Content-Security-Policy: bookmark this and click it there (on an https page it")
    console.out("opens a small preview window: keep it open),")
    console.out(f"  {urls['bookmarklet']}")
    console.out("or paste this into the browser's console:")
    console.out(f"  {snippet}")
    console.out("")
    console.out("Pages with a strict Content-Security-Policy: open this URL to install the userscript")
    console.out("(Tampermonkey or Violentmonkey):")
    console.out(f"  {urls['userscript']}")
    if not matched:
        console.out("then open the page with #kamsync-preview at the end of its URL (--match PATTERN runs it without).")
    console.out("")
    console.out("Every save updates the page. Ctrl-C stops.")


def show_saved(console: Console, version: int, changed: Sequence[str]) -> None:
    emit_line(console, {"version": version, "changed": list(changed)})
    console.info(f"saved: {', '.join(changed)} (version {version}) sent to the open pages")


def show_stopped(console: Console) -> None:
    console.summary("preview stopped")


def show_in_sync(console: Console, payload: dict[str, object]) -> None:
    """``--remote`` found nothing to push: Kameleoon already holds the local code."""
    console.out("nothing to push: Kameleoon holds this variation's local code")
    console.emit_json(payload)


def show_simulation(console: Console, url: str, variation: str) -> None:
    console.out(f"open this URL to simulate {variation} with the code Kameleoon now holds:")
    console.out(f"  {url}")
