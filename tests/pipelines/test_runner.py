"""The run's failure report: an outage is reported once, without a traceback."""

import subprocess
import sys

from tests.helpers import REPO

# An object that fails in __del__ the way an S3 file whose upload timed out does.
GARBAGE_COLLECTED_FAILURE = """
from botocore.exceptions import ReadTimeoutError
from pipelines.runner import quiet_expected_failures

class UnwrittenFile:
    def __init__(self, error):
        self.error = error
    def __del__(self):
        raise self.error

quiet_expected_failures()
UnwrittenFile(ReadTimeoutError(endpoint_url="http://127.0.0.1:9/bucket/log"))
UnwrittenFile(ValueError("a bug, not an outage"))
print("done")
"""


def test_an_outage_met_again_in_garbage_collection_prints_no_traceback():
    result = subprocess.run(
        [sys.executable, "-c", GARBAGE_COLLECTED_FAILURE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "done" in result.stdout
    assert "ReadTimeoutError" not in result.stderr
    # Anything else still reaches the user in full.
    assert "ValueError: a bug, not an outage" in result.stderr
    assert result.stderr.count("Traceback") == 1
