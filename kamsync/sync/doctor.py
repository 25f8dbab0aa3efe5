"""``kamsync doctor``: what a support request would ask for, each checked for real and said in one line.

Sends at most one request: a token request, which shows both that the API answers and that it accepts the
credentials. Every other check reads this machine only.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from kamsync import __version__
from kamsync.api.settings import CLIENT_ID_VAR, CLIENT_SECRET_VAR, resolve_api_url
from kamsync.budget.backend import reading_ledger
from kamsync.budget.ledger import default_state_dir
from kamsync.budget.ledgerurl import LEDGER_URL_ENV
from kamsync.budget.quota import quota_report
from kamsync.budget.windows import parse_rate_limit
from kamsync.core.checks import Check, failed
from kamsync.core.errors import AuthError, Exit, KamsyncError, LedgerUnavailable
from kamsync.core.reports import DoctorReport
from kamsync.git.repo import GitRepo, git_version
from kamsync.git.workspace import Workspace
from kamsync.sync.options import Options
from kamsync.sync.report import Report
from kamsync.sync.session import rate_limit_spec, running

__all__ = ["HookState", "diagnose", "run_doctor"]

# Where git looks for the pre-push hook, and how kamsync's hook there is set (None: none of kamsync's). Given by
# the caller: the hook layer sits above this one.
HookState = Callable[[GitRepo], tuple[Path, str | None]]


def run_doctor(opts: Options, report: Report, hook_state: HookState) -> DoctorReport:
    checks = diagnose(opts, report, opts.environ, Path.cwd(), hook_state)
    return DoctorReport(checks, int(Exit.USAGE) if failed(checks) else int(Exit.OK))


def diagnose(
    opts: Options, report: Report, environ: Mapping[str, str], cwd: Path, hook_state: HookState
) -> tuple[Check, ...]:
    ws, manifest = _manifest(opts, environ, cwd)
    rate_limit = ws.manifest.rate_limit if ws is not None else None
    return (
        Check("platform", True, f"{platform.platform()}, Python {sys.version.split()[0]}, kamsync {__version__}"),
        _git(),
        manifest,
        _hook(cwd, hook_state),
        *_api(opts, report, environ, rate_limit),
        _ledger(opts, environ, rate_limit),
    )


def _git() -> Check:
    try:
        return Check("git", True, git_version())
    except KamsyncError as error:
        return Check("git", False, str(error))


def _manifest(opts: Options, environ: Mapping[str, str], cwd: Path) -> tuple[Workspace | None, Check]:
    try:
        ws = Workspace.open(opts.manifest, environ, cwd)
    except KamsyncError as error:
        return None, Check("manifest", False, str(error))
    experiments = len(ws.manifest.experiments)
    where = os.path.relpath(ws.root / "kamsync.yaml", cwd) if ws.root.is_relative_to(ws.repo.top) else ws.root
    others = len(ws.manifest.personalizations)
    also = f", {others} personalization(s)" if others else ""
    site = f", the script of site {ws.manifest.site.code}" if ws.manifest.site is not None else ""
    detail = f"{where} is valid: {experiments} experiment(s){also}{site}, {len(ws.manifest.files())} field(s) mapped"
    return ws, Check("manifest", True, detail)


def _hook(cwd: Path, hook_state: HookState) -> Check:
    try:
        path, settings = hook_state(GitRepo.discover(cwd))
    except KamsyncError as error:
        return Check("hook", False, str(error))
    if settings is None:
        other = " (another tool's pre-push hook is there)" if os.path.lexists(path) else ""
        return Check("hook", True, f"no kamsync pre-push hook{other}; `kamsync hook install` adds one (optional)")
    return Check("hook", True, f"installed in {path}: {settings}")


def _api(opts: Options, report: Report, environ: Mapping[str, str], rate_limit: str | None) -> tuple[Check, ...]:
    """Credentials found, the API answering, the credentials accepted: one token request tells the last two."""
    untried = "not tried", "fix the line above, then run `kamsync doctor` again"
    try:
        url = resolve_api_url(opts.api_url, environ)
        credentials = opts.credentials()
    except KamsyncError as error:
        return Check("credentials found", False, str(error)), Check("API", False, *untried), _accepted(None)
    detail = f"{CLIENT_ID_VAR}={credentials.client_id}, {CLIENT_SECRET_VAR} set"
    found = Check("credentials found", True, credentials.described if credentials.is_login else detail)
    try:
        with running(opts, rate_limit, report) as run:
            run.client.request_token()
    except AuthError as error:
        return found, Check("API", True, f"{url} answers"), _accepted(error)
    except KamsyncError as error:
        return found, Check("API", False, str(error)), Check("credentials accepted", False, *untried)
    return found, Check("API", True, f"{url} answers"), _accepted(True)


def _accepted(outcome: AuthError | bool | None) -> Check:
    if outcome is True:
        return Check("credentials accepted", True, "Kameleoon issued a token")
    if outcome is None:
        return Check("credentials accepted", False, "not tried", "set the credentials, then run `kamsync doctor` again")
    return Check("credentials accepted", False, str(outcome))


def _ledger(opts: Options, environ: Mapping[str, str], rate_limit: str | None) -> Check:
    client_id = opts.client_id
    try:
        url = resolve_api_url(opts.api_url, environ).rstrip("/")
        windows = parse_rate_limit(rate_limit_spec(opts, rate_limit))
    except KamsyncError as error:
        return Check("rate budget", False, str(error))
    if not client_id:
        return Check("rate budget", False, "not read: it is kept per API client", f"set {CLIENT_ID_VAR}")
    try:
        ledger = reading_ledger(opts.ledger_location(), url, client_id, windows, state_dir=default_state_dir())
    except LedgerUnavailable as error:
        return Check("rate budget", False, error.problem, f"fix {LEDGER_URL_ENV}, or start that Redis server")
    except KamsyncError as error:
        return Check("rate budget", False, str(error))
    try:
        view = ledger.view()
    finally:
        ledger.close()
    report = quota_report(view.arrivals, windows, view.now, not_before=view.not_before)
    used = ", ".join(f"{w.spec} {w.used} used, {w.left} left" for w in report.windows)
    if ledger.kind == "redis":
        used = f"{used} (shared through {ledger.where})"
    if report.not_before_in is not None:
        wait = f"{used}; Kameleoon asked to wait {report.not_before_in:.0f} s more ({view.reason})"
        return Check("rate budget", False, wait, "wait, or forget that wait with `kamsync quota --reset`")
    return Check("rate budget", True, used)
