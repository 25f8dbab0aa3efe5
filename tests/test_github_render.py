"""The pure parts of ``--format github``: workflow commands, Markdown that renders no markup and notifies nobody,
the size limits, the action's inputs as a command line, and GitHub's pagination and marker rules."""

from __future__ import annotations

import re

import pytest
import yaml

from kamsync.api.github import WORKFLOW_TOKEN_USER, Item, check_api_url, next_link, own_marked
from kamsync.cli.action import ActionInputError, action_args
from kamsync.core.errors import UsageError
from kamsync.core.runreport import FieldRow, Problem, RunReport, diff_counts
from kamsync.ui.actions_console import ActionsConsole
from kamsync.ui.github import Annotation, annotation_lines, escape_data, escape_property, output_entry
from kamsync.ui.markdown import (
    COMMENT_LIMIT,
    SUMMARY_LIMIT,
    code_span,
    comment_marker,
    document,
    fence,
    html_text,
    inline,
    trim_middle,
    utf8_size,
)
from kamsync.ui.publish import ActionsEnv, not_read_reason, pull_request_of
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("text", "data", "prop"),
    [
        ("plain", "plain", "plain"),
        ("50% done", "50%25 done", "50%25 done"),
        ("two\nlines\r", "two%0Alines%0D", "two%0Alines%0D"),
        ("a:b,c", "a:b,c", "a%3Ab%2Cc"),
        ("::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"),
    ],
)
def test_command_data_and_properties_are_escaped_as_the_runner_unescapes_them(text, data, prop):
    assert escape_data(text) == data
    assert escape_property(text) == prop


@pytest.mark.parametrize(
    ("annotation", "line"),
    [
        (Annotation("error", "boom"), "::error::boom"),
        (Annotation("error", "a\n::warning::b", "t"), "::error title=t::a%0A::warning::b"),
        (Annotation("warning", "w", None, "a,b.js", 3), "::warning file=a%2Cb.js,line=3::w"),
        (Annotation("notice", "n", "x:y", None, 3), "::notice title=x%3Ay::n"),
    ],
)
def test_an_annotation_is_one_command_line_whatever_its_message_holds(annotation, line):
    assert annotation.command() == line


def test_at_most_ten_annotations_of_each_level_are_sent_and_the_rest_counted():
    many = [Annotation("error", f"e{i}") for i in range(13)] + [Annotation("warning", f"w{i}") for i in range(4)]
    lines, left_out = annotation_lines(many)
    assert [line for line in lines if line.startswith("::error")] == [f"::error::e{i}" for i in range(10)]
    assert len([line for line in lines if line.startswith("::warning")]) == 4
    assert left_out == {"error": 3}


def test_an_output_of_several_lines_uses_a_heredoc_that_its_value_cannot_end():
    assert output_entry("changes", "3", "EOF_x") == "changes=3\n"
    assert output_entry("plan", "a\nb", "EOF_x") == "plan<<EOF_x\na\nb\nEOF_x\n"
    with pytest.raises(ValueError, match="delimiter"):
        output_entry("plan", "a\nEOF_x\nb", "EOF_x")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Red button", "Red button"),
        ("@octocat", "@\u200doctocat"),
        ("fixes #12", "fixes \\#\u200d12"),
        ("</details><img src=x>", "&lt;/details&gt;&lt;img src\\=x&gt;"),
        ("a | b", "a \\| b"),
        ("**bold** [link](http://x)", "\\*\\*bold\\*\\* \\[link\\]\\(http\\://x\\)"),
        ("two\nlines", "two lines"),
        ("esc\x1b[8m", "esc\\\\x1b\\[8m"),
        ("mail@example.com", "mail@\u200dexample.com"),
    ],
)
def test_untrusted_text_renders_no_markup_and_mentions_nobody(text, shown):
    assert inline(text) == shown


def test_html_text_and_code_spans_keep_untrusted_text_literal():
    assert html_text("<b>@bob</b>") == "&lt;b&gt;@\u200dbob&lt;/b&gt;"
    assert code_span("a/b.js") == "` a/b.js `"
    assert code_span("x``y|z") == "``` x``y\\|z ```"


@pytest.mark.parametrize(("code", "ticks"), [("x", 3), ("a ``` b", 4), ("`````", 6), ("~~~", 3)])
def test_a_fence_is_longer_than_the_longest_run_of_backticks_in_its_code(code, ticks):
    fenced = fence(code, "diff")
    assert fenced.startswith("`" * ticks + "diff\n") and fenced.endswith("\n" + "`" * ticks)
    assert not fenced.startswith("`" * (ticks + 1))


def test_trimming_keeps_both_ends_and_says_how_much_is_left_out():
    text = "\n".join(f"line {i}" for i in range(1000))
    cut, trimmed = trim_middle(text, 300)
    assert trimmed and len(cut) <= 300
    assert cut.startswith("line 0\nline 1") and cut.endswith("line 999")
    hidden = int(cut.split("… ")[1].split(" ")[0].replace(",", ""))
    assert hidden + cut.count("\n") == 1000
    assert trim_middle("short", 300) == ("short", False)


def test_the_marker_names_the_manifest_and_cannot_close_early():
    assert comment_marker("plan", "web/kamsync.yaml") == "<!-- kamsync:plan manifest=web/kamsync.yaml -->"
    assert "-->" not in comment_marker("plan", "x --> y.yaml").removesuffix(" -->")


def _row(i: int, diff_lines: int = 0, **kw: object) -> FieldRow:
    diff = "--- a\n+++ b\n@@ -1 +1 @@\n" + "".join(f"+added {i} {n}\n" for n in range(diff_lines))
    fields: dict[str, object] = {
        "file": f"exp/{i}.js",
        "experiment_id": 100,
        "experiment_name": "Hero",
        "variation_id": i,
        "variation_name": f"V{i}",
        "field": "jsCode",
        "state": "local-changed",
        "live": False,
        "diff": diff if diff_lines else "",
    }
    fields.update(kw)
    return FieldRow(**fields)  # type: ignore[arg-type]


def test_a_report_counts_changes_refusals_conflicts_and_drift():
    rows = (
        _row(1),
        _row(2, state="conflict", refused="both moved"),
        _row(3, state="remote-changed", refused="ui edit"),
        _row(4, state="remote-ahead"),
        _row(5, state="in-sync", refused="live"),
    )
    report = RunReport("plan", "kamsync.yaml", rows, requests=4, plan_path="/tmp/p.json")
    assert report.outputs() == {
        "changes": "4",
        "refused": "3",
        "conflicts": "1",
        "requests": "4",
        "drifted": "3",
        "plan": "/tmp/p.json",
    }
    assert diff_counts("--- a\n+++ b\n@@ -1,2 +1,2 @@\n-x\n+y\n++z\n ctx\n---w\n") == (2, 2)


def test_many_fields_and_long_diffs_stay_within_each_limit_and_say_what_is_shown():
    rows = tuple(_row(i, 400) for i in range(300))
    report = RunReport("plan", "kamsync.yaml", rows, problems=(Problem("boom @bob"),), warnings=("shallow",))
    for limit, measure in ((SUMMARY_LIMIT, utf8_size), (COMMENT_LIMIT, len)):
        text = document(report, limit=limit, measure=measure, marker="<!-- m -->")
        assert measure(text) <= limit
        assert " of 300 diffs shown" in text
        assert text.count("<details>") == text.count("</details>")
        assert "boom @\u200dbob" in text
    small = document(RunReport("plan", "kamsync.yaml", (_row(1, 3),)), limit=COMMENT_LIMIT)
    assert "diffs shown" not in small and "+added 1 2" in small


def test_a_table_too_long_for_the_comment_says_how_many_fields_it_shows():
    rows = tuple(_row(i, state="conflict", refused="r" * 200, fix="f" * 200) for i in range(400))
    text = document(RunReport("plan", "kamsync.yaml", rows), limit=COMMENT_LIMIT)
    assert len(text) <= COMMENT_LIMIT and " of 400 fields shown in the table" in text


def _left_out(text: str, kind: str) -> int:
    found = re.search(rf"(\d[\d,]*) more {kind}\(s\)", text)
    return int(found[1].replace(",", "")) if found else 0


_SEVEN_HUNDRED = tuple(f"warning {i}: Kameleoon did not return {'variation 1 jsCode ' * 6}" for i in range(700))
_THOUSANDS = tuple(f"warning {i}: @bob <b>|</b> " + "w\U0001f600 " * 400 for i in range(5000))
_HUGE = ("\t" * 100_000 + "one huge warning " * 200_000,)


@pytest.mark.parametrize(
    ("warnings", "problems"),
    [
        (_SEVEN_HUNDRED, ()),
        (_THOUSANDS, tuple(Problem(f"error {i}: " + "e&" * 3000) for i in range(60))),
        (_HUGE, (Problem("x" * 2_000_000),)),
    ],
    ids=["700 long warnings", "thousands of warnings and errors", "one huge error and warning"],
)
def test_any_number_and_length_of_notes_fit_each_limit_errors_first_and_the_rest_is_counted(warnings, problems):
    rows = tuple(_row(i, 40, state="conflict", refused="both moved") for i in range(400))
    report = RunReport(
        "drift", "kamsync.yaml", rows, problems=problems, warnings=warnings,
        pull_request="https://github.com/acme/site/pull/1",
    )  # fmt: skip
    for limit, measure in ((SUMMARY_LIMIT, utf8_size), (COMMENT_LIMIT, len)):
        text = document(report, limit=limit, measure=measure, marker="<!-- m -->")
        assert measure(text) <= limit
        errors, shown_warnings = text.count("> **error**: "), text.count("> warning: ")
        assert errors + _left_out(text, "error") == len(problems), "each error is shown or counted"
        assert shown_warnings + _left_out(text, "warning") == len(warnings), "each warning is shown or counted"
        assert errors + shown_warnings >= 1, "what fits is shown"
        assert not shown_warnings or errors == len(problems), "errors come first"
        assert "| 100 Hero |" in text and "https://github.com/acme/site/pull/1" in text, "the rest keeps its room"
        assert "@bob" not in text and "<b>" not in text
        assert text.count("<details>") == text.count("</details>") >= 1
    comment = document(report, limit=COMMENT_LIMIT)
    if len(warnings) > 1:
        assert _left_out(comment, "warning") > 0 and "left out here to fit the size limit" in comment
    else:
        assert "one huge warning one huge" in comment and "x…" in comment, "a long note is shortened, not lost"


def _env(**inputs: str) -> dict[str, str]:
    return {"RUNNER_TEMP": "/rt", **{f"KAMSYNC_INPUT_{k.upper()}": v for k, v in inputs.items()}}


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({}, ["push", "--dry-run", "--format", "github", "--from", "HEAD^1", "--out", "PLAN"]),
        ({"command": "plan", "to": "HEAD"},
         ["push", "--dry-run", "--format", "github", "--from", "HEAD^1", "--out", "PLAN"]),
        ({"command": "plan", "from": "abc", "to": "def", "force": "true", "comment": "false"},
         ["push", "--dry-run", "--format", "github", "--force", "--from", "abc", "--out", "PLAN", "--to", "def",
          "--no-comment"]),
        ({"command": "push"}, ["push", "--format", "github"]),
        ({"command": "push", "from": "a1", "allow_live": "true", "manifest": "web/kamsync.yaml"},
         ["push", "--format", "github", "--manifest", "web/kamsync.yaml", "--allow-live", "--from", "a1"]),
        ({"command": "status", "fail_on_changes": "true", "api_url": "http://127.0.0.1:1"},
         ["status", "--format", "github", "--api-url", "http://127.0.0.1:1", "--exit-code"]),
        ({"command": "drift", "open_pr": "true", "force": "true"}, ["drift", "--format", "github", "--open-pr"]),
        ({"command": "drift", "open_pr": "false"}, ["drift", "--format", "github"]),
    ],
)  # fmt: skip
def test_the_action_inputs_become_one_command_line(inputs, expected):
    args = action_args(_env(**inputs), "/work")
    if "--out" in args:
        plan = args[args.index("--out") + 1]
        assert plan.startswith("/rt/kamsync-plan-") and plan.endswith(".json")
        args[args.index("--out") + 1] = "PLAN"
    assert args == expected


def test_a_plan_file_is_named_per_working_directory_and_manifest():
    one, two = (action_args(_env(), cwd) for cwd in ("/a", "/b"))
    three = action_args(_env(manifest="web/kamsync.yaml"), "/a")
    assert len({one[-1], two[-1], three[-1]}) == 3


@pytest.mark.parametrize(("inputs", "message"), [({"command": "apply"}, "command"), ({"force": "yes"}, "force")])
def test_an_unusable_input_is_refused_by_name(inputs, message):
    with pytest.raises(ActionInputError, match=message):
        action_args(_env(**inputs), "/work")


def test_the_next_page_comes_from_the_link_header():
    header = '<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"'
    assert next_link(header) == "https://api.github.com/x?page=2"
    assert next_link('<https://api.github.com/x?page=1>; rel="prev"') is None
    assert next_link(None) is None


def test_only_the_tokens_own_marked_item_counts():
    items = [
        Item(1, "mallory", "<!-- m -->"),
        Item(2, WORKFLOW_TOKEN_USER, "other"),
        Item(3, WORKFLOW_TOKEN_USER, "x <!-- m -->"),
    ]
    assert own_marked(items, "<!-- m -->", WORKFLOW_TOKEN_USER) == items[2]
    assert own_marked(items, "<!-- m -->", "someone") is None


@pytest.mark.parametrize("url", ["http://api.github.com", "ftp://127.0.0.1", "http://10.0.0.1"])
def test_the_github_token_never_travels_in_clear_beyond_loopback(url):
    with pytest.raises(UsageError, match="https"):
        check_api_url(url)
    assert check_api_url("http://127.0.0.1:9/") == "http://127.0.0.1:9"


def test_the_event_payload_says_which_pull_request_and_whether_it_comes_from_a_fork():
    same = {"full_name": "acme/site"}
    assert (
        pull_request_of({"pull_request": {"number": 3, "head": {"repo": same}, "base": {"repo": same}}}).fork is False
    )  # type: ignore[union-attr]
    fork = pull_request_of(
        {"pull_request": {"number": 3, "head": {"repo": {"full_name": "m/s"}}, "base": {"repo": same}}}
    )
    assert fork is not None and fork.number == 3 and fork.fork
    assert pull_request_of({"ref": "refs/heads/main"}) is None
    forked = {"pull_request": {"number": 1, "head": {"repo": {"full_name": "m/s"}}, "base": {"repo": same}}}
    env = ActionsEnv(None, None, "https://api.github.com", "acme/site", "", forked)
    assert "fork" in not_read_reason(env)
    assert "no Kameleoon credentials" in not_read_reason(ActionsEnv(None, None, "", None, "", {}))
    assert ActionsEnv(None, None, "", None, "", {}, "trunk").base_branch == "trunk"
    assert ActionsEnv(None, None, "", None, "", {"repository": {"default_branch": "dev"}}).base_branch == "dev"


def test_the_actions_console_shows_text_only_inside_stop_commands_and_obeys_only_its_own_commands():
    written: list[str] = []
    tokens = iter(["t1", "t2"])
    console = ActionsConsole(write=written.append, new_token=lambda: next(tokens))
    console.info("::error::from a server")
    console.secret("abc")
    console.secret("abc")  # masked once
    console.out("after")
    console.close()
    assert written == [
        "::stop-commands::t1",
        "::error::from a server",
        "::t1::",
        "::add-mask::abc",
        "::stop-commands::t2",
        "after",
        "::t2::",
    ]


def test_the_example_workflow_keeps_the_rules_the_readme_gives():
    workflow = yaml.safe_load((ROOT / "examples/workflows/kamsync.yml").read_text())
    jobs = workflow["jobs"]
    assert workflow["permissions"] == {}
    assert jobs["plan"]["concurrency"] == {
        "group": "kamsync-plan-${{ github.event.pull_request.number }}",
        "cancel-in-progress": True,
    }
    assert jobs["push"]["concurrency"]["cancel-in-progress"] is False
    assert jobs["drift"]["concurrency"]["group"] != jobs["push"]["concurrency"]["group"]
    assert jobs["plan"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert jobs["push"]["permissions"] == {"contents": "read"}
    assert jobs["drift"]["permissions"] == {"contents": "write", "pull-requests": "write"}
    for name, job in jobs.items():
        checkout = job["steps"][0]
        assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
        assert checkout["with"]["persist-credentials"] is (name == "drift"), "only the job that pushes keeps them"
        (kamsync,) = [s for s in job["steps"] if s["uses"].startswith("kamsync/kamsync@")]
        assert kamsync["with"]["command"] == {"plan": "plan", "push": "push", "drift": "drift"}[name]
    assert "pull_request_target" not in workflow[True]  # YAML 1.1 reads the key `on` as true
