"""The pages of a ``psipo-exact reproduce`` output folder: ``README.md`` and ``index.html``.

Both show every figure with its caption, then the summary (``summary.md``), so the results
can be read on a code host or opened in a browser from the folder itself. The HTML is
self-contained (no script, no network) and built from the same markdown with a small
converter that knows exactly the markdown :mod:`psipo_exact.report` writes: headings,
paragraphs, bullet lists, pipe tables, ``**bold**`` and ```code```.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

#: The first line of both pages: how ``reproduce`` recognises a page it may overwrite.
MARKER = "<!-- written by psipo-exact reproduce: regenerated on every run -->"

TITLE = "psipo_exact: the results of Azar et al. (arXiv:2310.12036), exactly and sampled"


def figure_captions(settings: dict) -> dict[str, str]:
    """File name → caption of each figure ``reproduce`` writes with these settings.

    Parameters
    ----------
    settings : dict
        ``SampledExperiment.settings`` (``figures``, ``lr``, ``batch_size``, ``steps``,
        ``seeds``).

    Returns
    -------
    dict
        In the order the figures are shown.

    Examples
    --------
    >>> caps = figure_captions(dict(figures=(1,), lr=0.01, batch_size=9, steps=18000,
    ...                             seeds=10))
    >>> list(caps)
    ['closed_form.png', 'figure1.png', 'policy_against_tau.png']

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.3.1 and Sec. 5.4 (Figures 1 and 2).
    """
    runs = (f"Adam (lr {settings['lr']}, mini-batches of {settings['batch_size']}, "
            f"{settings['steps']} steps), {settings['seeds']} seeds")
    lines = ("Lines: the mean over seeds of π(y) against Adam steps (log axis from the first "
             "recorded step) with 95% Student-t bands, one hue per action, DPO wide and solid, "
             "IPO thin and dashed; dotted lines marked at the right edge: the exact optimum "
             "of each loss or, where no finite minimiser exists, the exact limit of its "
             "minimising sequences.")
    captions = {"closed_form.png": (
        "Sec. 5.3.1 and 4.2: π*(y₁) against τ for two actions with p*(y₁ ≻ y₂) = 1 and "
        "uniform µ and πref (Eq. 7). RLHF/DPO (Ψ = logit) puts all mass on y₁ for every τ; "
        "IPO (Ψ = identity) follows σ(τ⁻¹/2) from 1 down to πref(y₁) = 1/2.")}
    if 1 in settings["figures"]:
        captions["figure1.png"] = f"Sec. 5.4, Figure 1: D1, {runs}. {lines}"
    if 2 in settings["figures"]:
        captions["figure2.png"] = (
            f"Sec. 5.4, Figure 2: both readings of D3, {runs}. {lines} A dataset whose exact "
            "answer is πref for every τ and loss (D3 as printed) is drawn as one panel of the "
            "final π against τ instead of a block of flat panels.")
    captions["policy_against_tau.png"] = (
        "The claim of Sec. 5.4 directly: the final policy against τ, one row per dataset and "
        "one panel per loss. Lines: the exact optimum (or limit, when the panel says so) on a "
        f"fine τ grid; points: the mean over seeds of each run's last policy at its τ with "
        f"its 95% Student-t interval ({runs}).")
    return captions


def gallery_markdown(captions: dict[str, str], summary: str) -> str:
    """``README.md`` of the output folder: each figure with its caption, then the summary.

    Parameters
    ----------
    captions : dict
        Figure file name → caption (:func:`figure_captions`).
    summary : str
        The markdown of ``summary.md``; its headings are moved one level down.

    Returns
    -------
    str

    Examples
    --------
    >>> print(gallery_markdown({"f.png": "A figure."}, "# Summary\\n"))  # doctest: +ELLIPSIS
    <!-- written by psipo-exact reproduce: regenerated on every run -->
    # psipo_exact: ...
    <BLANKLINE>
    ## Figures
    <BLANKLINE>
    ### f.png
    <BLANKLINE>
    ![f.png](f.png)
    <BLANKLINE>
    A figure.
    <BLANKLINE>
    ## Summary
    <BLANKLINE>

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4.
    """
    lines = [MARKER, f"# {TITLE}", "", "## Figures", ""]
    for name, caption in captions.items():
        lines += [f"### {name}", "", f"![{name}]({name})", "", caption, ""]
    return "\n".join(lines) + "\n" + _demoted(summary)


def _demoted(markdown: str) -> str:
    """``markdown`` with every heading one level down (under the page's own title)."""
    return re.sub(r"^(#+) ", r"#\1 ", markdown, flags=re.MULTILINE)


def _inline(text: str) -> str:
    """Escaped text with ``**bold**`` and ```code``` as HTML."""
    out = html.escape(text, quote=False)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", out)


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def _table(rows: Sequence[str]) -> list[str]:
    body = [r for r in rows if not re.fullmatch(r"\|?(\s*:?-+:?\s*\|)+\s*:?-*:?\s*", r.strip())]
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in _cells(body[0]))
           + "</tr></thead>", "<tbody>"]
    out += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _cells(r)) + "</tr>"
            for r in body[1:]]
    return out + ["</tbody>", "</table>"]


def markdown_to_html(text: str) -> str:
    """HTML of the markdown subset :mod:`psipo_exact.report` writes.

    Headings (``#``), bullet lists (``* `` or ``- ``), pipe tables, paragraphs separated by
    blank lines, ``**bold**`` and ```code```; everything else is escaped text.

    Parameters
    ----------
    text : str

    Returns
    -------
    str

    Examples
    --------
    >>> markdown_to_html("## A & B\\n\\n* **yes** `x < 1`")
    '<h2>A &amp; B</h2>\\n<ul>\\n<li><strong>yes</strong> <code>x &lt; 1</code></li>\\n</ul>'

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4 (the report this renders).
    """
    out: list[str] = []
    blocks = re.split(r"\n\s*\n", text.strip())
    for block in blocks:
        lines = block.splitlines()
        if block.startswith("<!--"):
            continue
        heading = re.match(r"(#{1,6}) (.*)", block)
        if heading and len(lines) == 1:
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif all(line.lstrip().startswith("|") for line in lines):
            out += _table(lines)
        elif all(re.match(r"[*-] ", line) for line in lines if not line.startswith(" ")):
            items = re.split(r"\n(?=[*-] )", block)
            out += ["<ul>", *(f"<li>{_inline(item[2:])}</li>" for item in items), "</ul>"]
        else:
            out.append(f"<p>{_inline(' '.join(lines))}</p>")
    return "\n".join(out)


_STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
line-height:1.45;color:#222}figure{margin:2rem 0}img{max-width:100%;height:auto;
border:1px solid #ddd}figcaption{font-size:.95rem;color:#333}table{border-collapse:collapse;
font-size:.85rem;margin:1rem 0;display:block;overflow-x:auto}th,td{border:1px solid #ccc;
padding:.2rem .4rem;text-align:left}code{font-size:.9em}"""


def gallery_html(captions: dict[str, str], summary: str) -> str:
    """``index.html`` of the output folder: each figure with its caption, then the summary.

    Parameters
    ----------
    captions : dict
        Figure file name → caption (:func:`figure_captions`).
    summary : str
        The markdown of ``summary.md``.

    Returns
    -------
    str
        A self-contained HTML5 page (inline style, figures by relative file name).

    Examples
    --------
    >>> page = gallery_html({"f.png": "A figure."}, "# Summary")
    >>> '<img src="f.png"' in page and "<h2>Summary</h2>" in page
    True

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4.
    """
    figures = [
        f'<figure id="{html.escape(name)}">\n<img src="{html.escape(name)}" '
        f'alt="{html.escape(name)}">\n<figcaption><strong>{html.escape(name)}</strong>: '
        f"{_inline(caption)}</figcaption>\n</figure>" for name, caption in captions.items()]
    return "\n".join([
        "<!DOCTYPE html>", MARKER, '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="generator" content="psipo-exact reproduce">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(TITLE)}</title>", f"<style>{_STYLE}</style>", "</head>",
        "<body>", f"<h1>{html.escape(TITLE)}</h1>", "<h2>Figures</h2>", *figures,
        markdown_to_html(_demoted(summary)), "</body>", "</html>", ""])
