"""The benchmark suite's figures as a text table: figure, value, baseline, target, notes (``bench/run.py``)."""

from __future__ import annotations

from typing import Any


def _n(x: float, unit: str = "") -> str:
    if abs(x) >= 100:
        text = f"{x:,.0f}"
    elif abs(x) >= 10:
        text = f"{x:.1f}"
    else:
        text = f"{x:.2f}"
    return f"{text} {unit}".rstrip()


def table(f: dict[str, Any]) -> str:
    """figure | value | what it is measured against | target | notes."""
    c = f["context"]
    t = f["targets"]
    rows: list[tuple[str, ...]] = [("figure", "value", "against", "target", "notes")]

    def row(name: str, value: str, against: str = "", note: str = "") -> None:
        verdict = f"{t[name]['target']}  {'pass' if t[name]['pass'] else 'FAIL'}" if name in t else ""
        rows.append((name, value, against, verdict, note))

    s = c["sqlite_sync"]
    row("push_per_s", _n(f["push_per_s"], "facts/s"), f"raw_append_per_s {_n(f['raw_append_per_s'])}",
        f"SQLite, {s['facts']:,} facts in batches of 500 to 1 server process; "
        f"batch p50 {s['push_batch_p50_ms']:,.0f} ms")
    row("push_ratio", _n(f["push_ratio"]))
    row("server_peak_rss_mb", _n(f["server_peak_rss_mb"], "MB"), "",
        f"largest server process after the push (all {s['server_peak_rss_total_mb']:.0f} MB)")
    row("pull_per_s", _n(f["pull_per_s"], "entries/s"), f"sql_select_per_s {_n(f['sql_select_per_s'])}",
        f"SQLite, {s['pulled']:,} entries by a fresh device, pages of 1,000")
    row("pull_ratio", _n(f["pull_ratio"]))
    p = c["projections"]
    row("sqlite_projection_per_s", _n(f["sqlite_projection_per_s"], "events/s"), "",
        f"SQLite, {p['events']:,} events from zero in {p['s']:.1f} s (context)")
    if "pg_push_per_s" in f:
        ps = c["pg_sync"]
        row("pg_push_per_s", _n(f["pg_push_per_s"], "facts/s"),
            f"pg_raw_append_per_s {_n(f['pg_raw_append_per_s'])}",
            f"PostgreSQL, {ps['facts']:,} facts, 1 device, 1 server process")
        row("pg_push_ratio", _n(f["pg_push_ratio"]))
        pp = c["pg_projections"]
        row("pg_projection_per_s", _n(f["pg_projection_per_s"], "events/s"), f"pg_push_per_s {_n(f['pg_push_per_s'])}",
            f"PostgreSQL, {pp['events']:,} events from zero")
        k = c["pg_projections_keeping_pace"]
        row("projection_per_s", _n(f["projection_per_s"], "events/s"),
            f"pg_push_events_per_s {_n(f['pg_push_events_per_s'])}",
            f"PostgreSQL, {k['devices']} accounts x {k['facts'] // k['devices']:,} facts at once, {k['workers']} "
            f"processes, the follower {k['lag_start']:,} events behind at the start, {k['lag_end']:,} at the end"
            + (" (caught up: the ratio is a lower bound)" if k["lag_end"] == 0 else ""))
        row("projection_ratio", _n(f["projection_ratio"]), "", "projection_per_s / pg_push_events_per_s")
        for key, name in (("pg_concurrent_1", "pg_push_per_s_1"), ("pg_concurrent_n", "pg_push_per_s_n")):
            r = c[key]
            against = "" if key.endswith("_1") else f"x{f['pg_scaling_n']:.2f} of 1 process"
            if len(r.get("runs_per_s", [])) > 1:
                against = ", ".join(x for x in (against, "best of " + ", ".join(_n(v) for v in r["runs_per_s"])) if x)
            row(name, _n(f[name], "facts/s"), against,
                f"{r['devices']} accounts x {r['facts'] // r['devices']:,} facts at once, {r['workers']} process"
                f"{'es' if r['workers'] > 1 else ''}; table lock held {r['lock_held_share']:.0%} / waited for "
                f"{r['lock_waiting_share']:.0%} of the time; server CPU {r['server_cpu_ms_per_fact']:.2f} ms/fact; "
                f"machine busy {r['machine_busy_share']:.0%}")
    q = c["as_of"]
    for name in ("small", "large"):
        h = q[name]
        row(f"as_of_ms_{name}", _n(f[f"as_of_ms_{name}"], "ms"), f"warm {_n(h['warm_ms'], 'ms')}",
            f"{h['events']:,} events, {h['decisions']:,} decisions; cold = open {h['open_ms']:.1f} + query "
            f"{h['query_ms']:.1f} ms; snapshot {h['snapshot_kb']:.0f} kB + "
            f"{h['program_version'] - h['snapshot_version']} events")
    row("as_of_ratio", _n(f["as_of_ratio"]), "", "large / small, cold")
    cli = c["cli"]
    row("cli_help_ratio", _n(f["cli_help_ratio"]), f"import click {cli['import_click_ms']:.0f} ms",
        f"{cli['cli_help_command']} {cli['cli_help_ms']:.0f} ms (medians of {cli['cli_help_runs']}, interleaved)")
    row("cli_show_ratio", _n(f["cli_show_ratio"]), f"import click {cli['import_click_ms']:.0f} ms",
        f"{cli['cli_show_command']} {cli['cli_show_ms']:.0f} ms on a year of history "
        f"({cli['show_store_events']:,} events, {cli['show_exercises']} exercises shown); "
        f"fastest runs {cli['cli_show_ratio_best']:.2f}")
    rep = c["report"]
    row("report_s", _n(f["report_s"], "s"), f"import matplotlib+jinja2 {rep['report_floor_s']:.2f} s",
        f"{rep['report_command']} over {rep['report_days']:,} days ({rep['report_events']:,} events), "
        f"{rep['report_kb']:,} kB; CPU {rep['report_cpu_s']:.2f} s; fastest {rep['report_best_s']:.2f} s; "
        f"default month {rep['report_month_s']:.2f} s (CPU {rep['report_month_cpu_s']:.2f} s)")
    ins = c["insights"]["by_command"]
    for key, period in (("insight_month_ms", "month"), ("insight_all_ms", "all")):
        row(key, _n(f[key], "ms"), "slowest command", ", ".join(f"{k} {v:.0f}" for k, v in ins[period].items()))
    row("day_ms", _n(f["day_ms"], "ms"), "", "backstory day DATE --json, a day of the last month")
    d = c["dashboard"]
    row("dashboard_ms", _n(f["dashboard_ms"], "ms"), f"/v1/program {_n(f['dashboard_api_ms'], 'ms')}",
        f"server time, median of {d['dates']} random days; {d['events']:,} events over {d['years']} years, "
        f"{d['exercises_median']:.0f} exercises shown; page / endpoint {f['dashboard_ratio']:.2f}, "
        f"p90 {d['dashboard_p90_ms']:.0f} ms")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for i, r in enumerate(rows):
        lines.append(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]:<{widths[3]}}  {r[4]}"
                     .rstrip())
        if i == 0:
            lines.append("-" * min(sum(widths) + 8 + max(len(r[4]) for r in rows), 120))
    return "\n".join(lines)


