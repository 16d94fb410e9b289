"""`python run.py models --version N`: one version's story; the list's "showing N of TOTAL"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from deploy.model_store import exports_of
from pipelines.model_registry import describe_revision, format_hyperparameters, format_story
from tests.helpers import REPO, run_cli, shipped_config, training_config
from tests.stack.conftest import isolated_env

MODEL = "story_iris"
IRIS_MD5 = "013d0da08d6506664ce640459139176b"
LINEAGE = {"zenml_run_id": "run-1", "data_md5": IRIS_MD5}  # the rest of an export's labels


def write_export(home: Path, name: str, version: str, labels: dict, created: str) -> None:
    folder = home / "models" / name / version
    folder.mkdir(parents=True)
    info = {"name": name, "version": version, "labels": labels, "creation_time": created}
    (folder / "model.yaml").write_text(yaml.safe_dump(info))


def test_exports_are_found_by_their_labels_newest_first(tmp_path, monkeypatch):
    home = tmp_path / "bentoml"
    monkeypatch.setenv("BENTOML_HOME", str(home))
    assert exports_of("Iris", 1) == []  # no store at all: nothing exported here
    labels = {"zenml_model": "Iris", "zenml_model_version": "1", **LINEAGE}
    write_export(home, "iris", "old", labels, "2026-01-01T00:00:00+00:00")
    write_export(home, "iris", "new", labels, "2026-02-01T00:00:00+00:00")
    write_export(home, "iris", "other", {**labels, "zenml_model_version": "2"}, "2026-03-01")
    write_export(home, "iris", "foreign", {"zenml_model": "other"}, "2026-03-01")
    (home / "models" / "iris" / "latest").write_text("other")
    (home / "models" / "broken" / "x").mkdir(parents=True)
    (home / "models" / "broken" / "x" / "model.yaml").write_text("{not: yaml")

    found = exports_of("Iris", 1)
    assert [export.tag for export in found] == ["iris:new", "iris:old"]
    assert not any(export.latest for export in found)
    assert [export.latest for export in exports_of("Iris", "2")] == [True]


def test_story_pieces_read_well():
    assert format_hyperparameters(None) == "-"
    assert format_hyperparameters({}) == "defaults"
    assert format_hyperparameters({"weights": "uniform", "n_neighbors": 3}) == (
        "n_neighbors=3, weights=uniform"
    )
    assert describe_revision(None) == "not recorded"
    assert describe_revision("unknown").startswith("unknown (the data was not DVC-tracked")
    assert describe_revision("abc123").startswith("abc123 (git commit")
    story = format_story("m", 3, [("stage", "production"), ("data md5", "x")])
    assert story.splitlines() == [
        "Model 'm' version 3 (`model_version` in the service's /model)",
        "",
        "stage     production",
        "data md5  x",
    ]


def field(story: str, name: str) -> str:
    """The value of one field of `models --version N` (the first line that names it)."""
    match = re.search(rf"^{re.escape(name)} +(.+)$", story, re.MULTILINE)
    assert match, f"no {name!r} in:\n{story}"
    return match.group(1)


@pytest.mark.slow
def test_a_versions_story_from_training_to_serving(tmp_path: Path, iris_csv: Path):
    env = isolated_env(tmp_path)
    promoted = training_config(tmp_path, iris_csv, MODEL)
    strict = training_config(
        tmp_path, iris_csv, MODEL, quality_gate={"metric": "accuracy", "min_value": 0.99}
    )

    def cli(*args: str, config: Path = promoted):
        result = run_cli("--config", str(config), *args, cwd=tmp_path, env=env)
        return result, result.stdout + result.stderr

    result, first = cli()
    assert result.returncode == 0, first[-3000:]
    assert "Model version  1: PROMOTED to production" in first
    tag_1 = re.search(r"BentoML model (\S+)", first).group(1)
    result, second = cli(config=strict)
    assert result.returncode == 0, second[-3000:]
    assert "Model version  2: not promoted" in second

    result, story = cli("models", "--version", "1")
    assert result.returncode == 0, story
    assert story.startswith(f"Model '{MODEL}' version 1 (`model_version` in the service's /model)")
    assert field(story, "stage") == "production"
    assert field(story, "run").startswith("training-")
    assert field(story, "data md5") == IRIS_MD5
    assert field(story, "data revision").startswith("unknown")  # a CSV outside any DVC repo
    assert field(story, "dataset") == str(iris_csv)
    family = field(story, "model family")
    assert re.fullmatch(r"\w+ \(sklearn\.[\w.]+\)", family), family
    # The chosen candidate's hyperparameters: the names its config entry sets or searches.
    chosen = shipped_config()["parameters"]["candidates"][family.split()[0]]
    hyperparameters_1 = field(story, "hyperparameters")
    named = set(re.findall(r"(\w+)=", hyperparameters_1))
    assert named == {*chosen.get("params", {}), *chosen.get("search_space", {})} or (
        hyperparameters_1 == "defaults"
    )
    assert re.fullmatch(r"0\.\d{4}", field(story, "cv accuracy"))
    assert re.fullmatch(r"0\.\d{4}", field(story, "test accuracy"))
    assert field(story, "test rows") == "30"
    assert "setosa" in story and "recall" in story
    assert field(story, "promotion").startswith("promoted: test accuracy")
    assert "by hand" not in story
    assert field(story, "bentoml export").startswith(f"{tag_1} (")
    assert "latest" in field(story, "bentoml export")

    result, story = cli("models", "--version", "2")
    assert result.returncode == 0, story
    assert field(story, "stage") == "none"
    assert field(story, "promotion").startswith("not promoted: test accuracy")
    assert "below the quality gate 0.9900" in story
    assert field(story, "bentoml export").startswith("not exported here (BentoML store ")

    # The list counts every version, however few it shows.
    result, listed = cli("models", "--limit", "1")
    assert result.returncode == 0, listed
    assert f"Model '{MODEL}': showing 1 of 2 version(s), newest first" in listed
    rows = [line.split() for line in listed.splitlines() if line[:1].isdigit()]
    assert [row[:2] for row in rows] == [["2", "-"]]
    assert rows[0][6].startswith("training-")  # the run column, found in one query
    result, listed = cli("models")
    runs = [line.split()[6] for line in listed.splitlines() if line[:1].isdigit()]
    assert len(runs) == 2 and len(set(runs)) == 2 and all(r.startswith("training-") for r in runs)
    assert hyperparameters_1 in listed

    # A person promotes version 2: its story says so, and names its own export.
    result, promoted_out = cli("promote", "2")
    assert result.returncode == 0, promoted_out
    result, story = cli("models", "--model", MODEL, "--version", "2")
    assert result.returncode == 0, story
    assert field(story, "stage") == "production"
    assert field(story, "promotion").startswith("not promoted:")  # the run's own decision
    assert "promoted by hand (`python run.py promote`) by default at " in field(story, "by hand")
    assert "production before: version 1" in story
    export_2 = field(story, "bentoml export")
    assert export_2.startswith(f"{MODEL}:") and not export_2.startswith(tag_1)
    assert "latest" in export_2
    result, story = cli("models", "--version", "1")
    assert field(story, "stage") == "archived"
    assert field(story, "bentoml export").startswith(f"{tag_1} (")
    assert "latest" not in field(story, "bentoml export")

    # Unknown versions and models: a message, no traceback, exit status 1.
    result, unknown = cli("models", "--version", "3")
    assert result.returncode == 1, unknown
    assert f"There is no version 3 of model '{MODEL}'" in unknown
    assert "it has 2 version(s), the newest is 2" in unknown
    assert "Traceback" not in unknown
    result, unknown = cli("models", "--model", "no_such_model", "--version", "1")
    assert result.returncode == 1, unknown
    assert "There is no model 'no_such_model'" in unknown
    assert run_cli("models", "--version", "0", cwd=REPO, env=env).returncode == 2  # usage


def test_the_latest_export_of_a_name_with_capitals(tmp_path, monkeypatch):
    from deploy.model_store import latest_export

    home = tmp_path / "bentoml"
    monkeypatch.setenv("BENTOML_HOME", str(home))
    labels = {"zenml_model": "Iris_X", "zenml_model_version": "4", **LINEAGE}
    write_export(home, "iris_x", "abc", labels, "2026-01-01T00:00:00+00:00")
    (home / "models" / "iris_x" / "latest").write_text("abc")
    export = latest_export("Iris_X")  # BentoML saved it as iris_x
    assert (export.tag, export.labels) == ("iris_x:abc", labels)
    assert [found.tag for found in exports_of("Iris_X", 4)] == ["iris_x:abc"]


def test_run_names_come_from_one_query_and_missing_ones_are_looked_up(monkeypatch):
    from types import SimpleNamespace

    import pipelines.model_registry as models

    versions = [SimpleNamespace(id=i, number=i) for i in (3, 2, 1)]
    queries = []

    class Client:
        def list_pipeline_runs(self, **filters):
            queries.append(filters)
            runs = [  # newest first; version 1's run is not a training run here
                SimpleNamespace(name="training-3", model_version=SimpleNamespace(id=3)),
                SimpleNamespace(name="training-2", model_version=SimpleNamespace(id=2)),
            ]
            return SimpleNamespace(items=runs)

    names = models.training_run_names(Client(), [version.id for version in versions])
    assert names == {3: "training-3", 2: "training-2"}
    assert len(queries) == 1 and queries[0]["pipeline_name"] == "training"
    assert queries[0]["model_version_id"].startswith("oneof:")
    assert models.training_run_names(Client(), []) == {}
