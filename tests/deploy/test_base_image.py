"""`make base-image` says which step failed and shows the end of its output, in a second:
a Debian mirror on a closed loopback port makes debootstrap fail at once."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.helpers import REPO

missing = [tool for tool in ("debootstrap", "podman") if shutil.which(tool) is None]
if os.geteuid() != 0:
    missing.append("root (debootstrap)")
if missing and os.environ.get("IRIS_REQUIRE_CONTAINERS") != "1":
    pytest.skip(f"container tools missing: {', '.join(missing)}", allow_module_level=True)


def test_a_failing_step_says_what_failed_with_its_output(tmp_path):
    mirror = "http://127.0.0.1:9/debian"  # the discard port: nothing listens, refused at once
    result = subprocess.run(
        [str(REPO / "deploy" / "base_image.sh"), "podman"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DEBIAN_MIRROR": mirror, "TMPDIR": str(tmp_path)},
    )
    assert result.returncode != 0
    assert f"failed while bootstrapping Debian bookworm from {mirror}" in result.stderr
    assert "debootstrap --variant=minbase" in result.stderr  # the command, and its line
    assert f"Failed getting release file {mirror}" in result.stderr  # the end of its output
    assert not list(tmp_path.iterdir())  # its temp root and log are cleaned up
