"""A sweep's reports for tests that watch it run: Tune's public ExperimentAnalysis, polled."""

from __future__ import annotations

from pathlib import Path

from workloads import results


def reports_so_far(run_dir: Path) -> dict[str, list[dict]]:
    """{trial id: its reports} of the trials that reported, as of Tune's last save of the experiment state.

    Empty before the first save. Tune copies the state file onto the storage path in place, so a poll can
    catch it half-written; that poll finds nothing and the next one reads it whole.
    """
    try:
        found = results.trial_reports(run_dir)
    except (ValueError, OSError):  # no state saved yet, or one caught mid-copy (json's errors are ValueErrors)
        return {}
    return {trial_id: rows for trial_id, rows in found.items() if rows}


def state_saved_since(run_dir: Path, moment: float) -> bool:
    """Whether Tune rewrote its experiment state (what a resume starts from) after `moment`.

    A fact about Tune's file itself, which no public API reports: read from the file's modification time.
    """
    return any(path.stat().st_mtime > moment for path in run_dir.glob("experiment_state-*.json"))
