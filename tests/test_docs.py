"""The documentation: README.md stays a short front door, and README.md and docs/*.md link only
to files and headings that exist, refer to nothing a user does not have, and leave no page of
docs/ unlinked. External http(s) links are not fetched."""

import pathlib
import re
from collections import Counter

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README] + DOCS

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target) and ![alt](target); the target may be <...> and may carry a "title"
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)"
                         r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:...
FORBIDDEN = [(re.compile(r"paper 00", re.IGNORECASE), "an internal paper number"),
             (re.compile(r"\bissues?[ -]\d", re.IGNORECASE), "an internal issue number"),
             (re.compile(r"\.\./shared"), "a path outside the repository")]


def prose_lines(text, strip_code=True):
    """(line number, line) outside fenced code blocks, inline code spans removed unless
    ``strip_code`` is false."""
    fence = None
    for number, line in enumerate(text.splitlines(), 1):
        opened = FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)[0] * len(opened.group(1))
            continue
        if fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) <= {fence[0]}:
                fence = None
            continue
        yield number, CODE_SPAN.sub("", line) if strip_code else line


def slug(heading):
    """GitHub's anchor for a heading's text: links and inline markup reduced to their text,
    lowercase, every character but letters, digits, spaces, hyphens and underscores removed,
    spaces turned into hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # [text](url) → text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = text.strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


def anchors(path):
    """Every anchor of a Markdown file: its headings' slugs, repeats numbered -1, -2..."""
    seen, found = Counter(), set()
    for _, line in prose_lines(path.read_text(encoding="utf-8"), strip_code=False):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        found.add(base if not seen[base] else f"{base}-{seen[base]}")
        seen[base] += 1
    return found


def links(path):
    """(line number, target) of every link and image in a Markdown file, code excluded."""
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        for match in INLINE_LINK.finditer(line):
            yield number, match.group(1).strip("<>")
        definition = REFERENCE_DEFINITION.match(line)
        if definition:
            yield number, definition.group(1).strip("<>")


def resolve(page, target):
    """The file a relative link points to (None for an in-page anchor) and its anchor."""
    path, _, anchor = target.partition("#")
    return ((page.parent / path).resolve() if path else page), anchor


def broken_links(pages, root=ROOT):
    """Every relative link of ``pages`` to a missing file or heading, as one line each."""
    problems = []
    for page in pages:
        for number, target in links(page):
            if not target or EXTERNAL.match(target):
                continue
            where = f"{page.relative_to(root)}:{number}: {target}"
            file, anchor = resolve(page, target)
            if not file.exists():
                problems.append(f"{where}: no such file")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file):
                problems.append(f"{where}: no heading with anchor #{anchor} in {file.relative_to(root)}")
    return problems


def test_readme_is_at_most_15_kb():
    size = len(README.read_bytes())
    assert size <= 15 * 1024, f"README.md is {size} bytes; move detail into docs/ (limit 15360)"


def test_every_relative_link_and_anchor_exists():
    problems = broken_links(PAGES)
    assert not problems, "broken links:\n" + "\n".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_internal_references(page):
    found = [f"{page.relative_to(ROOT)}:{number}: {why}: {line.strip()}"
             for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
             for pattern, why in FORBIDDEN if pattern.search(line)]
    assert not found, "\n".join(found)


def test_every_docs_page_is_linked_from_the_readme():
    linked = {resolve(README, target)[0] for _, target in links(README) if not EXTERNAL.match(target)}
    unlinked = [str(page.relative_to(ROOT)) for page in DOCS if page.resolve() not in linked]
    assert not unlinked, f"not linked from README.md: {', '.join(unlinked)}"


# ---- the checker itself ------------------------------------------------------------------------

def test_slugs_follow_github():
    assert slug("Colour, alpha and metadata") == "colour-alpha-and-metadata"
    assert slug("Fitting a method's parameters: `dpdown fit`") == "fitting-a-methods-parameters-dpdown-fit"
    assert slug("What conftest.py sets, and why") == "what-conftestpy-sets-and-why"
    assert slug("Channel (feature) pooling") == "channel-feature-pooling"
    assert slug("2026-11-22 — 6000×4000 RGB uint8, k = 4") == "2026-11-22--60004000-rgb-uint8-k--4"
    assert slug("snake_case stays") == "snake_case-stays"


def test_the_checker_finds_broken_links(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A page\n\n## Same\n\n## Same\n\n## With `code`\n\n```\n[not a link](nowhere.md)\n"
                               "# not a heading\n```\n"
                               "`[nor this](nowhere.md)`\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text("# Top\n\n[ok](docs/a.md#same-1) [ok](#top) ![ok](docs/a.md) [web](https://example.org/x)\n"
                    "[ok](docs/a.md#with-code) [not a heading](docs/a.md#not-a-heading)\n"
                    "[gone](docs/b.md) [bad anchor](docs/a.md#same-2) [bad here](#nothing)\n", encoding="utf-8")
    problems = broken_links([page, docs / "a.md"], root=tmp_path)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "docs/a.md#not-a-heading: no heading with anchor #not-a-heading in docs/a.md",
        "docs/b.md: no such file",
        "docs/a.md#same-2: no heading with anchor #same-2 in docs/a.md",
        "#nothing: no heading with anchor #nothing in README.md"]
