"""Pictures for reports: a matplotlib figure as PNG bytes, and PNG bytes inline in HTML.

Shared by the evaluation report and the monitoring report; no ZenML import (the monitoring
functions run on the client before any pipeline starts).
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any


def png_bytes(figure: Any) -> bytes:
    """The figure as PNG, closed afterwards (pyplot keeps every open figure)."""
    from matplotlib import pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def inline_png(png: bytes, alt: str) -> str:
    """An <img> that carries the PNG itself: the page needs no file beside it."""
    image = base64.b64encode(png).decode()
    return f"<img alt='{html.escape(alt, quote=True)}' src='data:image/png;base64,{image}'/>"
