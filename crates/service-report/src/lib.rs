//! The monthly service-standards report: the figures of `rendan_domain::service::Report` as
//! Markdown, CSV and a self-contained HTML page whose charts are inline SVG (rates per group
//! over the days of the range against the targets, and the lead-time distribution), so it
//! opens anywhere without a network.

use rendan_domain::service::{Figures, Rate, Report, Targets};
use std::fmt::Write;

/// The three rates of a group, with their names and targets.
fn rates<'a>(f: &'a Figures, t: Option<&Targets>) -> [(&'static str, &'a Rate, Option<f64>); 3] {
    [
        ("on time", &f.on_time, t.map(|t| t.on_time)),
        (
            "first-visit install",
            &f.first_visit,
            t.map(|t| t.first_visit),
        ),
        ("promise kept", &f.promise_kept, t.map(|t| t.promise_kept)),
    ]
}

fn percent(r: &Rate) -> String {
    match r.percent() {
        Some(p) => format!("{p:.1}%"),
        None => "—".to_string(),
    }
}

fn verdict(r: &Rate, target: Option<f64>) -> &'static str {
    match target {
        None => "",
        Some(_) if r.total == 0 => "no data",
        Some(t) if r.meets(t) => "met",
        Some(_) => "MISSED",
    }
}

fn days(v: Option<i64>) -> String {
    v.map_or_else(|| "—".to_string(), |d| d.to_string())
}

fn customer_reasons(f: &Figures) -> String {
    let parts: Vec<String> = f
        .customer
        .by_reason
        .iter()
        .map(|(r, n)| format!("{} {n}", r.as_str()))
        .collect();
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}

/// The report as Markdown: one table of rates against targets, one of lead times and misses.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let by = report.group_by.as_str();
    let _ = writeln!(
        out,
        "# Service standards {} to {} by {by}\n\nOn time: arrival inside the booked window \
         (tolerance {} min). Misses caused by the customer are excluded from the rates and \
         counted in the last table.\n",
        report.from,
        report.to,
        report.tolerance.as_mins()
    );
    let _ = writeln!(
        out,
        "| {by} | visits | on time | target | | first-visit install | target | | promise kept | target | |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---|---:|---:|---|---:|---:|---|");
    for (key, f) in &report.groups {
        let t = report.targets.get(key);
        let _ = write!(out, "| {key} | {} |", f.visits);
        for (_, r, target) in rates(f, t) {
            let _ = write!(
                out,
                " {} ({}/{}) | {} | {} |",
                percent(r),
                r.met,
                r.total,
                target.map_or(String::new(), |t| format!("{t:.0}%")),
                verdict(r, target)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\n| {by} | installed | lead p50 (days) | lead p90 (days) | customer-caused: on time | first visit | promise | by reason |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---|");
    for (key, f) in &report.groups {
        let _ = writeln!(
            out,
            "| {key} | {} | {} | {} | {} | {} | {} | {} |",
            f.lead_days.len(),
            days(f.lead_quantile(0.5)),
            days(f.lead_quantile(0.9)),
            f.customer.on_time,
            f.customer.first_visit,
            f.customer.promise_kept,
            customer_reasons(f)
        );
    }
    out
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// The report as CSV, one row per group.
pub fn csv(report: &Report) -> String {
    let mut out = String::from(
        "from,to,group_by,key,visits,on_time_met,on_time_total,on_time_pct,on_time_target,\
         first_visit_met,first_visit_total,first_visit_pct,first_visit_target,promise_met,\
         promise_total,promise_pct,promise_target,installed,lead_p50_days,lead_p90_days,\
         customer_on_time,customer_first_visit,customer_promise\n",
    );
    for (key, f) in &report.groups {
        let t = report.targets.get(key);
        let _ = write!(
            out,
            "{},{},{},{},{}",
            report.from,
            report.to,
            report.group_by.as_str(),
            csv_field(key),
            f.visits
        );
        for (_, r, target) in rates(f, t) {
            let _ = write!(
                out,
                ",{},{},{},{}",
                r.met,
                r.total,
                r.percent().map_or(String::new(), |p| format!("{p:.2}")),
                target.map_or(String::new(), |t| format!("{t}"))
            );
        }
        let q = |v: Option<i64>| v.map_or(String::new(), |d| d.to_string());
        let _ = writeln!(
            out,
            ",{},{},{},{},{},{}",
            f.lead_days.len(),
            q(f.lead_quantile(0.5)),
            q(f.lead_quantile(0.9)),
            f.customer.on_time,
            f.customer.first_visit,
            f.customer.promise_kept
        );
    }
    out
}

fn escape(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Colours that stay apart for readers with the common colour-vision deficiencies (Okabe–Ito).
const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];

const W: f64 = 640.0;
const H: f64 = 220.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;
const RIGHT: f64 = 12.0;

/// One rate per group over the days of the report, 0–100% with gridlines every 20%, the
/// lowest target as a dashed line; days without anything counted leave a gap.
fn rate_chart(
    report: &Report,
    name: &str,
    pick: fn(&Figures) -> &Rate,
    target: fn(&Targets) -> f64,
) -> String {
    let n = report.daily.len().max(1);
    let x = |i: usize| LEFT + (W - LEFT - RIGHT) * (i as f64 + 0.5) / n as f64;
    let y = |p: f64| TOP + (H - TOP - BOTTOM) * (1.0 - p / 100.0);
    let mut svg = format!(
        "<svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{name} per {} and day\">",
        report.group_by.as_str()
    );
    for p in (0..=100).step_by(20) {
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\"/>\
             <text x=\"{}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{p}%</text>",
            W - RIGHT,
            LEFT - 4.0,
            y(f64::from(p)) + 4.0,
            y = y(f64::from(p)),
        );
    }
    let step = (n / 8).max(1);
    for (i, (day, _)) in report.daily.iter().enumerate().step_by(step) {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
            x(i),
            H - 8.0,
            day.strftime("%d %b")
        );
    }
    if let Some(t) = report
        .targets
        .values()
        .map(target)
        .min_by(|a, b| a.total_cmp(b))
    {
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{yt:.1}\" y2=\"{yt:.1}\" class=\"target\"/>\
             <text x=\"{}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">target {t:.0}%</text>",
            W - RIGHT,
            W - RIGHT,
            y(t) - 3.0,
            yt = y(t),
        );
    }
    for (g, key) in report.groups.keys().enumerate() {
        let colour = PALETTE[g % PALETTE.len()];
        let mut path = String::new();
        let mut pen_down = false;
        for (i, (_, groups)) in report.daily.iter().enumerate() {
            match groups.get(key).and_then(|f| pick(f).percent()) {
                Some(p) => {
                    let _ = write!(
                        path,
                        "{}{:.1},{:.1} ",
                        if pen_down { "L" } else { "M" },
                        x(i),
                        y(p)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        if !path.is_empty() {
            let _ = write!(
                svg,
                "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"><title>{}</title></path>",
                path.trim_end(),
                escape(key)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// How many installations took each number of days, one bar group per day count.
fn lead_chart(report: &Report) -> String {
    let max_day = report
        .groups
        .values()
        .filter_map(|f| f.lead_days.last().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let counts: Vec<Vec<usize>> = report
        .groups
        .values()
        .map(|f| {
            (0..=max_day)
                .map(|d| f.lead_days.iter().filter(|&&v| v == d).count())
                .collect()
        })
        .collect();
    let top = counts.iter().flatten().copied().max().unwrap_or(0).max(1);
    let slots = (max_day + 1) as f64;
    let slot = (W - LEFT - RIGHT) / slots;
    let groups = counts.len().max(1) as f64;
    let bar = slot * 0.8 / groups;
    let y = |c: usize| TOP + (H - TOP - BOTTOM) * (1.0 - c as f64 / top as f64);
    let mut svg = format!(
        "<svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"Order-to-installed lead time in days\">"
    );
    for c in [0, top / 2, top] {
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{yc:.1}\" y2=\"{yc:.1}\" class=\"grid\"/>\
             <text x=\"{}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{c}</text>",
            W - RIGHT,
            LEFT - 4.0,
            y(c) + 4.0,
            yc = y(c),
        );
    }
    let label_step = ((max_day + 1) / 15).max(1);
    for d in (0..=max_day).step_by(label_step as usize) {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{d}</text>",
            LEFT + slot * (d as f64 + 0.5),
            H - 8.0
        );
    }
    for (g, (key, row)) in report.groups.keys().zip(&counts).enumerate() {
        let colour = PALETTE[g % PALETTE.len()];
        for (d, &c) in row.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{colour}\">\
                 <title>{}: {c} installed after {d} days</title></rect>",
                LEFT + slot * d as f64 + slot * 0.1 + bar * g as f64,
                y(c),
                y(0) - y(c),
                escape(key)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn legend(report: &Report) -> String {
    let mut out = String::from("<ul class=\"legend\">");
    for (g, key) in report.groups.keys().enumerate() {
        let _ = write!(
            out,
            "<li><span style=\"background:{}\"></span>{}</li>",
            PALETTE[g % PALETTE.len()],
            escape(key)
        );
    }
    out.push_str("</ul>");
    out
}

/// The report as one HTML page: the tables, the daily rates per group against the targets,
/// and the lead-time distribution, all inline.
pub fn html(report: &Report) -> String {
    let by = report.group_by.as_str();
    let mut rows = String::new();
    for (key, f) in &report.groups {
        let t = report.targets.get(key);
        let _ = write!(
            rows,
            "<tr><th scope=\"row\">{}</th><td>{}</td>",
            escape(key),
            f.visits
        );
        for (_, r, target) in rates(f, t) {
            let v = verdict(r, target);
            let _ = write!(
                rows,
                "<td>{} <small>({}/{})</small></td><td class=\"{}\">{}{}</td>",
                percent(r),
                r.met,
                r.total,
                if v == "MISSED" { "missed" } else { "met" },
                target.map_or(String::new(), |t| format!("{t:.0}% ")),
                v
            );
        }
        let _ = write!(
            rows,
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            f.lead_days.len(),
            days(f.lead_quantile(0.5)),
            days(f.lead_quantile(0.9)),
            escape(&customer_reasons(f))
        );
    }
    let charts = [
        (
            "On time",
            rate_chart(report, "On time", |f| &f.on_time, |t| t.on_time),
        ),
        (
            "Installed on the first visit",
            rate_chart(
                report,
                "First-visit install",
                |f| &f.first_visit,
                |t| t.first_visit,
            ),
        ),
        (
            "Promise kept",
            rate_chart(
                report,
                "Promise kept",
                |f| &f.promise_kept,
                |t| t.promise_kept,
            ),
        ),
    ];
    let mut figures = String::new();
    for (title, svg) in charts {
        let _ = write!(
            figures,
            "<figure><figcaption>{title}, per {by} and day</figcaption>{svg}</figure>"
        );
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Service standards {from} to {to}</title><style>\
:root{{color-scheme:light dark;--fg:#1b1b1b;--bg:#fff;--muted:#5f5f5f;--line:#d0d0d0}}\
@media (prefers-color-scheme:dark){{:root{{--fg:#ececec;--bg:#161616;--muted:#b0b0b0;--line:#444}}}}\
body{{font:15px/1.45 system-ui,sans-serif;color:var(--fg);background:var(--bg);max-width:1000px;margin:2em auto;padding:0 1em}}\
table{{border-collapse:collapse;width:100%;margin:1em 0}}th,td{{border-bottom:1px solid var(--line);padding:.35em .5em;text-align:right}}\
th[scope=row],thead th:first-child{{text-align:left}}.missed{{color:#c0392b;font-weight:600}}small{{color:var(--muted)}}\
figure{{margin:1.5em 0}}svg{{width:100%;height:auto}}.grid{{stroke:var(--line)}}.target{{stroke:#c0392b;stroke-dasharray:5 4}}\
.tick{{font-size:11px;fill:var(--muted)}}.legend{{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1em}}\
.legend span{{display:inline-block;width:.9em;height:.9em;margin-right:.35em;vertical-align:-.1em}}\
</style></head><body><h1>Service standards, {from} to {to}</h1>\
<p>On time: arrival inside the booked window (tolerance {tol} min). First-visit install: \
installed on the order's first visit. Promise kept: installed on or before the date first \
promised. Misses caused by the customer are excluded from the rates and listed in the last \
column. Dates are local to each depot.</p>\
<table><thead><tr><th>{by}</th><th>visits</th><th>on time</th><th>target</th>\
<th>first-visit install</th><th>target</th><th>promise kept</th><th>target</th>\
<th>installed</th><th>lead p50 (days)</th><th>lead p90 (days)</th><th>customer-caused misses</th></tr></thead>\
<tbody>{rows}</tbody></table>{legend}{figures}\
<figure><figcaption>Order-to-installed lead time, days (installations per {by})</figcaption>{lead}</figure>\
</body></html>\n",
        from = report.from,
        to = report.to,
        tol = report.tolerance.as_mins(),
        legend = legend(report),
        lead = lead_chart(report),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;
    use jiff::civil::date;
    use rendan_domain::service::GroupBy;
    use std::collections::BTreeMap;

    fn report() -> Report {
        let mut f = Figures {
            visits: 10,
            on_time: Rate { met: 9, total: 10 },
            first_visit: Rate { met: 8, total: 9 },
            promise_kept: Rate { met: 0, total: 0 },
            lead_days: vec![2, 3, 3, 9],
            ..Figures::default()
        };
        f.customer.on_time = 1;
        let groups: BTreeMap<String, Figures> = [("europe".to_string(), f.clone())].into();
        Report {
            from: date(2026, 12, 1),
            to: date(2026, 12, 2),
            group_by: GroupBy::Region,
            tolerance: SignedDuration::ZERO,
            targets: [("europe".to_string(), Targets::default())].into(),
            daily: vec![
                (date(2026, 12, 1), groups.clone()),
                (date(2026, 12, 2), BTreeMap::new()),
            ],
            groups,
        }
    }

    #[test]
    fn every_format_marks_targets_met_and_missed() {
        let r = report();
        let md = markdown(&r);
        assert!(
            md.contains("| europe | 10 | 90.0% (9/10) | 95% | MISSED |"),
            "{md}"
        );
        assert!(md.contains("88.9% (8/9) | 90% | MISSED"), "{md}");
        assert!(md.contains("— (0/0) | 95% | no data"), "{md}");
        let csv = csv(&r);
        let row = csv.lines().nth(1).expect("a row");
        assert!(
            row.starts_with("2026-12-01,2026-12-02,region,europe,10,9,10,90.00,95,"),
            "{row}"
        );
        assert_eq!(csv.lines().count(), 2);
        let html = html(&r);
        assert!(html.contains("class=\"missed\""));
        assert_eq!(
            html.matches("<svg").count(),
            4,
            "three rates and the lead time"
        );
        assert!(html.contains("europe: 2 installed after 3 days"), "{html}");
    }
}
