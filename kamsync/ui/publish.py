"""Where a ``--format github`` report goes: the log (remote code inert), annotations, the job summary, the
step outputs, the one sticky pull-request comment, and the one drift pull request.

What the runner provides is read from the settings' environment once (``ActionsEnv``); outside Actions, where
none of it is set, the summary and the outputs are printed to the log instead, so the mode can be tried anywhere.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kamsync.api.github import GitHub, GitHubError, own_marked
from kamsync.core.errors import Exit, KamsyncError, worst
from kamsync.core.runreport import Problem, RunReport
from kamsync.ui.actions_console import ActionsConsole
from kamsync.ui.console import visible
from kamsync.ui.github import Annotation, annotation_lines, output_entry
from kamsync.ui.markdown import COMMENT_LIMIT, SUMMARY_LIMIT, comment_marker, document, utf8_size

__all__ = ["ActionsEnv", "PullRequest", "not_read_reason", "publish", "pull_request_of"]

DEFAULT_GITHUB_API = "https://api.github.com"


@dataclass(frozen=True, slots=True)
class PullRequest:
    number: int
    fork: bool  # its head is in another repository: GitHub gives its workflows no secrets


def pull_request_of(event: Mapping[str, Any]) -> PullRequest | None:
    """The pull request of a ``pull_request`` (or ``pull_request_target``) event payload, if it is one."""
    pr = event.get("pull_request")
    if not isinstance(pr, Mapping) or not isinstance(pr.get("number"), int):
        return None

    def repo_of(side: str) -> object:
        part = pr.get(side)
        repo = part.get("repo") if isinstance(part, Mapping) else None
        return repo.get("full_name") if isinstance(repo, Mapping) else None

    return PullRequest(pr["number"], repo_of("head") != repo_of("base"))


@dataclass(frozen=True, slots=True)
class ActionsEnv:
    """What the Actions runner tells a step, from the environment kamsync's settings were built with."""

    output: str | None
    summary: str | None
    api_url: str
    repository: str | None
    token: str
    event: Mapping[str, Any]
    ref_name: str = ""

    @classmethod
    def of(cls, environ: Mapping[str, str]) -> ActionsEnv:
        event: Mapping[str, Any] = {}
        event_path = environ.get("GITHUB_EVENT_PATH")
        if event_path:
            try:
                loaded = json.loads(Path(event_path).read_text(encoding="utf-8"))
                event = loaded if isinstance(loaded, Mapping) else {}
            except (OSError, ValueError):
                event = {}
        return cls(
            environ.get("GITHUB_OUTPUT") or None,
            environ.get("GITHUB_STEP_SUMMARY") or None,
            environ.get("GITHUB_API_URL") or DEFAULT_GITHUB_API,
            environ.get("GITHUB_REPOSITORY") or None,
            environ.get("GITHUB_TOKEN", "").strip(),
            event,
            environ.get("GITHUB_REF_NAME", ""),
        )

    @property
    def pull_request(self) -> PullRequest | None:
        return pull_request_of(self.event)

    @property
    def base_branch(self) -> str:
        """The branch a drift pull request goes into: the repository's default branch."""
        repository = self.event.get("repository")
        default = repository.get("default_branch") if isinstance(repository, Mapping) else None
        return default if isinstance(default, str) and default else self.ref_name or "main"


def not_read_reason(env: ActionsEnv) -> str:
    """Why a plan without credentials did not read Kameleoon."""
    pr = env.pull_request
    if pr is not None and pr.fork:
        return (
            "this pull request comes from a fork, and GitHub gives a fork's workflows no secrets, so the "
            "Kameleoon credentials are empty; the plan runs again once the change is merged"
        )
    return "no Kameleoon credentials were given (pass client-id and client-secret from the workflow's secrets)"


def publish(report: RunReport, console: ActionsConsole, env: ActionsEnv, *, comment: bool) -> int:
    """Write the report everywhere it goes; the exit code, worse when the comment failed for another reason
    than a read-only token."""
    if report.drift_branch is not None:
        report = _with_pull_request(report, console, env)
    _log(report, console)
    _annotate(report, console)
    summary = document(report, limit=SUMMARY_LIMIT, measure=utf8_size)
    outputs = report.outputs()
    if env.summary:
        _append(env.summary, summary + "\n")
    else:
        console.text(summary)
    if env.output:
        delimiter = f"kamsync_{secrets.token_hex(16)}"
        _append(env.output, "".join(output_entry(k, v, delimiter) for k, v in outputs.items()))
    console.text("outputs: " + " ".join(f"{k}={v}" for k, v in outputs.items()))
    code = report.exit_code
    pr = env.pull_request
    if comment and report.command == "plan" and pr is not None:
        code = worst(code, _comment(report, console, env, pr.number))
    console.close()
    return code


def _append(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8", newline="\n") as file:
        file.write(text)


def _log(report: RunReport, console: ActionsConsole) -> None:
    """Every error and warning, then each diff, in the log between stop-commands lines: code from Kameleoon is
    never read as a command. The log has no size limit: notes the summary or comment leave out are all here."""
    for problem in report.problems:
        console.text(visible(f"error: {problem.message}"))
    for warning in report.warnings:
        console.text(visible(f"warning: {warning}"))
    for row in report.rows:
        if row.diff:
            console.text(visible(f"# {row.state}: {row.file} ({row.field})"))
            for line in row.diff.splitlines():
                console.text(visible(line))  # no escape sequence or bidi control reaches the log as itself


def _annotate(report: RunReport, console: ActionsConsole) -> None:
    annotations = [Annotation("error", p.message, "kamsync", p.file, p.line) for p in report.problems]
    annotations += [
        Annotation("error", f"refused: {r.refused}; way out: {r.fix}", f"kamsync: {r.field} refused", r.file, r.line)
        for r in report.rows
        if r.refused is not None
    ]
    lines, left_out = annotation_lines(annotations)
    for line in lines:
        console.command(line)
    for level, count in left_out.items():
        console.text(f"{count} more {level}(s) not annotated (GitHub shows 10 per step): the job summary lists all")


def _comment(report: RunReport, console: ActionsConsole, env: ActionsEnv, number: int) -> int:
    """Create or update the one comment holding this manifest's marker, written by the token's own user."""
    if not env.token or not env.repository:
        console.text("no GitHub token or repository: no pull-request comment")
        return int(Exit.OK)
    marker = comment_marker("plan", report.manifest)
    body = document(replace(report, plan_path=None), limit=COMMENT_LIMIT, marker=marker)
    try:
        with GitHub(env.api_url, env.token, env.repository) as github:
            login = github.login()
            mine = own_marked(github.comments(number), marker, login)
            quiet = not (report.rows or report.problems or report.not_read)
            if mine is None and quiet:
                console.text("the pull request changes no mapped file: no plan comment")
                return int(Exit.OK)
            if mine is None:
                github.create_comment(number, body)
            else:
                github.update_comment(mine.number, body)
    except GitHubError as error:
        if error.status == 403:
            console.command(
                Annotation("notice", f"{error}; the plan is in the job summary", "kamsync: no comment").command()
            )
            return int(Exit.OK)
        console.command(Annotation("error", str(error), "kamsync: comment failed").command())
        return int(Exit.API)
    except KamsyncError as error:  # GITHUB_API_URL unusable: said once, the summary still holds the plan
        console.command(Annotation("error", str(error), "kamsync: comment failed").command())
        return int(error.exit_code)
    console.text(f"{'created' if mine is None else 'updated'} the plan comment on pull request #{number}")
    return int(Exit.OK)


def _with_pull_request(report: RunReport, console: ActionsConsole, env: ActionsEnv) -> RunReport:
    """Open, or update in place, the one pull request of the drift branch, found by its marker."""
    branch = report.drift_branch or ""
    if not env.token or not env.repository:
        problem = Problem(f"--open-pr: no GitHub token or repository to open the pull request of branch {branch}")
        return replace(report, problems=(*report.problems, problem), exit_code=worst(report.exit_code, 2))
    marker = comment_marker("drift", report.manifest)
    body = document(report, limit=COMMENT_LIMIT, marker=marker)
    title = f"kamsync: adopt the edits made in Kameleoon ({report.manifest})"
    owner = env.repository.split("/", 1)[0]
    try:
        with GitHub(env.api_url, env.token, env.repository) as github:
            mine = own_marked(github.open_pulls(owner, branch), marker, github.login())
            if mine is None:
                made = github.create_pull(head=branch, base=env.base_branch, title=title, body=body)
            else:
                made = github.update_pull(mine.number, title=title, body=body)
    except KamsyncError as error:
        return replace(report, problems=(*report.problems, Problem(str(error))), exit_code=worst(report.exit_code, 4))
    url = made.url or branch
    console.text(f"the edits made in Kameleoon are on branch {branch}: {url}")
    return replace(report, pull_request=url)
