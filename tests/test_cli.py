from __future__ import annotations

from tests.helpers import run_cli


def test_help_explains_the_options(tmp_path):
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for option in ("--config", "--no-cache", "configs/training.yaml"):
        assert option in result.stdout


def test_a_missing_config_file_is_named(tmp_path):
    result = run_cli("--config", "nowhere.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "'nowhere.yaml' does not exist" in result.stderr
