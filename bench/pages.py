"""Generated pages the benchmark records: sizes by node count, by DOM bytes, and small work pages.

Owns: the HTML of every generated page. Each page ends with one element whose id is
``bench-last-__RUN__`` (the page server puts the run's nonce in place of ``__RUN__``), so that
"the agent's view is complete" means "the replica holds the last node of this very load".
``__SCRIPTS__`` is where the page server puts the recorder (our tag or rrweb) under test.
Must not: depend on the network; every URL a page names points at its own loopback origin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

HEAD = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
    "<title>{title}</title>\n<style>body{{font:14px/1.4 sans-serif;margin:0 16px}}"
    ".row{{display:flex;gap:8px;padding:2px 0;border-bottom:1px solid #eee}}"
    ".k{{font-weight:600}}.price{{color:#070}}.cell{{display:inline-block;width:9%;height:40px;"
    "margin:2px;background:#eef}}</style>\n__SCRIPTS__</head>\n<body>\n"
)
TAIL = '<div id="bench-last-__RUN__" class="end">end of page</div>\n</body></html>\n'


def _row(i: int) -> str:
    # 8 nodes: div, span + text, text, a + text, input, and the newline text after the row.
    return (
        f'<div class="row product" data-i="{i}"><span class="k">Item {i}</span> '
        f'<a href="/p/{i}" class="price">${i % 97}.99</a>'
        f'<input name="q{i}" value="{i % 7}"></div>\n'
    )


def _row_elements(i: int) -> str:
    # 6 elements (div, span, a, input, b, i) and no text but the newline after the row.
    return (
        f'<div class="row" data-i="{i}"><span class="k"></span><a href="/p/{i}"></a>'
        f'<input name="q{i}"><b></b><i></i></div>\n'
    )


def by_nodes(nodes: int) -> str:
    """A page of about ``nodes`` DOM nodes (elements and text)."""
    rows = max(1, nodes // 8)
    return HEAD.format(title=f"{nodes} nodes") + "".join(map(_row, range(rows))) + TAIL


def by_elements(elements: int) -> str:
    """A page of about ``elements`` elements (the longest-task figure's 120k-element page)."""
    rows = max(1, elements // 6)
    body = "".join(map(_row_elements, range(rows)))
    return HEAD.format(title=f"{elements} elements") + body + TAIL


def by_bytes(size: int) -> str:
    """A page whose HTML (and so its DOM) is about ``size`` bytes: product rows with text."""
    parts = [HEAD.format(title=f"{size} bytes")]
    total = len(parts[0]) + len(TAIL)
    i = 0
    while total < size:
        row = (
            f'<div class="row product" data-sku="sku-{i}"><span class="k">Product number {i} '
            f'with a reasonably long name</span> <a href="/p/{i}">details</a> '
            f'<span class="price">${i % 97}.99</span></div>\n'
        )
        parts.append(row)
        total += len(row)
        i += 1
    parts.append(TAIL)
    return "".join(parts)


def grid() -> str:
    """The pointer page: 100 cells the visitor's pointer visits one by one, plus some content."""
    cells = "".join(f'<div class="cell" data-cell="{k}"></div>' for k in range(100))
    filler = "".join(map(_row, range(300)))
    return HEAD.format(title="pointer grid") + f'<div id="grid">{cells}</div>\n' + filler + TAIL


def workload() -> str:
    """The scripted minute's page: a form, a live ticker, a feed that changes, a long body."""
    feed = "".join(f'<li class="item" data-i="{i}">Feed item {i}</li>' for i in range(40))
    body = (
        '<form id="form"><label>Name <input id="name" name="name"></label> '
        '<label>Notes <textarea id="notes" name="notes"></textarea></label></form>\n'
        '<p>Last update: <span id="tick">0</span></p>\n'
        f'<ul id="feed">{feed}</ul>\n' + "".join(map(_row, range(600)))
    )
    return HEAD.format(title="scripted minute") + body + TAIL


@dataclass(frozen=True)
class PageSpec:
    name: str  # the file name under /p/ and the figure's label
    label: str  # how the report names it
    html: Callable[[], str]


SIZES = (
    PageSpec("nodes-10k", "10k nodes", lambda: by_nodes(10_000)),
    PageSpec("nodes-50k", "50k nodes", lambda: by_nodes(50_000)),
    PageSpec("nodes-150k", "150k nodes", lambda: by_nodes(150_000)),
    PageSpec("mb-0.5", "0.5 MB DOM", lambda: by_bytes(512 * 1024)),
    PageSpec("mb-2", "2 MB DOM", lambda: by_bytes(2 * 1024 * 1024)),
    PageSpec("mb-5", "5 MB DOM", lambda: by_bytes(5 * 1024 * 1024)),
    PageSpec("elements-120k", "120k elements", lambda: by_elements(120_000)),
)
SMOKE_SIZES = (  # tiny: the smoke run checks the harness, not the figures
    PageSpec("nodes-2k", "2k nodes", lambda: by_nodes(2_000)),
    PageSpec("mb-0.1", "0.1 MB DOM", lambda: by_bytes(100 * 1024)),
)
WORK_PAGES = (
    PageSpec("grid", "pointer grid", grid),
    PageSpec("workload", "scripted minute", workload),
)
