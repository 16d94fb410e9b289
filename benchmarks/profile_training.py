"""`make profile`: where a cold and a cached `python run.py`, and `python run.py models`,
spend their time.

Profiles each with pyinstrument on a throw-away store (warmed by one run first) and writes
an HTML report (open it in a browser) and a text summary of each to benchmarks/results/.
`PROFILE=cached,models` (`make profile PROFILE=...`) profiles only those.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.measure import measure
from benchmarks.workspace import REPO, isolated_env, ours, run_config
from data.make_iris import write_iris

OUTPUT = REPO / "benchmarks" / "results"
# What each profile runs, after `python run.py --config CONFIG`.
PROFILES = {"cold": ("--no-cache",), "cached": (), "models": ("models",)}


def profile(run: list[str], name: str, work: Path, env: dict[str, str], log: Path) -> None:
    """pyinstrument runs the same `run.py` command line; reports go to OUTPUT/profile-NAME.*"""
    session = OUTPUT / f"profile-{name}.pyisession"
    profiler = [sys.executable, "-m", "pyinstrument"]
    seconds = measure(
        [*profiler, "-r", "session", "-o", str(session), *run[1:]], cwd=work, env=env, log=log
    ).seconds
    print(f"{name}: {seconds:.1f} s under the profiler")
    for renderer, suffix in (("html", "html"), ("text", "txt")):
        report = OUTPUT / f"profile-{name}.{suffix}"
        load = [*profiler, f"--load={session}", "-r", renderer, "-o", str(report)]
        subprocess.run(load, check=True, env=env)


def main() -> None:
    OUTPUT.mkdir(exist_ok=True)
    log = OUTPUT / "profile.log"
    log.write_text("")
    work = Path(tempfile.mkdtemp(prefix="iris-mlops-profile-"))
    try:
        env = isolated_env(work)
        write_iris(work / "iris.csv")
        config = run_config(REPO / "configs/training.yaml", work, work / "iris.csv", "profiled")
        measure(ours(config), cwd=work, env=env, log=log)  # warm the store and the cache
        chosen = os.environ.get("PROFILE") or ",".join(PROFILES)
        for name in chosen.split(","):
            profile(ours(config, *PROFILES[name]), name, work, env, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"Reports in {OUTPUT.relative_to(REPO)}/profile-{{{chosen}}}.{{html,txt}}")


if __name__ == "__main__":
    main()
