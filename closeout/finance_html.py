"""The finance page as one self-contained HTML document: inline CSS and an inline SVG chart, no
script and no address outside the page, so it renders the same from `closeout serve`, from a
file written by `closeout report --html`, or attached to an e-mail. Every value from the data
is escaped."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from html import escape

from closeout.finance_page import CHART_LOCATIONS, PageData

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1d2733; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #d5dbe1; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #eef1f4; text-align: left;
         vertical-align: top; }
td.amount, th.amount { text-align: right; font-variant-numeric: tabular-nums; }
.summary span { display: inline-block; margin-right: 1.5em; font-size: 1.1em; }
.state-posted, .state-adjusted { color: #17663a; }
.state-held, .state-changed, .state-pending, .state-ready { color: #8a5a00; }
.state-failed, .off { color: #b3261e; }
.off { font-weight: 600; }
.muted { color: #66727f; }
"""
# Colour-blind-safe series colours (Okabe-Ito, then a few more).
COLOURS = (
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00",
    "#f0e442", "#000000", "#7f7f7f", "#8c564b", "#17becf", "#bcbd22",
)  # fmt: skip


def render_page(data: PageData) -> str:
    sections = [
        _summary(data),
        _journals(data),
        _tie(data),
        _chart(data),
        _runs(data),
        _webhooks(data),
        _schedule(data),
    ]
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>closeout: {escape(data.erp)} journals</title><style>{STYLE}</style></head>"
        f"<body><h1>Daily sales journals: Toast to {escape(data.erp)}</h1>"
        f"<p class='muted'>As of {_when(data.now)}; business dates "
        f"{data.first_day:%Y-%m-%d} onwards. Read-only.</p>"
        + "".join(sections)
        + "</body></html>\n"
    )


def _summary(data: PageData) -> str:
    counts: dict[str, int] = {}
    for row in data.journals:
        counts[row.state] = counts.get(row.state, 0) + 1
    posted = counts.get("posted", 0) + counts.get("adjusted", 0)
    shown = [("Posted", posted), ("Held", counts.get("held", 0))]
    shown += [("Failed", counts.get("failed", 0)), ("Waiting to post", counts.get("ready", 0))]
    shown += [("Changed since posting", counts.get("changed", 0))]
    spans = "".join(f"<span>{label}: <strong>{n}</strong></span>" for label, n in shown)
    missing = "".join(f"<p class='muted'>Not yet: {escape(m)}</p>" for m in data.missing)
    untied = sum(not tie.ties for tie in data.ties)
    tie = (
        f"<span>Days that do not tie to Toast: <strong class='off'>{untied}</strong></span>"
        if untied
        else "<span>Every day ties to Toast</span>"
    )
    return f"<section id='summary' class='summary'>{spans}{tie}{missing}</section>"


def _journals(data: PageData) -> str:
    rows = "".join(
        f"<tr class='state-{escape(row.state)}'><td>{escape(row.location)}</td>"
        f"<td>{row.business_date:%Y-%m-%d}</td><td>{escape(row.journal_type)}</td>"
        f"<td>{escape(row.state)}</td><td>{escape(row.detail)}</td>"
        f"<td class='amount'>{row.adjustments or ''}</td></tr>"
        for row in reversed(data.journals)
    )
    return _section(
        "journals",
        "Journals: posted, held, failed",
        "<p class='muted'>Posted: the ERP's document. Held: why, and what to fix. Failed: the "
        "ERP's message (fix it, then <code>closeout replay</code>).</p>"
        + _table(["Location", "Business date", "Journal", "State", "Detail", "Adjustments"], rows),
    )


def _tie(data: PageData) -> str:
    header = "".join(
        f"<th class='amount'>{escape(label)}: Toast</th><th class='amount'>journal</th>"
        "<th class='amount'>difference</th>"
        for label, *_ in data.ties[0].figures
    ) if data.ties else ""  # fmt: skip
    rows = []
    for tie in reversed(data.ties):
        cells = "".join(
            f"<td class='amount'>{_money(toast)}</td><td class='amount'>{_money(journal)}</td>"
            f"<td class='amount{' off' if difference else ''}'>"
            f"{'&ne; ' if difference else ''}{_money(difference)}</td>"
            for _, toast, journal, difference in tie.figures
        )
        rows.append(
            f"<tr><td>{escape(tie.location)}</td><td>{tie.business_date:%Y-%m-%d}</td>{cells}</tr>"
        )
    table = (
        "<table><thead><tr><th>Location</th><th>Business date</th>"
        f"{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else "<p class='muted'>No sales summary yet.</p>"
    )
    return _section("tie", "Tie to Toast (sales summary)", table)


def _chart(data: PageData, width: int = 760, height: int = 280, margin: int = 60) -> str:
    series = sorted(data.net_sales.items(), key=lambda item: -sum(amount for _, amount in item[1]))[
        :CHART_LOCATIONS
    ]
    if not series:
        return _section("chart", "Daily net sales", "<p class='muted'>No sales yet.</p>")
    days = sorted({day for _, points in series for day, _ in points})
    amounts = [amount for _, points in series for _, amount in points]
    top, bottom = max(max(amounts), Decimal(0)), min(min(amounts), Decimal(0))
    spread = (top - bottom) or Decimal(1)
    span = max(len(days) - 1, 1)

    def x(day: date) -> float:
        return margin + (width - 2 * margin) * days.index(day) / span

    def y(amount: Decimal) -> float:  # drawing only: the share is worked out in Decimal
        share = float((amount - bottom) / spread)
        return height - margin / 2 - (height - margin) * share

    lines, legend = [], []
    for n, (location, points) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        path = " ".join(f"{x(day):.1f},{y(amount):.1f}" for day, amount in points)
        dots = "".join(
            f"<circle cx='{x(day):.1f}' cy='{y(amount):.1f}' r='3' fill='{colour}'>"
            f"<title>{escape(location)} {day:%Y-%m-%d}: {_money(amount)}</title></circle>"
            for day, amount in points
        )
        lines.append(
            f"<g class='series' data-location='{escape(location, quote=True)}'>"
            f"<polyline fill='none' stroke='{colour}' stroke-width='2' points='{path}'/>{dots}</g>"
        )
        legend.append(f"<li><span style='color:{colour}'>&#9632;</span> {escape(location)}</li>")
    axis = (
        f"<text x='4' y='{margin / 2 + 4:.0f}' font-size='11'>{_money(top)}</text>"
        f"<text x='4' y='{height - margin / 2:.0f}' font-size='11'>{_money(bottom)}</text>"
        + "".join(
            f"<text x='{x(day):.1f}' y='{height - 8}' font-size='11' text-anchor='middle'>"
            f"{day:%m-%d}</text>"
            for day in days[:: max(len(days) // 10, 1)]
        )
        + f"<line x1='{margin}' y1='{height - margin / 2}' x2='{width - margin}' "
        f"y2='{height - margin / 2}' stroke='#b0b8c0'/>"
    )
    more = len(data.net_sales) - len(series)
    note = f"<p class='muted'>The {len(series)} largest of {len(data.net_sales)} locations.</p>"
    svg = (
        f"<svg role='img' aria-label='Daily net sales per location' width='{width}' "
        f"height='{height}' viewBox='0 0 {width} {height}'>{axis}{''.join(lines)}</svg>"
    )
    return _section(
        "chart",
        "Daily net sales (Toast)",
        svg + f"<ul class='legend'>{''.join(legend)}</ul>" + (note if more else ""),
    )


def _runs(data: PageData) -> str:
    if data.runs:
        rows = "".join(_run_row(*run) for run in data.runs)
        body = _table(
            ["Started", "Why", "Locations", "Webhook orders", "Orders loaded", "Load s",
             "Build s", "Post s", "Posted", "Held", "Failed", "Outcome", "Message"],
            rows,
        )  # fmt: skip
    elif data.loads:
        rows = "".join(
            f"<tr><td>{_when(started)}</td><td>{escape(name or '')}</td><td>{escape(mode)}</td>"
            f"<td>{orders}</td><td>{rejects}</td><td>{escape(status)}</td>"
            f"<td>{escape(errors or '')}</td></tr>"
            for started, name, mode, orders, rejects, status, errors in data.loads
        )
        body = _table(
            ["Started", "Location", "Load", "Orders", "Rejects", "Outcome", "Errors"], rows
        )
    else:
        body = "<p class='muted'>No runs recorded yet.</p>"
    return _section("runs", "Last runs", body)


def _run_row(
    started, _finished, trigger, locations, events, orders, load, build, post, posted, held,
    failed, outcome, message,
) -> str:  # fmt: skip
    return (
        f"<tr class='{'' if outcome == 'ok' else 'state-failed'}'>"
        f"<td>{_when(started)}</td><td>{escape(trigger)}</td><td>{locations}</td>"
        f"<td>{events}</td><td>{orders}</td><td>{_seconds(load)}</td><td>{_seconds(build)}"
        f"</td><td>{_seconds(post)}</td><td>{posted}</td><td>{held}</td><td>{failed}</td>"
        f"<td>{escape(outcome)}</td><td>{escape(message or '')}</td></tr>"
    )


def _webhooks(data: PageData) -> str:
    service = data.service
    if service is None or service.webhook_counters is None:
        note = service.note if service and service.note else "no webhook spool"
        return _section("webhooks", "Toast webhooks", f"<p class='muted'>{escape(note)}</p>")
    labels = {
        "received": "Received",
        "verified": "Verified",
        "refused": "Refused (bad signature)",
        "applied": "Applied",
        "duplicates": "Duplicates",
    }
    rows = "".join(
        f"<tr><td>{label}</td><td class='amount' data-counter='{name}'>"
        f"{service.webhook_counters.get(name, 0)}</td></tr>"
        for name, label in labels.items()
    )
    return _section("webhooks", "Toast webhooks", _table(["", "Messages"], rows))


def _schedule(data: PageData) -> str:
    if data.service is None or not data.service.next_due:
        return _section("schedule", "Next runs", "<p class='muted'>No schedule known yet.</p>")
    rows = "".join(
        f"<tr><td>{escape(location)}</td><td>{day:%Y-%m-%d}</td><td>{_when(at)}</td></tr>"
        for location, day, at in data.service.next_due
    )
    return _section(
        "schedule",
        "Next runs",
        _table(["Location", "Business date", "Due (its close + settle delay)"], rows),
    )


def _section(section_id: str, title: str, body: str) -> str:
    return f"<section id='{section_id}'><h2>{escape(title)}</h2>{body}</section>"


def _table(headers: list[str], rows: str) -> str:
    if not rows:
        return "<p class='muted'>Nothing yet.</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _money(amount: Decimal | None) -> str:
    return "&ndash;" if amount is None else f"{amount:,.2f}"


def _seconds(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.1f}"


def _when(moment: datetime) -> str:
    utc = moment.astimezone(timezone.utc) if moment.tzinfo else moment
    return f"{utc:%Y-%m-%d %H:%M} UTC"
