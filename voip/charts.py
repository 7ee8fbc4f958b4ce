"""The client area's daily spend chart: inline SVG bars drawn on the server (no JavaScript, no chart library),
with a title per bar for the exact amount and an accessible label summing up the period."""
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 14, 30
STEPS = (1, 2, Decimal("2.5"), 5, 10)


def axis_top(value):
    """A round figure at or above `value` (1, 2, 2.5 or 5 times a power of ten) for the top of the axis."""
    if value <= 0:
        return Decimal(1)
    scale = Decimal(1)
    while value > 10 * scale:
        scale *= 10
    while value <= scale:
        scale /= 10
    return next(step * scale for step in STEPS if value <= step * scale)


def spend_chart_svg(days, *, currency=""):
    """`days`: [(date, Decimal spent)], oldest first. Safe SVG markup; '' for an empty period."""
    if not days:
        return ""
    total = sum((amount for _, amount in days), Decimal(0))
    top = axis_top(max(amount for _, amount in days))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(days)
    bar = max(slot * 0.7, 1.0)
    unit = f" {currency}" if currency else ""

    def bar_markup(index, day, amount):
        height = plot_h * float(amount / top)  # pixels: the ratio is Decimal, only the drawing is float
        x = LEFT + index * slot + (slot - bar) / 2
        return (f"{x:.1f}", f"{TOP + plot_h - height:.1f}", f"{bar:.1f}", f"{height:.1f}", day.isoformat(),
                f"{amount.quantize(Decimal('0.0001'))}{unit}")

    bars = format_html_join(
        "", '<rect class="spend-bar" x="{}" y="{}" width="{}" height="{}" fill="#1a5fb4"><title>{}: {}</title></rect>',
        (bar_markup(index, day, amount) for index, (day, amount) in enumerate(days) if amount > 0),
    )
    axes = [
        format_html('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999"/>', LEFT, TOP + plot_h, WIDTH - RIGHT,
                    TOP + plot_h),
        format_html('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999"/>', LEFT, TOP, LEFT, TOP + plot_h),
        format_html('<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#555">{}</text>', LEFT - 6, TOP + 10,
                    f"{top.normalize():f}{unit}"),
        format_html('<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#555">0</text>', LEFT - 6,
                    TOP + plot_h),
        format_html('<text x="{}" y="{}" font-size="11" fill="#555">{}</text>', LEFT, HEIGHT - 10,
                    days[0][0].isoformat()),
        format_html('<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#555">{}</text>', WIDTH - RIGHT,
                    HEIGHT - 10, days[-1][0].isoformat()),
    ]
    label = (f"Daily call spend from {days[0][0].isoformat()} to {days[-1][0].isoformat()}: "
             f"{total.quantize(Decimal('0.01'))}{unit} in total")
    return format_html(
        '<svg class="spend-chart" data-testid="spend-chart" role="img" aria-label="{}" viewBox="0 0 {} {}" '
        'width="{}" height="{}" preserveAspectRatio="xMidYMid meet"><title>{}</title>{}{}</svg>',
        label, WIDTH, HEIGHT, WIDTH, HEIGHT, label, mark_safe("".join(axes)), bars,
    )
