"""A run's report as GitHub Markdown, for the job summary and the pull-request comment (pure).

Remote text renders no markup and notifies nobody: code goes in fences longer than its longest run of
backticks; names, paths and messages are escaped (HTML, Markdown punctuation, table pipes) and their
``@mentions`` and ``#references`` broken with a zero-width joiner. The document stays within a size limit
(bytes for the 1 MiB summary, characters for a comment): past it, diffs are trimmed in the middle, then left
out, and the document says how many of them it shows. Errors and warnings take at most a quarter of it, errors
first, a long one shortened at its end; the document counts those it leaves out (the log shows every one).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from urllib.parse import quote

from kamsync.core.runreport import FieldRow, RunReport
from kamsync.ui.console import visible

__all__ = [
    "COMMENT_LIMIT",
    "SUMMARY_LIMIT",
    "code_span",
    "comment_marker",
    "document",
    "fence",
    "html_text",
    "inline",
    "trim_middle",
    "utf8_size",
]

SUMMARY_LIMIT = 1024 * 1024  # GitHub drops a step summary over 1 MiB
COMMENT_LIMIT = 60_000  # characters; GitHub refuses comments over 65,536
_NOTE_ROOM = 400  # kept free for the line saying what was left out
_MIN_SECTION = 1_200  # a diff trimmed below this shows too little to be worth its place
_NOTE_SHARE = 4  # errors and warnings take at most a quarter of the document: the table and diffs keep the rest
_NOTE_CAP_SHARE = 4  # and one note at most a quarter of that, so a single message cannot crowd out the others
_LEFT_OUT_ROOM = 200  # kept free among the notes for the line saying how many were left out
_SHORTEST_NOTE = 40  # characters of a message still worth showing shortened; below, it is left out and counted

Measure = Callable[[str], int]

_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+!|~<>&\"'=:-])")
_MENTION = re.compile(r"([@#])(?=\w)")


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def _quiet(text: str) -> str:
    """One line, controls made visible, every mention and reference broken by a zero-width joiner."""
    return _MENTION.sub(lambda m: m[1] + "\u200d", " ".join(visible(text).split()))


def inline(text: str) -> str:
    """Untrusted text for a table cell, a heading or a sentence: one line, no markup, no mention."""
    return _PUNCTUATION.sub(lambda m: html.escape(m[1], quote=True) if m[1] in "<>&\"'" else "\\" + m[1], _quiet(text))


def html_text(text: str) -> str:
    """Untrusted text inside an HTML element (where Markdown escapes would show): one line, entities, no
    mention."""
    return html.escape(_quiet(text), quote=True)


def code_span(text: str) -> str:
    """Untrusted text as inline code (a path, a state): delimited by more backticks than it holds in a row;
    its pipes escaped, as GitHub's tables require even inside code."""
    quiet = " ".join(visible(text).split()).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", quiet)), default=0)
    ticks = "`" * (longest + 1)
    return f"{ticks} {quiet} {ticks}"


def fence(code: str, info: str = "") -> str:
    """``code`` as a fenced block that nothing in it can close: more backticks than its longest run."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{visible(code)}\n{ticks}"


def comment_marker(kind: str, manifest: str) -> str:
    """The hidden line that finds kamsync's comment (or pull request) again: ``kind`` and the manifest."""
    return f"<!-- kamsync:{kind} manifest={quote(manifest, safe='/._')} -->"


def trim_middle(text: str, room: int, measure: Measure = len) -> tuple[str, bool]:
    """``text`` within ``room``, keeping its first and last lines and saying how many in between are left out."""
    if measure(text) <= room:
        return text, False
    lines = text.split("\n")
    head: list[str] = []
    tail: list[str] = []
    used = 60  # the note below
    front, back = 0, len(lines) - 1
    while front <= back:
        take_front = len(head) <= len(tail)
        line = lines[front] if take_front else lines[back]
        if used + measure(line) + 1 > room:
            break
        used += measure(line) + 1
        if take_front:
            head.append(line)
            front += 1
        else:
            tail.append(line)
            back -= 1
    hidden = back - front + 1
    note = f"… {hidden:,} line(s) not shown here …"
    return "\n".join([*head, note, *reversed(tail)]), True


_STATE_WORDS = {"conflict": "conflict", "remote-changed": "edited in Kameleoon", "remote-ahead": "newer in Kameleoon"}


def _entity(entity_id: int | None, name: str | None) -> str:
    if entity_id is None:
        return "—"
    return f"{entity_id} {inline(name)}" if name else str(entity_id)


def _row(row: FieldRow) -> str:
    refused = f"**refused**: {inline(row.refused)}" if row.refused else (inline(row.outcome or "") or "—")
    if row.refused and row.fix:
        refused += f"<br>way out: {inline(row.fix)}"
    cells = [
        _entity(row.experiment_id, row.experiment_name),
        _entity(row.variation_id, row.variation_name),
        f"`{row.field}`<br>{code_span(row.file)}",
        code_span(row.state),
        f"+{row.added} -{row.removed}",
        "**live**" if row.live else "no",
        refused,
    ]
    return "| " + " | ".join(cells) + " |"


_TABLE_HEAD = "| experiment | variation | field | state | lines | live | refused |\n|---|---|---|---|---|---|---|\n"


def _heading(report: RunReport) -> str:
    what = {"plan": "plan", "push": "push", "status": "status", "drift": "drift check"}.get(report.command, "run")
    counts = f"**{report.changes}** field(s) differ, **{report.refused}** refused"
    if report.conflicts:
        counts += f" ({report.conflicts} conflict(s))"
    if report.command == "drift":
        counts += f", **{report.drifted}** drifted"
    return f"### kamsync {what}: {code_span(report.manifest)}\n\n{counts}\n\n"


def _notes(report: RunReport, room: int, measure: Measure) -> str:
    """What the run says besides its fields, within ``room``: kamsync's own lines (Kameleoon not read, the drift
    pull request, the saved plan), then errors, then warnings, as many as fit, each shortened past a share of
    ``room`` so that one message cannot crowd out the rest; one line says how many were left out."""
    left = room - _LEFT_OUT_ROOM
    cap = max(_SHORTEST_NOTE, left // _NOTE_CAP_SHARE)
    own: list[str | None] = []
    for prefix, text, suffix, render in _own_notes(report):
        line = _note(prefix, text, suffix, min(cap, left), measure, render)
        own.append(line)
        left -= measure(line) + 1 if line else 0  # a paragraph each: a blank line after it
    said = [("> **error**: ", p.message) for p in report.problems] + [("> warning: ", w) for w in report.warnings]
    shown: list[str] = []
    for prefix, text in said:
        said_line = _note(prefix, text, "\n", min(cap, left), measure)
        if said_line is None:
            break  # in order, errors first: nothing after a note that does not fit is shown
        shown.append(said_line)
        left -= measure(said_line) + 1
    errors = min(len(shown), len(report.problems))
    left_out = _left_out(len(report.problems) - errors, len(report.warnings) - (len(shown) - errors))
    text = "\n".join(p for p in (own[0], *shown, left_out, *own[1:]) if p)
    return text + "\n" if text else ""


def _own_notes(report: RunReport) -> list[tuple[str, str, str, Callable[[str], str]]]:
    """kamsync's own notes, as ``_note`` takes them (any may be absent: an empty text)."""
    plan = ("The plan is saved as ", report.plan_path or "", " (`kamsync apply` sends exactly it).\n", code_span)
    return [
        ("> **Kameleoon was not read**: ", report.not_read or "", "\n", inline),
        ("Pull request with the edits made in Kameleoon: ", report.pull_request or "", "\n", _link),
        plan,
    ]


def _left_out(errors: int, warnings: int) -> str | None:
    counts = [f"{n:,} more {kind}(s)" for n, kind in ((errors, "error"), (warnings, "warning")) if n]
    if not counts:
        return None
    return f"> _{' and '.join(counts)} left out here to fit the size limit; the job log lists them all._\n"


def _note(
    prefix: str, text: str, suffix: str, room: int, measure: Measure, render: Callable[[str], str] = inline
) -> str | None:
    """``text`` rendered between ``prefix`` and ``suffix`` within ``room``, shortened at its end when it must be;
    ``None`` when it is empty or not even its start fits."""
    if not text or room <= 0:
        return None
    folded = " ".join(visible(text).split())  # as every renderer folds it: the same text, measurable by length
    if len(folded) <= room:
        whole = prefix + render(folded) + suffix
        if measure(whole) <= room:
            return whole
    # Each character left renders to at least one unit, so more than ``room`` of them can never fit.
    folded = folded[:room]

    def cut(keep: int) -> str:
        return prefix + render(folded[:keep] + "…") + suffix

    low, high = _SHORTEST_NOTE, len(folded) - 1
    if high < low or measure(cut(low)) > room:
        return None
    while low < high:  # the longest start that fits: ``low`` always does
        middle = (low + high + 1) // 2
        low, high = (middle, high) if measure(cut(middle)) <= room else (low, middle - 1)
    return cut(low)


def _link(url: str) -> str:
    """A URL GitHub gave (a pull request's): linked when it is a plain https URL, else shown inert."""
    return f"<{url}>" if re.fullmatch(r"https://[\w.-]+/[\w./%-]*", url) else inline(url)


def _cost(report: RunReport) -> str:
    line = f"Requests: **{report.requests}** used by this run"
    if report.hour_used is not None and report.hour_limit is not None:
        line += f"; {report.hour_used} of {report.hour_limit} in the last {report.hour_window} for this credential"
    return line + ".\n\n"


def _section(row: FieldRow, diff: str) -> str:
    title = html_text(f"{row.file} ({row.state})")
    return f"<details><summary>{title}</summary>\n\n{fence(diff, 'diff')}\n\n</details>\n\n"


def document(report: RunReport, *, limit: int, measure: Measure = len, marker: str = "") -> str:
    """The report within ``limit``: heading, notes, the table, the request cost, then each diff collapsed."""
    intro = (marker + "\n" if marker else "") + _heading(report)
    top = intro + _notes(report, (limit - measure(intro)) // _NOTE_SHARE, measure)
    rows = list(report.rows)
    table, shown_rows = _table(rows, (limit - measure(top)) // 2, measure)
    head = top + table + _cost(report)
    if shown_rows < len(rows):
        head += f"_{shown_rows} of {len(rows)} fields shown in the table._\n\n"
    with_diff = [r for r in rows if r.diff]
    sections, shown, trimmed = _sections(with_diff, limit - measure(head) - _NOTE_ROOM, measure)
    note = ""
    if shown < len(with_diff) or trimmed:
        note = f"_{shown} of {len(with_diff)} diffs shown"
        note += f"; {trimmed} trimmed in the middle to fit the size limit._\n" if trimmed else "._\n"
    return head + "".join(sections) + note


def _table(rows: Sequence[FieldRow], room: int, measure: Measure) -> tuple[str, int]:
    if not rows:
        return "", 0
    text, used = _TABLE_HEAD, measure(_TABLE_HEAD)
    shown = 0
    for row in rows:
        line = _row(row) + "\n"
        if used + measure(line) > room:
            break
        text, used, shown = text + line, used + measure(line), shown + 1
    return text + "\n", shown


def _sections(rows: Sequence[FieldRow], room: int, measure: Measure) -> tuple[list[str], int, int]:
    """The diff sections that fit in ``room``: all in full if they can; else each trimmed to an equal share,
    and only as many as can keep a useful share."""
    full = [_section(r, r.diff) for r in rows]
    if sum(measure(s) for s in full) <= room or not rows:
        return full, len(full), 0
    count = min(len(rows), max(0, room // _MIN_SECTION))
    share = room // count if count else 0
    while count:
        sections, trimmed = [], 0
        for row, whole in zip(rows[:count], full, strict=False):
            if measure(whole) <= share:
                sections.append(whole)
                continue
            overhead = measure(_section(row, "")) + 8
            cut, _ = trim_middle(row.diff, share - overhead, measure)
            sections.append(_section(row, cut))
            trimmed += 1
        if sum(measure(s) for s in sections) <= room:
            return sections, count, trimmed
        smaller = share * 9 // 10
        if smaller <= _MIN_SECTION // 2:  # sections this small say nothing (and shrinking could go on forever)
            count -= 1
            smaller = room // count if count else 0
        share = smaller
    return [], 0, 0
