"""The manifest's ``site: {code, script}``: the site's global custom script, mapped by the site's code."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kamsync.core.model import SITE_FIELDS, FieldRef, SiteSpec
from kamsync.manifest.nodes import YamlMap, describe_value, key_line, node_line

if TYPE_CHECKING:
    from kamsync.manifest.validate import _Validator

__all__ = ["SITE_CODE", "SITE_KEYS", "site_spec"]

SITE_KEYS = ("code", *(f.manifest_key for f in SITE_FIELDS))
# A site code goes into requests: letters, digits, '-' and '_' only (Kameleoon's are 10 lowercase characters).
SITE_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def site_spec(check: _Validator, data: YamlMap) -> SiteSpec | None:
    """``site:`` validated: ``code`` and ``script`` both required, the code safe to put in a request, the script
    a path of the work tree like any other mapped file."""
    if data.get("site") is None:
        return None
    node, line = data["site"], key_line(data, "site", 1)
    if not isinstance(node, YamlMap):
        raise check.fail(
            line,
            f"'site' must be a mapping like `code: abcdefghij` + `script: site/script.js`, not {describe_value(node)}",
        )
    line = node_line(node, line)
    check.check_keys(node, SITE_KEYS, "in site", line)
    check.require(node, "code", "site", line, "<Kameleoon site code>")
    code_line = key_line(node, "code", line)
    code = check.string(node, "code", "site", code_line, optional=False)
    assert code is not None
    if SITE_CODE.fullmatch(code) is None:
        raise check.fail(
            code_line,
            f"'code' of site ({code!r}) is not a Kameleoon site code: letters, digits, '-' and '_' only "
            "(the Kameleoon app shows it, e.g. `code: abcdefghij`)",
        )
    check.require(node, "script", "site", line, "site/script.js")
    ref = FieldRef(SITE_FIELDS[0].entity, 0, "", site_code=code)
    return SiteSpec(code=code, line=line, files=check.map_fields(node, SITE_FIELDS, ref, "site", line, ""))
