"""The report's charts as PNG bytes, drawn with matplotlib's Agg backend (no display, no files).

Imported only when a report is drawn: the daemon and every other command never load matplotlib.
Sized for a phone (they are shown at the page's width, 640 px at most) and drawn at twice that
for sharp screens.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

if TYPE_CHECKING:
    from socialcare.report import Report

INK, MUTED, GRID = "#1f2937", "#6b7280", "#e5e7eb"
BLUE, RED, GREEN, GREY, AMBER = "#2563eb", "#dc2626", "#16a34a", "#9ca3af", "#d97706"
CHANNEL_COLOURS = ("#2563eb", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#475569")
TARGET_COLOURS = {"urgent": "#b91c1c", "complaint": "#c2410c", "normal": INK}
WIDTH, DPI = 4.4, 220
BOUNDS_MIN = (5, 15, 30, 60, 120, 240, 480, 1440)
"""Response-time bins (minutes) before the targets are added to them."""


STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.edgecolor": GRID,
    "axes.labelcolor": MUTED,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.spines.left": False,
}


def draw_all(report: Report) -> dict[str, bytes]:
    with matplotlib.rc_context(STYLE):
        return {
            "volume": volume_by_hour(report),
            "sentiment": sentiment_trend(report),
            "response": response_times(report),
        }


def _figure(height: float) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH, height), dpi=DPI)
    axes = figure.add_subplot()
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)
    axes.tick_params(length=0)
    return figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout(pad=0.6)
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def _legend(axes: Axes, columns: int) -> None:
    """Above the plot, never over the bars."""
    axes.legend(
        frameon=False,
        fontsize=9,
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncols=columns,
        handlelength=1.2,
        columnspacing=1.0,
        borderaxespad=0.2,
    )


def _empty(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, transform=axes.transAxes, ha="center", va="center", color=MUTED, fontsize=11)
    axes.set_yticks([])


def volume_by_hour(report: Report) -> bytes:
    """The day's messages per hour, stacked by channel, with the same weekday last week as a line."""
    figure, axes = _figure(2.7)
    labels = report.hour_labels()
    positions = list(range(len(labels)))
    bottom = [0] * len(labels)
    busy = [(name, scope) for name, scope in report.channels.items() if any(scope.hourly)]
    for index, (name, scope) in enumerate(busy):
        colour = CHANNEL_COLOURS[index % len(CHANNEL_COLOURS)]
        axes.bar(positions, scope.hourly, bottom=bottom, color=colour, width=0.78, label=name)
        bottom = [a + b for a, b in zip(bottom, scope.hourly, strict=True)]
    zone = report.day.zone
    week = [report.last_week_hourly[t.astimezone(zone).hour] for t in report.day.hour_starts()]
    if any(week):
        axes.plot(positions, week, color=INK, linewidth=1.2, linestyle=(0, (3, 2)), label="a week ago")
    if not busy and not any(week):
        _empty(axes, "No messages this day")
    else:
        _legend(axes, min(4, len(busy) + 1))
        top = max(max(bottom), max(week))
        axes.set_ylim(0, top * 1.1 + 1)
        axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_xticks(positions[::3], [label[:2] for label in labels[::3]])
    axes.set_xlim(-0.6, len(labels) - 0.4)
    axes.set_xlabel(f"hour of the day ({zone.key})", fontsize=9)
    return _png(figure)


def sentiment_trend(report: Report) -> bytes:
    """The negative share of each of the last 28 days, its 7-day average, and the report's day marked."""
    figure, axes = _figure(2.5)
    days = report.trend
    shares = [d.negative / d.classified * 100 if d.classified else None for d in days]
    positions = list(range(len(days)))
    seen = [(p, s) for p, s in zip(positions, shares, strict=True) if s is not None]
    if not seen:
        _empty(axes, "No classified messages in 28 days")
    else:
        axes.bar(
            [p for p, _ in seen],
            [s for _, s in seen],
            color=["#fca5a5" if p != positions[-1] else RED for p, _ in seen],
            width=0.8,
            label="per day",
        )
        rolling = []
        for p in positions:
            window = days[max(0, p - 6) : p + 1]
            classified = sum(d.classified for d in window)
            rolling.append(sum(d.negative for d in window) / classified * 100 if classified else None)
        axes.plot(
            positions,
            [r if r is not None else float("nan") for r in rolling],
            color="#991b1b",
            linewidth=1.8,
            label="7-day average",
        )
        month = report.trend_share(len(days))
        if month is not None:
            axes.axhline(month * 100, color=INK, linewidth=1, linestyle=":", label="28 days")
        axes.set_ylim(0, min(100, max(max(s for _, s in seen), 10) * 1.1))
        axes.yaxis.set_major_formatter(lambda v, _: f"{v:.0f} %")
        _legend(axes, 3)
    ticks = [p for p in (positions[-1] - 7 * k for k in range(3, -1, -1)) if p >= 0]
    axes.set_xticks(ticks, [f"{days[t].date:%d %b}" for t in ticks])
    axes.set_xlim(-0.6, len(days) - 0.4)
    return _png(figure)


def response_times(report: Report) -> bytes:
    """How fast first responses came, in bins, against the targets (in the channels' own clock)."""
    figure, axes = _figure(2.5)
    minutes = [s / 60 for s in report.total.first_response.business]
    targets = sorted({round(s / 60) for t in report.targets.values() for s in t.values()})
    bounds = sorted(set(BOUNDS_MIN) | set(targets))
    counts = [0] * (len(bounds) + 1)
    for value in minutes:
        counts[next((i for i, b in enumerate(bounds) if value <= b), len(bounds))] += 1
    normal = max((t["normal"] / 60 for t in report.targets.values()), default=60)
    colours = [
        GREEN if (bounds[i] if i < len(bounds) else float("inf")) <= normal else AMBER for i in range(len(counts))
    ]
    positions = list(range(len(counts)))
    labels = [f"≤{_short(bounds[0])}"] + [_short(b) for b in bounds[1:]] + [f">{_short(bounds[-1])}"]
    if not minutes:
        _empty(axes, "No first responses this day")
    else:
        axes.bar(positions, counts, color=colours, width=0.78)
        top = max(counts)
        axes.set_ylim(0, top * 1.2 + 1)
        for p, n in zip(positions, counts, strict=True):
            if n:
                axes.text(p, n + top * 0.02, f"{n:,}", ha="center", va="bottom", fontsize=8.5, color=INK)
        names: dict[int, str] = {}
        for account_targets in report.targets.values():
            for priority, seconds in account_targets.items():
                names.setdefault(round(seconds / 60), priority)
        for target in targets:
            colour = TARGET_COLOURS.get(names[target], INK)
            axes.axvline(
                bounds.index(target) + 0.5,
                color=colour,
                linewidth=1.2,
                linestyle=(0, (3, 2)),
                label=f"{names[target]} {_short(target)}",
            )
        axes.yaxis.get_major_locator().set_params(integer=True)
        _legend(axes, 3)
    axes.set_xticks(positions, labels, fontsize=8.5)
    axes.set_xlabel("first response within · amber: slower than the normal target", fontsize=9)
    return _png(figure)


def _short(minutes: float) -> str:
    span = timedelta(minutes=minutes)
    if span < timedelta(hours=1):
        return f"{int(minutes)}m"
    if span < timedelta(days=1) or span.total_seconds() % 86400:
        return f"{minutes / 60:g}h"
    return f"{span.days}d"
