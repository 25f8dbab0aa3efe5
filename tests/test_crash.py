"""An unexpected error never shows a traceback: one line names a crash file holding it, scrubbed of every
secret, and kamsync exits 70 (4 stays "failure talking to the API")."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from kamsync.cli.crash import scrub_everywhere
from kamsync.core.errors import Exit, worst
from kamsync.sandbox import Sandbox
from kamsync.state.logins import Login, LoginStore
from tests.conftest import Result

SECRET = "s3cr3t/kam+sync=&ünïcode long"
# The real kamsync entry point, in a process whose socket layer fails in a way kamsync does not expect,
# quoting what it was asked to send (as some stacks do): the token request's body, which carries the secret.
LAUNCHER = """
import socket

real_send = socket.socket.send

def send(self, data, *args):
    if b"client_secret" in bytes(data):
        raise RuntimeError(f"the network stack rejected {bytes(data)!r}")
    return real_send(self, data, *args)

socket.socket.send = send
from kamsync.cli.main import main
main()
"""

# As LAUNCHER, but the stack fails on the first request that carries a token, dumping what it was sent as hex: no
# name such as "refresh_token=" or "Bearer" stands next to a value there, so only knowing the values hides them.
CREDENTIAL_LAUNCHER = """
import socket

real_send = socket.socket.send
sent = []

def send(self, data, *args):
    sent.append(bytes(data))
    if b"bearer " in bytes(data).lower() or b"grant_type=" in bytes(data):
        raise RuntimeError(f"the network stack rejected {b''.join(sent).hex()}")
    return real_send(self, data, *args)

socket.socket.send = send
from kamsync.cli.main import main
main()
"""


def secret_forms(client_id: str) -> set[str]:
    raw = SECRET.encode("utf-8")
    basic = f"{client_id}:{SECRET}".encode()
    return {
        SECRET,
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        json.dumps(SECRET)[1:-1],
        repr(raw)[2:-1],
        raw.hex(),
        base64.b64encode(raw).decode()[:-4],
        base64.b64encode(basic).decode()[:-4],
    }


def forms_of(value: str) -> set[str]:
    raw = value.encode("utf-8")
    return {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1], repr(raw)[2:-1], raw.hex()}


def crashing_kamsync(env: dict[str, str], repo: Path, *args: str, launcher: str = LAUNCHER) -> Result:
    proc = subprocess.run(
        [sys.executable, "-c", launcher, *args],
        cwd=repo,
        env={**env, "KAMELEOON_CLIENT_SECRET": SECRET},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_unexpected_error_prints_one_line_naming_a_scrubbed_crash_file_and_exits_70(env, repo, sandbox):
    result = crashing_kamsync(env, repo, "status")

    assert result.code == 70, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: kamsync failed unexpectedly (RuntimeError: the network stack rejected")
    crashes = Path(env["XDG_STATE_HOME"]) / "kamsync" / "crashes"
    (crash,) = crashes.iterdir()
    assert f"the details are in {crash}: please report it with that file" in line
    report = crash.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in report and "RuntimeError: the network stack rejected" in report
    assert "client_secret=<hidden>" in report, "the secret was in the traceback, and was hidden"
    for form in secret_forms(env["KAMELEOON_CLIENT_ID"]):
        assert form not in report and form not in result.output, form
    assert "Traceback" not in result.output
    if os.name == "posix":
        assert stat.S_IMODE(crash.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("token_left", "where"),
    [(3600.0, "before"), (-1.0, "after")],
    ids=["an-api-call-with-the-stored-token", "the-refresh-of-an-expired-one"],
)
def test_a_crash_hides_the_login_stored_for_an_api_url_given_only_by_the_option(
    env: dict[str, str],
    repo: Path,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    token_left: float,
    where: str,
) -> None:
    for name in ("HOME", "XDG_STATE_HOME", "WIN_PD_OVERRIDE_LOCAL_APPDATA"):
        monkeypatch.setenv(name, env[name])  # find the login store as the kamsync process will
    login = Login(
        "partner-app",
        "partner-s3cret-" + os.urandom(8).hex(),
        "refresh-" + os.urandom(16).hex(),
        "access-" + os.urandom(16).hex(),
        time.time() + token_left,
    )
    LoginStore.open(sandbox.url).save(login)
    # The environment names another API and no client: only --api-url leads to the login, and so to the crash.
    crashing = {k: v for k, v in env.items() if not k.startswith("KAMELEOON_")}
    crashing["KAMELEOON_API_URL"] = "http://127.0.0.1:9"
    command = ["--api-url", sandbox.url, "status"] if where == "before" else ["status", f"--api-url={sandbox.url}"]

    result = crashing_kamsync(crashing, repo, *command, launcher=CREDENTIAL_LAUNCHER)

    assert result.code == 70, result.output
    (crash,) = (Path(env["XDG_STATE_HOME"]) / "kamsync" / "crashes").iterdir()
    report = crash.read_text(encoding="utf-8")
    assert "RuntimeError: the network stack rejected" in report and "<hidden>" in report
    basic = base64.b64encode(f"{login.client_id}:{login.client_secret}".encode()).decode()
    hidden = {basic, basic.encode().hex()}
    for value in (login.client_secret, login.refresh_token, login.access_token):
        hidden |= forms_of(value) | {base64.b64encode(value.encode()).decode()[:-4]}
    for form in hidden:
        assert form not in report and form not in result.output, form


def test_crash_file_goes_to_the_temporary_folder_when_the_state_folder_cannot_be_written(env, repo, sandbox, tmp_path):
    blocker = Path(env["XDG_STATE_HOME"]) / "kamsync" / "crashes"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the crash folder would be\n")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    crashing = {**env, "TMPDIR": str(temporary)}

    result = crashing_kamsync(crashing, repo, "status")

    assert result.code == 70, result.output
    (crash,) = temporary.glob("kamsync-crash-*.txt")
    assert result.stderr.splitlines() == [result.stderr.strip()] and f"the details are in {crash}" in result.stderr
    assert "Traceback (most recent call last)" in crash.read_text(encoding="utf-8")


def test_unexpected_error_with_json_says_so_on_stdout(env, repo, sandbox):
    result = crashing_kamsync(env, repo, "status", "--json")
    assert result.code == 70, result.output
    error = result.json()["error"]
    assert (error["kind"], error["exit_code"]) == ("InternalError", 70)
    assert "crashes" in error["message"] and SECRET not in result.stdout


@pytest.mark.parametrize("shift", [0, 1, 2])
def test_scrubbing_hides_the_secret_inside_longer_encoded_text(shift):
    blob = b"x" * shift + f"user:{SECRET}".encode() + b" and more"
    text = "\n".join(
        [
            base64.b64encode(blob).decode(),
            base64.urlsafe_b64encode(blob).decode(),
            blob.hex(),
            repr(blob),
            quote(blob),
            f"Authorization: Bearer tok.{shift}.abcdefgh",
            f'{{"access_token": "tok-{shift}-abcdefgh"}}',
        ]
    )
    scrubbed = scrub_everywhere(text, {SECRET})
    for pad in range(3):  # the characters only the secret determines, at each alignment
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            assert encode(b"x" * pad + SECRET.encode()).decode()[4:-4] not in scrubbed
    for form in secret_forms("user"):
        assert form not in scrubbed
    assert f"tok.{shift}.abcdefgh" not in scrubbed and f"tok-{shift}-abcdefgh" not in scrubbed


@pytest.mark.parametrize("shift", [0, 1, 2])
def test_scrubbing_hides_a_basic_credential_in_a_hex_dump_of_the_request(shift):
    basic = base64.b64encode(b"u" * shift + f"user:{SECRET}".encode())
    dump = (b"POST /oauth/token HTTP/1.1\r\nAuthorization: Basic " + basic + b"\r\n\r\n").hex()
    scrubbed = scrub_everywhere(dump, {SECRET})
    assert basic[12:-4].hex() not in scrubbed, "the characters only the secret determines, dumped as hex"
    assert "<hidden>" in scrubbed and scrubbed.startswith(b"POST /oauth/token".hex())


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ((Exit.DIFFERENCES, Exit.REFUSED), Exit.REFUSED),
        ((Exit.REFUSED, Exit.API), Exit.API),
        ((Exit.API, Exit.CRASH), Exit.CRASH),
        ((Exit.CRASH, Exit.INTERRUPTED, Exit.API), Exit.INTERRUPTED),
        ((Exit.OK,), Exit.OK),
        ((), Exit.OK),
        ((Exit.DIFFERENCES, Exit.USAGE), Exit.USAGE),  # never lost to OK
        ((Exit.USAGE, Exit.REFUSED), Exit.REFUSED),
    ],
)
def test_exit_code_precedence_is_130_70_4_3_1(codes, expected):
    assert worst(*codes) == expected
