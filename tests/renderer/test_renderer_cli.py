"""``cobrowse sanitize`` (renderer.sanitize_cli.main) and the HTML text serializer."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from renderer.htmltext import to_html
from renderer.sanitize_cli import main as cli_main
from wire.nodes import compact, expand


def main(argv: list[str]) -> int:
    """Run the command on a thread of its own, as from a shell: it starts its own event loop,
    and pytest-playwright may keep one running on the main thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(cli_main, argv).result(timeout=120)


def test_html_text_escapes_and_keeps_raw_style_closed() -> None:
    doc = [
        1,
        "#document",
        [
            [2, "#doctype", "html"],
            [
                3,
                "html",
                {},
                [
                    [
                        4,
                        "head",
                        {},
                        [[5, "style", {}, [[6, "#text", "a{}</style><script>x</script>"]]]],
                    ],
                    [
                        7,
                        "body",
                        {},
                        [
                            [8, "p", {"title": '"><script>'}, [[9, "#text", "<b>&amp;</b>"]]],
                            [
                                10,
                                "input",
                                {"type": "text", ":value": 'v"', ":masked": "selector"},
                                [],
                            ],
                            [11, "svg", {}, [[12, "style", {}, [[13, "#text", "<img>"]]]]],
                            [14, "#comment", ""],
                        ],
                    ],
                ],
            ],
        ],
    ]
    assert to_html(compact(doc)) == (
        "<!DOCTYPE html><html><head><style>a{}<\\/style><script>x<\\/script></style></head>"
        '<body><p title="&quot;&gt;&lt;script&gt;">&lt;b&gt;&amp;amp;&lt;/b&gt;</p>'
        '<input type="text" value="v&quot;" data-cobrowse-masked="selector">'
        "<svg><style>&lt;img&gt;</style></svg><!----></body></html>"
    )


def test_html_text_of_a_shadow_root_is_declarative() -> None:
    host = [1, "#document", ["html", ["body", ["x-card", ["#shadow", ["slot"], "in"], "light"]]]]
    assert to_html(host) == (
        '<html><body><x-card><template shadowrootmode="open"><slot></slot>in</template>'
        "light</x-card></body></html>"
    )


def test_missing_or_unreadable_file_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "nope.html")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main([str(tmp_path)]) == 2
    assert "directory" in capsys.readouterr().err
    assert main([]) == 2  # usage error, no traceback


@pytest.mark.browser
def test_sanitize_prints_html_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<p onclick=alert(1)>hi<img src=/a.png onerror=alert(1)></p>"
        "<script>alert(1)</script><iframe src=https://ads.example/></iframe>",
        encoding="utf-8",
    )
    assert main([str(page), "--base-url", "https://shop.example/"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == (
        '<html><head></head><body><p>hi<img src="https://shop.example/a.png"></p>'
        '<iframe data-cobrowse-placeholder="third-party iframe"></iframe></body></html>'
    )
    assert main([str(page), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc[:2] == [1, "#document"] and expand(doc)[1] == "#document"  # the compact form
    assert "onclick" not in json.dumps(doc) and "script" not in json.dumps(doc)
