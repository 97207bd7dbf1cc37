"""pandas helpers for runicorn.api. pandas is imported on first use; without it every helper
raises ImportError saying how to get it."""
from __future__ import annotations

from typing import Any, Dict, List, Optional


def _pandas():
    try:
        import pandas
    except ImportError as error:
        raise ImportError("runicorn.api.utils needs pandas: apt-get install python3-pandas "
                          "(or pip install pandas)") from error
    return pandas


def metrics_to_dataframe(metrics_data: Dict[str, Any]):
    """One row per step, one column per metric (from client.get_metrics())."""
    pd = _pandas()
    by_step: Dict[Any, Dict[str, Any]] = {}
    for name, points in metrics_data.get("metrics", {}).items():
        for point in points:
            by_step.setdefault(point["step"], {"step": point["step"]})[name] = point["value"]
    columns = ["step"] + sorted(metrics_data.get("metrics", {}))
    rows = [by_step[s] for s in sorted(by_step)]
    return pd.DataFrame(rows, columns=columns)


def experiments_to_dataframe(experiments: List[Dict[str, Any]]):
    """One row per experiment with its scalar fields (from client.list_experiments())."""
    pd = _pandas()
    rows = [{k: v for k, v in e.items() if not isinstance(v, (dict, list))} for e in experiments]
    return pd.DataFrame(rows)


def export_metrics_to_csv(client: Any, run_id: str, output_path: str,
                          metric_names: Optional[List[str]] = None) -> str:
    """Writes the run's metrics (one row per step) to `output_path`; returns the path."""
    df = metrics_to_dataframe(client.get_metrics(run_id, metric_names=metric_names))
    df.to_csv(output_path, index=False)
    return output_path


def compare_runs(client: Any, run_ids: List[str], metric_name: str):
    """One row per step, one column per run id, holding `metric_name`."""
    pd = _pandas()
    by_step: Dict[Any, Dict[str, Any]] = {}
    for run_id in run_ids:
        points = client.get_metrics(run_id, metric_names=[metric_name])["metrics"].get(metric_name, [])
        for point in points:
            by_step.setdefault(point["step"], {"step": point["step"]})[run_id] = point["value"]
    rows = [by_step[s] for s in sorted(by_step)]
    return pd.DataFrame(rows, columns=["step"] + list(run_ids))
