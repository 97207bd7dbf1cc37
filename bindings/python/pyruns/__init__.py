"""pyruns: Pyruns' in-script API on runicorn, so `import pyruns` scripts run unchanged.

    import pyruns
    cfg = pyruns.load()              # the task's config.yaml (or _pyruns_/<script>/config_default.yaml)
    for epoch in range(cfg.epochs):
        pyruns.track(loss=loss)      # a metric point; tracks[run]["loss"] in task_info.json
    pyruns.record(final_loss=loss)   # the run summary; records[run] in task_info.json

Run by `runicorn tasks run` (or the viewer's Tasks page) the values land in a runicorn run linked
to the task (charted and exported like any run) and in the task's task_info.json, in Pyruns'
shape. Differences from Pyruns: nothing is dropped silently (a PyrunsWarning says what and why),
NaN/Inf are kept (null in task_info.json) instead of dropping the whole call, results are
appended to a sidecar file instead of rewriting task_info.json per call (docs/TASKS.md), and
ConfigNode also has item access.
"""
from __future__ import annotations

from runicorn.pyruns import PyrunsWarning

from ._config import ConfigNode, read, load
from ._task_api import artifact_dir, get_artifact_dir, get_run_index, get_task_dir, record, track

RECORDS_KEY = "records"
TRACKS_KEY = "tracks"

__all__ = [
    "read", "load", "ConfigNode", "record", "track", "get_task_dir", "get_run_index",
    "artifact_dir", "get_artifact_dir", "PyrunsWarning", "RECORDS_KEY", "TRACKS_KEY",
]
