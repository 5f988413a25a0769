"""The table fleet_bench.py prints from its results."""

from __future__ import annotations

from typing import Any

from _cluster_bench import print_table


def _by_kind(per_agent: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in sorted(per_agent.items(), key=lambda kv: (-kv[1], kv[0])))


def _wait(throttle: dict[str, float] | None) -> str:
    if not throttle:
        return "n/a"
    return f"{throttle['seconds']:g}s over {throttle['requests']:g} requests"


def print_fleet_table(r: dict[str, Any]) -> None:
    n = r["agents"]
    floor, created, soak, startup = r["floor"], r["create"], r["soak"], r["startup"]
    ready = created["create_to_ready_seconds"]
    api_writes = sum(created["apiserver_writes_all_clients"].values())
    applies = sum(v for k, v in created["apiserver_writes_all_clients"].items() if k.startswith("APPLY "))
    rss = soak["rss_mib"]
    start_writes = startup["operator_writes"]
    rows = [
        (
            f"floor: {n} agents' objects applied -> all Deployments available",
            f"{floor['first_apply_to_all_available_seconds']:.1f}s "
            f"({floor['objects_per_agent']:g} objects/agent, {floor['apply_workers']} workers)",
        ),
        (
            f"operator: {n} agents created -> all Ready",
            f"{created['first_create_to_all_ready_seconds']:.1f}s",
        ),
        (
            "  per agent create->Ready p50/p95/max",
            f"{ready['median']:.1f}s / {ready['p95']:.1f}s / {ready['max']:.1f}s",
        ),
        ("  ratio to the floor", f"{r['ratio_to_floor']:.2f}x"),
        (
            "controller-manager rate-limiter wait: floor / operator",
            f"{_wait(floor.get('controller_manager_rate_limit_wait'))} / "
            f"{_wait(created.get('controller_manager_rate_limit_wait'))}",
        ),
        ("operator writes per created agent", f"{created['operator_writes_per_agent']:g}"),
        ("  by verb and kind", _by_kind(created["operator_writes_per_agent_by_verb_kind"])),
        ("apiserver writes per created agent, all clients", f"{api_writes / n:.1f} (leases aside)"),
        ("  of which APPLY (only the operator applies here)", f"{applies / n:g}"),
        (
            f"idle: apiserver requests/agent/hour above baseline ({soak['window_seconds']:.0f}s)",
            f"{soak['apiserver_requests_per_agent_per_hour']:g} (WATCH aside)",
        ),
        ("  operator's own count, requests/agent/hour", f"{soak['operator_requests_per_agent_per_hour']:g}"),
        ("  operator writes in the window", f"{soak['operator_writes']['total']:g}"),
        ("  reconciles in the window", f"{soak['reconciles']:g}"),
        (
            "operator RSS MiB: idle -> settled -> end of soak (max)",
            f"{r['operator_rss_idle_mib']} -> {rss['settled']} -> {rss['end']} ({rss['max']}); "
            f"growth {rss['growth']:+g}",
        ),
        (
            f"start-up over {n} agents: process start -> all reconciled once",
            f"{startup['process_start_to_all_reconciled_once_seconds']:.1f}s",
        ),
        (
            "  operator writes / reads until settled",
            f"{start_writes['total']:g} / {startup['operator_reads']['total']:g}",
        ),
        ("  writes by verb and kind", _by_kind(start_writes["by_verb_kind"]) or "none"),
    ]
    print_table(rows)
    load = r["contention"]
    start, end = load["start"]["load_average_1_5_15"], load["end"]["load_average_1_5_15"]
    print(f"load average at start {start}, at end {end}")
    if load["end"]["operators_on_this_cluster"]:
        print("WARNING: another operator ran against this cluster; figures are suspect")
