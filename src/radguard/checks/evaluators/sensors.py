"""Fleet checks: sensors that have gone silent, schedules that keep failing (facts from
radguard.discovery.sensors)."""

from __future__ import annotations

from collections.abc import Iterator

from radguard.checks.registry import CheckContext, Observation, evaluator
from radguard.discovery.sensors import DEFAULT_FAILING_RUNS, failing_schedules, silent_sensors

DEFAULT_SILENT_HOURS = 48


@evaluator("RG-SENSOR-SILENT")
def sensor_silent(ctx: CheckContext) -> Iterator[Observation]:
    params = ctx.settings.get("parameters") or {}
    hours = int(params.get("sensor_silent_hours", DEFAULT_SILENT_HOURS))
    for row in silent_sensors(ctx.session, ctx.now, hours):
        last = row["last_seen"].isoformat(timespec="minutes") if row["last_seen"] else None
        yield Observation(subject=f"sensor:{row['id']}", exposure=0.3,
                          evidence={"sensor": row["id"], "site": row["site"], "last_seen": last,
                                    "allowed_hours": hours},
                          summary=f"site {row['site']}: " + ("never reported" if last is None
                                                             else f"last result {last}"))


@evaluator("RG-SCHEDULE-FAILING")
def schedule_failing(ctx: CheckContext) -> Iterator[Observation]:
    params = ctx.settings.get("parameters") or {}
    runs = int(params.get("schedule_failing_runs", DEFAULT_FAILING_RUNS))
    for row in failing_schedules(ctx.session, runs):
        yield Observation(subject=f"schedule:{row['name']}", exposure=0.3,
                          evidence={"schedule": row["name"], "kind": row["kind"], "site": row["site"],
                                    "failed_runs": row["failed_runs"], "last_error": row["last_error"],
                                    "since": row["first_failed"].isoformat(timespec="minutes")},
                          summary=f"{row['kind']} schedule {row['name']}: last {row['failed_runs']} runs failed "
                                  f"({row['last_error']})")
