"""How ``kamsync preview`` looks: what to paste where on start, one line per save, the end, and the simulation URL
of ``--remote``. With ``--json`` the local preview writes one line of JSON per value on stdout, the first holding
the URLs; ``--remote`` writes push's JSON document with the simulation URL in it."""

from __future__ import annotations

import json

import click

from kamsync.core.errors import Exit
from kamsync.core.preview import PreviewSaved, PreviewStarted, PreviewStopped, RemoteReport
from kamsync.ui.console import Console
from kamsync.ui.push import plan_json
from kamsync.ui.show import renders, show

__all__ = ["emit_line"]


def emit_line(console: Console, payload: object) -> None:
    """One JSON object on one stdout line (``--json``), flushed at once: a program reads it as it comes."""
    if console.json_mode:
        click.echo(json.dumps(payload, separators=(",", ":")))


@renders(PreviewStarted)
def _started(console: Console, started: PreviewStarted) -> None:
    urls = started.urls
    emit_line(console, dict(urls))
    console.out(f"kamsync preview: {started.what}, served on 127.0.0.1 from these files (no request to Kameleoon):")
    for path in started.files:
        console.out(f"  {path}")
    console.out("")
    console.out("Pages without a strict Content-Security-Policy: bookmark this and click it there (on an https page it")
    console.out("opens a small preview window: keep it open),")
    console.out(f"  {urls['bookmarklet']}")
    console.out("or paste this into the browser's console:")
    console.out(f"  {started.snippet}")
    console.out("")
    console.out("Pages with a strict Content-Security-Policy: open this URL to install the userscript")
    console.out("(Tampermonkey or Violentmonkey):")
    console.out(f"  {urls['userscript']}")
    if not started.matched:
        console.out("then open the page with #kamsync-preview at the end of its URL (--match PATTERN runs it without).")
    console.out("")
    console.out("Every save updates the page. Ctrl-C stops.")


@renders(PreviewSaved)
def _saved(console: Console, saved: PreviewSaved) -> None:
    emit_line(console, {"version": saved.version, "changed": list(saved.changed)})
    console.info(f"saved: {', '.join(saved.changed)} (version {saved.version}) sent to the open pages")


@renders(PreviewStopped)
def _stopped(console: Console, _stopped: PreviewStopped) -> None:
    console.summary("preview stopped")


@renders(RemoteReport)
def _remote(console: Console, report: RemoteReport) -> None:
    if console.json_mode:  # one document: push's, with the simulation URL
        console.emit_json({**plan_json(report.push), "simulation": report.simulation})
        return
    show(console, report.push)
    if report.simulation is not None and report.code == Exit.OK:
        console.out(f"open this URL to simulate {report.variation} with the code Kameleoon now holds:")
        console.out(f"  {report.simulation}")
