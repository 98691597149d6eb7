"""Fleet checks: sensors that have gone silent (facts from radguard.discovery.sensors)."""

from __future__ import annotations

from collections.abc import Iterator

from radguard.checks.registry import CheckContext, Observation, evaluator
from radguard.discovery.sensors import silent_sensors

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
