from __future__ import annotations

import os

from tests.helpers import run_cli, shipped_config


def test_without_config_a_command_follows_the_shipped_config_from_any_folder(tmp_path):
    """No --config: the model is configs/training.yaml's, though the folder has no configs/."""
    empty = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml")}
    result = run_cli("predict", "5.1", "3.5", "1.4", "0.2", cwd=tmp_path, env=empty)
    assert result.returncode == 1
    assert f"'{shipped_config()['model']['name']}'" in result.stderr
    assert "make run" in result.stderr  # says how to get one


def test_a_missing_config_file_is_named(tmp_path):
    result = run_cli("--config", "nowhere.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "'nowhere.yaml' does not exist" in result.stderr
