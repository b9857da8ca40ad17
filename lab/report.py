"""The lab's report: one JSON document per run set and a Markdown table (pure code)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _fmt(spread: dict[str, Any] | None) -> str:
    if not spread or not spread.get("n"):
        return "–"
    return f"{spread['median']} / {spread['p95']} / {spread['max']} (n={spread['n']})"


def markdown(results: list[dict[str, Any]], command: str) -> str:
    """One column per seed; the rows are the issue's measures."""
    seeds = [str(r["seed"]) for r in results]
    rows: list[tuple[str, list[str]]] = []

    def row(name: str, values: list[str]) -> None:
        rows.append((name, values))

    row("run length (s)", [str(r["duration_s"]) for r in results])
    row("faults played", [", ".join(f["kind"] for f in r["faults"]) for r in results])
    row(
        "calls reached / placed",
        [f"{r['reachability']['reached']} / {r['reachability']['placed']}" for r in results],
    )
    row(
        "unreached outside detection windows",
        [str(len(r["reachability"]["unreached_outside_windows"])) for r in results],
    )
    row(
        "detection window (fall×interval+timeout+actuation, s)",
        [str(r["reachability"]["window_s"]) for r in results],
    )
    row(
        "longest unreached stretch (s)",
        [str(r["reachability"]["longest_unreached_s"]) for r in results],
    )
    kinds = sorted({k for r in results for k in r["reachability"]["per_kind"]})
    for k in kinds:
        row(
            f"reached / placed during {k}",
            [
                "{reached} / {placed}".format(**r["reachability"]["per_kind"][k])
                if k in r["reachability"]["per_kind"]
                else "–"
                for r in results
            ],
        )
    for k in sorted({k for r in results for k in r["failover"]["route"]}):
        row(
            f"route failover, {k} (median / p95 / max s)",
            [_fmt(r["failover"]["route"].get(k)) for r in results],
        )
    for k in sorted({k for r in results for k in r["failover"]["leader"]}):
        row(
            f"new ZooKeeper term, {k} (median / p95 / max s)",
            [_fmt(r["failover"]["leader"].get(k)) for r in results],
        )
    row("safety violations", [str(len(r["safety"]["violations"])) for r in results])
    row("forwarding writes", [str(r["safety"]["writes"]) for r in results])
    row(
        "SMS / e-mails / Twilio",
        [
            f"{r['alerts']['sms']} / {r['alerts']['mails']} / {r['alerts']['twilio']}"
            for r in results
        ],
    )
    row("duplicate SMS", [str(r["alerts"]["duplicate_sms"]) for r in results])
    row(
        "route changes / without an SMS within 60 s",
        [f"{r['alerts']['switches']} / {r['alerts']['switches_without_sms_60s']}" for r in results],
    )
    row("switch → SMS at the SMSC (s)", [_fmt(r["alerts"]["switch_to_sms_s"]) for r in results])
    row("switch → e-mail in the sink (s)", [_fmt(r["alerts"]["switch_to_mail_s"]) for r in results])
    row(
        "GSM network lost → alert accepted by Twilio (s)",
        [_fmt(r["alerts"].get("carrier_down_to_twilio_s")) for r in results],
    )
    row(
        "switches during the flapping trunk",
        [str(r["alerts"]["flapping_switches"]) for r in results],
    )
    row(
        "SMS during controller-caused states",
        [str(len(r["alerts"]["pages_for_controller_caused_states"])) for r in results],
    )
    row(
        "node CPU % / max RSS MB",
        [
            "; ".join(
                f"{n}: {v['cpu_pct']} / {v['rss_max_mb']}"
                for n, v in sorted(r["cost"]["nodes"].items())
            )
            for r in results
        ],
    )
    row("GET /v1/status latency (s)",
        [_fmt(r["cost"]["status_latency_s"]) for r in results])  # fmt: skip
    head = "| measure | " + " | ".join(f"seed {s}" for s in seeds) + " |"
    sep = "|---|" + "---|" * len(seeds)
    body = [f"| {name} | " + " | ".join(v) + " |" for name, v in rows]
    return "\n".join([f"`{command}`", "", head, sep, *body, ""])


def write(results: list[dict[str, Any]], out: Path, command: str) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    js, md = out / "chaos.json", out / "chaos.md"
    js.write_text(json.dumps({"command": command, "runs": results}, indent=1))
    md.write_text(markdown(results, command))
    return js, md
