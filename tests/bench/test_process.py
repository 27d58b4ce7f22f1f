"""bench/process.py: a sweep's CPU time counts every process below it, grandchildren and orphans included."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tools.mocks import PROJECT_DIR

# In a fresh interpreter: becoming a subreaper and reaping every descendant must not touch pytest's own.
SCRIPT = textwrap.dedent("""
    import json, os, sys
    from bench import process

    burn = "import time; t = time.process_time(); exec('while time.process_time() - t < 0.6: pass')"
    spawn = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {burn!r}])"
    adopted = process.become_subreaper()
    run = process.run_measured([sys.executable, "-c", spawn], env=dict(os.environ), cwd=".", timeout_s=60)
    print(json.dumps({"adopted": adopted, "rc": run.returncode, "cpu": run.cpu_seconds, "n": run.processes}))
""")


def test_the_cpu_time_of_a_grandchild_that_outlives_its_parent_is_counted():
    # The parent starts a grandchild and exits at once: the grandchild, orphaned, burns 0.6 s of CPU.
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    run = json.loads(result.stdout.strip().splitlines()[-1])
    assert run["rc"] == 0 and run["n"] >= 1  # the parent may exit before the first sample
    if run["adopted"]:  # Linux: the orphan stays below us until it is reaped, and its CPU time is counted
        assert run["cpu"] >= 0.6


def test_a_process_shorter_than_one_sample_is_counted_in_full():
    # Sampling every SAMPLE_S alone would miss most of a child that burns 0.3 s in bursts of exits.
    script = textwrap.dedent("""
        import json, os, sys
        from bench import process

        burn = "import time; t = time.process_time(); exec('while time.process_time() - t < 0.05: pass')"
        chain = f"import subprocess, sys; [subprocess.run([sys.executable, '-c', {burn!r}]) for _ in range(6)]"
        process.become_subreaper()
        run = process.run_measured([sys.executable, "-c", chain], env=dict(os.environ), cwd=".", timeout_s=60)
        print(json.dumps({"rc": run.returncode, "cpu": run.cpu_seconds}))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    run = json.loads(result.stdout.strip().splitlines()[-1])
    assert run["rc"] == 0 and run["cpu"] >= 6 * 0.05
