"""axe-core accessibility checks for the browser journeys (WCAG 2.2 A and AA).

`assert_accessible(page)` injects the axe-core that npm installs into node_modules/ (a devDependency, so
no network is needed) and fails the test with one line per violation. Journeys call it on every page they
visit; a rule excluded for a page is a known violation with an owner, to be fixed and then removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
TARGETS_SHOWN = 3

_RUN = """async ({tags, disabled}) => {
    const rules = {};
    for (const id of disabled) rules[id] = {enabled: false};
    const results = await axe.run(document, {
        runOnly: {type: 'tag', values: tags},
        rules,
        resultTypes: ['violations'],
    });
    return results.violations.map(v => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.map(n => n.target.join(' ')),
    }));
}"""


def axe_violations(page: Page, *, exclude_rules: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The WCAG 2.2 A/AA violations axe finds on the page as it is now, without the excluded rules."""
    if not AXE_JS.is_file():
        raise AssertionError(f"{AXE_JS} is missing: run `npm ci` (or `make install`) first")
    # Injected again after every navigation: a new document does not keep the previous page's scripts.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated, not added as an inline <script>: the app's Content-Security-Policy refuses those.
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    return page.evaluate(_RUN, {"tags": WCAG_TAGS, "disabled": list(exclude_rules)})


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = v["targets"][:TARGETS_SHOWN]
        more = len(v["targets"]) - len(targets)
        shown = ", ".join(targets) + (f" (+{more} more)" if more else "")
        lines.append(f"- {v['id']} [{v['impact']}]: {v['help']} — {shown}")
    return "\n".join(lines)


def assert_accessible(page: Page, *, context: str = "", exclude_rules: Iterable[str] = ()) -> None:
    """Fail if axe finds WCAG 2.2 A/AA violations on the page; `context` names the page in the message.

    exclude_rules is for known violations only, each marked at the call with the page and its owner.
    """
    violations = axe_violations(page, exclude_rules=exclude_rules)
    if violations:
        where = context or page.url
        raise AssertionError(
            f"axe-core: {len(violations)} accessibility violation(s) on {where}:\n"
            + format_violations(violations)
        )


def visit(page: Page, url: str, *, context: str = "", exclude_rules: Iterable[str] = ()) -> None:
    """Go to url and check the page there: for a journey step that is only a page load."""
    response = page.goto(url)
    if response is not None and response.status >= 500:
        raise AssertionError(f"{url} answered {response.status}")
    page.wait_for_load_state("load")
    assert_accessible(page, context=context or url, exclude_rules=exclude_rules)
