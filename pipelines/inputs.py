"""Files a run reads, handed to it through the artifact store: a step gets them wherever it runs.

The client saves the file as an artifact before the run (ZenML's path materializer copies
the bytes) and passes its id; nothing in a step reads the client's disk. A version is named
after the file's md5 and the store, so an unchanged file is stored once per artifact store.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from steps.data import check_data_file, file_md5

TRAINING_DATA = "training_data_file"
BATCH_INPUT = "batch_input_file"


@dataclass(frozen=True)
class StagedFile:
    artifact_id: UUID
    md5: str
    store_lost_it: bool  # a stored copy was recorded, but the store no longer has its bytes


def stage_file(path: str | Path, artifact_name: str) -> StagedFile:
    """The file as an artifact of the active store: the stored copy when it is still there."""
    from zenml import save_artifact
    from zenml.client import Client
    from zenml.materializers.path_materializer import PathMaterializer

    check_data_file(path)
    md5 = file_md5(path)
    client = Client()
    store = client.active_stack.artifact_store
    prefix = f"{md5}-{str(store.id)[:8]}"
    recorded = client.list_artifact_versions(
        artifact=artifact_name, version=f"startswith:{prefix}", sort_by="desc:created", size=50
    ).items
    for version in recorded:
        # The store's path may have changed since (another bucket, same component).
        inside = version.uri.startswith(store.path)
        if inside and store.exists(f"{version.uri}/{PathMaterializer.FILE_NAME}"):
            return StagedFile(version.id, md5, store_lost_it=False)
    suffix = f"-{len(recorded) + 1}" if recorded else ""
    saved = save_artifact(
        Path(path),
        name=artifact_name,
        version=prefix + suffix,
        user_metadata={"data_md5": md5, "source_path": str(path)},
    )
    return StagedFile(saved.id, md5, store_lost_it=bool(recorded))


def data_revision(path: str | Path) -> str | None:
    """The git commit that last changed the data's DVC file; "uncommitted" if it changed since.

    None when the data is not DVC-tracked in a git repository.
    """
    dvc_file = Path(f"{path}.dvc")
    if not dvc_file.is_file():
        return None

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=dvc_file.parent, capture_output=True, text=True, check=False
        )

    commit = git("log", "-1", "--format=%H", "--", dvc_file.name).stdout.strip()
    if not commit:
        return "uncommitted" if git("rev-parse", "--git-dir").returncode == 0 else None
    if git("diff", "--quiet", "HEAD", "--", dvc_file.name).returncode != 0:
        return "uncommitted"
    return commit
