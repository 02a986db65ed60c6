"""Tests of the pages ``psipo-exact reproduce --out DIR`` writes: README.md and index.html.

Everywhere: the page references every figure of the folder with its caption and carries the
summary; the HTML parses with balanced tags. Where Chromium is installed
(``apt-get install chromium``), the page is also rendered headless and the screenshot must
show the figures (pixels of the figures' palette). CI without Chromium skips only that.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from psipo_exact import gallery
from psipo_exact.cli import main

FAST = ["--taus", "0.5", "2", "--steps", "120", "--seeds", "2", "--no-progress"]
VOID = {"meta", "img", "br", "hr", "link", "input"}


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reproduce") / "results"
    assert main(["reproduce", "--out", str(folder), *FAST]) == 0
    return folder


class _Page(HTMLParser):
    """Collects image sources, captions, headings and tag-balance errors."""

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.images, self.captions = [], [], [], []
        self.headings, self._in = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        if tag not in VOID:
            self.stack.append(tag)
        if tag in ("figcaption", "h2", "h3"):
            self._in, self._text = tag, ""

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()
        if tag == self._in:
            (self.captions if tag == "figcaption" else self.headings).append(self._text)
            self._in = None

    def handle_data(self, data):
        if self._in:
            self._text += data


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def test_index_html_shows_every_figure_with_its_caption_and_the_summary(out):
    page = _parse(out / "index.html")
    assert page.errors == [] and page.stack == []               # balanced, closed tags
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert sorted(page.images) == pngs
    assert pngs == ["closed_form.png", "figure1.png", "figure2.png", "policy_against_tau.png"]
    assert len(page.captions) == len(pngs) and all(len(c) > 80 for c in page.captions)
    assert any("readings of D3" in h for h in page.headings)     # the summary's sections
    assert (out / "index.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_readme_shows_every_figure_and_the_summary(out):
    text = (out / "README.md").read_text(encoding="utf-8")
    for png in out.glob("*.png"):
        assert f"![{png.name}]({png.name})" in text
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert summary.splitlines()[2] in text                      # the settings paragraph
    assert "\n## Sec. 5.4 sampled experiments" in text           # headings one level down


def test_summary_table_becomes_an_html_table():
    html = gallery.markdown_to_html("| a | b |\n|---|---|\n| 1 < 2 | **x** |")
    assert html == ("<table>\n<thead><tr><th>a</th><th>b</th></tr></thead>\n<tbody>\n"
                    "<tr><td>1 &lt; 2</td><td><strong>x</strong></td></tr>\n</tbody>\n"
                    "</table>")


def test_pages_are_written_with_the_rest_all_or_none(tmp_path, monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise ValueError("page failed")

    monkeypatch.setattr(gallery, "gallery_html", fail)
    folder = tmp_path / "never"
    assert main(["reproduce", "--out", str(folder), *FAST]) == 2
    assert "page failed" in capsys.readouterr().err
    assert not folder.exists() or not any(folder.iterdir())


def test_refuses_to_overwrite_a_readme_it_did_not_write(tmp_path, capsys):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "README.md").write_text("# my project\n", encoding="utf-8")
    assert main(["reproduce", "--out", str(folder), *FAST]) == 2
    err = capsys.readouterr().err
    assert "was not written by psipo-exact reproduce" in err and len(err.splitlines()) == 1
    assert (folder / "README.md").read_text(encoding="utf-8") == "# my project\n"
    assert [p.name for p in folder.iterdir()] == ["README.md"]


def test_rerun_overwrites_its_own_pages(out):
    before = hashlib.sha256((out / "summary.csv").read_bytes()).hexdigest()
    assert main(["reproduce", "--out", str(out), *FAST]) == 0
    assert hashlib.sha256((out / "summary.csv").read_bytes()).hexdigest() == before


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_index_html_renders_in_headless_chromium(out, tmp_path):
    from matplotlib.image import imread

    shot = tmp_path / "page.png"
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
         "--window-size=1000,2600", f"--screenshot={shot}", (out / "index.html").as_uri()],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (2600, 1000)
    # The figures' blue (#0072B2) and vermillion (#D55E00) appear only if the PNGs loaded.
    for colour in ((0x00, 0x72, 0xB2), (0xD5, 0x5E, 0x00)):
        close = np.all(np.abs(pixels * 255 - colour) < 12, axis=-1)
        assert close.sum() > 200, f"no rendered figure pixels of colour {colour}"
