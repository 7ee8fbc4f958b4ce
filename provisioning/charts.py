"""A dependency-free usage chart: an inline SVG line of disk usage over time, drawn on the server."""
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28  # room for the axis labels


def usage_chart_svg(history, *, title="Disk usage"):
    """`history` is [(date, disk_mb, disk_limit_mb)], oldest first. Returns safe SVG markup, or '' when there
    is nothing to draw."""
    if not history:
        return ""
    values = [Decimal(mb) for _, mb, _ in history]
    limit = history[-1][2]
    top_value = max(values + ([Decimal(limit)] if limit else []))
    scale_max = _nice_ceiling(top_value * Decimal("1.1")) if top_value > 0 else Decimal(1)
    first, last = chart_span(history)
    span_days = max((last - first).days, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day):  # formatted here: format_html escapes its arguments into strings
        return f"{LEFT + plot_w * ((day - first).days / span_days if len(history) > 1 else 0.5):.1f}"

    def y(value):
        return f"{TOP + plot_h * (1 - float(Decimal(value) / scale_max)):.1f}"

    points = " ".join(f"{x(day)},{y(mb)}" for day, mb, _ in history)
    parts = [
        format_html('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-width="1"/>',
                    LEFT, TOP + plot_h, WIDTH - RIGHT, TOP + plot_h),
        format_html('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-width="1"/>', LEFT, TOP, LEFT,
                    TOP + plot_h),
        format_html('<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#555">{}</text>',
                    LEFT - 6, TOP + 10, _mb_label(scale_max)),
        format_html('<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#555">0</text>', LEFT - 6, TOP + plot_h),
        format_html('<text x="{}" y="{}" font-size="11" fill="#555">{}</text>', LEFT, HEIGHT - 8, first.isoformat()),
        format_html('<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#555">{}</text>', WIDTH - RIGHT,
                    HEIGHT - 8, last.isoformat()),
    ]
    if limit:
        parts.append(format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#c01c28" stroke-dasharray="5 4" stroke-width="1">'
            '<title>Limit {}</title></line>', LEFT, y(limit), WIDTH - RIGHT, y(limit), _mb_label(limit)))
    if len(history) > 1:
        parts.append(format_html('<polyline fill="none" stroke="#1a5fb4" stroke-width="2" points="{}"/>', points))
    parts.append(format_html_join("", '<circle cx="{}" cy="{}" r="2.5" fill="#1a5fb4"><title>{}: {}</title>'
                                      '</circle>', ((x(d), y(mb), d.isoformat(), _mb_label(mb)) for d, mb, _ in history)))
    label = f"{title}: {_mb_label(values[0])} on {first.isoformat()} to {_mb_label(values[-1])} on {last.isoformat()}"
    return format_html(
        '<svg class="usage-chart" role="img" aria-label="{}" viewBox="0 0 {} {}" width="{}" height="{}" '
        'preserveAspectRatio="xMidYMid meet"><title>{}</title>{}</svg>',
        label, WIDTH, HEIGHT, WIDTH, HEIGHT, label, mark_safe("".join(parts)),
    )


def chart_span(history):
    """The first and the last day of the readings: the chart's time axis runs from one to the other."""
    return history[0][0], history[-1][0]


def usage_chart_caption(history):
    """The caption under the chart, stating the span of its axis (from the same readings)."""
    first, last = chart_span(history)
    if first == last:
        return f"One daily reading, on {first.isoformat()}."
    return f"Daily readings from {first.isoformat()} to {last.isoformat()} ({(last - first).days} days)."


def _mb_label(value):
    value = Decimal(value)
    if value >= 1024:
        return f"{(value / 1024).quantize(Decimal('0.1'))} GB"
    return f"{value.quantize(Decimal('1'))} MB"


def _nice_ceiling(value):
    """A round number at or above `value` for the top of the axis (1, 2, 2.5, 5 × a power of ten)."""
    magnitude = Decimal(10) ** (len(str(int(value))) - 1) if value >= 1 else Decimal(1)
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude
