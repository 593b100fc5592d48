"""One self-contained page with plotly's figures, small enough to mail: plotly.js goes in
once, gzip-compressed and base64-encoded (about 1.8 MB instead of 4.6 MB), and a few lines of
script unpack it with the browser's own DecompressionStream, then draw every figure from its
JSON. The page still opens from disk, with no server and no network. The report's page and
the lab's page both use it."""

from __future__ import annotations

import base64
import gzip
from functools import lru_cache

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

# Unpacks plotly.js, runs it in the page's global scope, then draws each figure; marks the
# body when done (`data-plotted`), so a test (or a reader's script) knows the page is drawn.
_LOADER = """
(async () => {
  const packed = document.getElementById("plotly-js").textContent.trim();
  const bytes = Uint8Array.from(atob(packed), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  (0, eval)(await new Response(stream).text());
  for (const spec of document.querySelectorAll("script[data-plot]")) {
    const figure = JSON.parse(spec.textContent);
    await Plotly.newPlot(spec.dataset.plot, figure.data, figure.layout, {responsive: true});
  }
  document.body.dataset.plotted = "yes";
})();
"""


@lru_cache(maxsize=1)
def packed() -> str:
    """plotly.js, gzip-compressed (no timestamp: the same bytes every time) and base64."""
    return base64.b64encode(gzip.compress(get_plotlyjs().encode(), compresslevel=9, mtime=0)).decode()


def figure_html(figure: go.Figure, div_id: str, height: int) -> str:
    """A figure's place on the page and its JSON, drawn once plotly.js is unpacked."""
    spec = figure.to_json().replace("</", "<\\/")  # never ends its script element early
    return (
        f'<div id="{div_id}" class="plotly-graph-div" style="height:{height}px;width:100%"></div>'
        f'<script type="application/json" data-plot="{div_id}">{spec}</script>'
    )


def scripts() -> str:
    """At the end of the body: the packed library once, and the loader that draws the figures
    (Plotly.newPlot for each)."""
    return (
        f'<script id="plotly-js" type="application/octet-stream">{packed()}</script>'
        f'<script type="text/javascript">{_LOADER}</script>'
    )
