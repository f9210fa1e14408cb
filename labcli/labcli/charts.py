"""Tiny, dependency-free charts: a text sparkline for the terminal and an inline SVG line
chart for HTML pages (no fonts, scripts or styles fetched)."""
from xml.sax.saxutils import escape

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values):
    values = [v for v in values if v is not None]
    if not values:
        return "(no data)"
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return "".join(BARS[int((v - lo) / span * (len(BARS) - 1))] for v in values)


def fmt(value):
    if value is None:
        return "-"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.3g}"


def svg_line_chart(title, series, width=460, height=180):
    """series: [(label, [(t, value), ...])] -> an <svg> element as text."""
    pad_l, pad_r, pad_t, pad_b = 48, 12, 26, 22
    points = [(t, v) for _, pts in series for t, v in pts if v is not None]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" role="img">',
           f"<title>{escape(title)}</title>",
           f'<text x="{pad_l}" y="16" font-size="12" font-weight="bold">{escape(title)}</text>',
           f'<rect x="{pad_l}" y="{pad_t}" width="{width - pad_l - pad_r}" height="{height - pad_t - pad_b}" '
           'fill="#fafafa" stroke="#ddd"/>']
    if not points:
        out.append(f'<text x="{width / 2}" y="{height / 2}" font-size="11" text-anchor="middle" fill="#888">no data yet</text>')
        return "\n".join(out + ["</svg>"])
    t0, t1 = min(p[0] for p in points), max(p[0] for p in points)
    v0, v1 = min(0.0, min(p[1] for p in points)), max(p[1] for p in points)
    t1, v1 = (t1 if t1 > t0 else t0 + 1), (v1 if v1 > v0 else v0 + 1)
    iw, ih = width - pad_l - pad_r, height - pad_t - pad_b

    def xy(t, v):
        return pad_l + (t - t0) / (t1 - t0) * iw, pad_t + ih - (v - v0) / (v1 - v0) * ih
    for frac in (0.0, 0.5, 1.0):
        value = v0 + frac * (v1 - v0)
        _, y = xy(t0, value)
        out.append(f'<text x="{pad_l - 4}" y="{y + 4:.0f}" font-size="10" text-anchor="end" fill="#555">{fmt(value)}</text>')
    colors = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
    for i, (label, pts) in enumerate(series):
        pts = [(t, v) for t, v in pts if v is not None]
        if not pts:
            continue
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(t, v) for t, v in pts))
        color = colors[i % len(colors)]
        out.append(f'<polyline class="series" data-label="{escape(label)}" points="{path}" fill="none" '
                   f'stroke="{color}" stroke-width="1.8"/>')
        out.append(f'<text x="{pad_l + 4 + 150 * i}" y="{height - 6}" font-size="10" fill="{color}">'
                   f'{escape(label)}: {fmt(pts[-1][1])}</text>')
    out.append("</svg>")
    return "\n".join(out)
