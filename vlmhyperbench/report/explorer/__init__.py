"""The sample explorer: `RUN/samples.html` and its data under `RUN/samples/`, every answer of every model
to every sample, written with the report (explorer.write)."""

from vlmhyperbench.report.explorer.write import SAMPLES_HTML, render_viewer, write_explorer

__all__ = ["SAMPLES_HTML", "render_viewer", "write_explorer"]
