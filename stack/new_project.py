"""Start a project of your own from this one: `python run.py new-project DEST`.

Copies the files git tracks (`git ls-files`: nothing generated or ignored travels) into
DEST, renames what names this project (project, model, bucket, environment variables)
through a small table of rules, gives DVC a local remote of the new project's own, refreshes
dvc.lock for the renamed files and makes the first commit of a new git repository there.

What keeps its name is the example data, and only it:

- whole files: `data/raw/iris.csv.dvc` and `data/raw/.gitignore` (DVC's record of the data
  file), `data/make_iris.py` (writes the Iris data) and `data/get_data.py` (pulls the data, or
  bootstraps the Iris data on an empty DVC remote);
- one section: `parameters.dataset` in `configs/training.yaml` (path, target, classes,
  feature ranges of the Iris data);
- the names that point at it wherever they appear: the file `iris.csv`, the bootstrap's
  module and function (`make_iris`, `write_iris`), scikit-learn's `load_iris` and the
  phrase "Iris data".

Everything else gets the new names, or the generic word `example` where the old name was
tied to the example data (a test fixture, a benchmark's synthetic data).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from pipelines.command_line import fail, warn
from pipelines.project_paths import PROJECT_ROOT

TEMPLATE_ROOT = PROJECT_ROOT


@dataclass(frozen=True)
class Names:
    """What a user renames first."""

    project: str  # kebab-case: package, labels, image and folder names
    model: str  # snake_case: ZenML model, BentoML model (and `<model>_service`)
    bucket: str  # the default S3 bucket (artifacts and the DVC s3 remote)
    env_prefix: str  # of the settings' environment variables, with its trailing "_"


# This project's own names. (A generated project's copy of this line carries its names, so
# `new-project` there starts the next project from it.)
TEMPLATE = Names(
    project="iris-mlops", model="iris_classifier", bucket="iris-mlops", env_prefix="IRIS_"
)

# The example data (see the module docstring): copied as they are, and allowed to name it.
EXAMPLE_DATA = "data/raw/iris.csv"
EXAMPLE_FILES = frozenset(
    {f"{EXAMPLE_DATA}.dvc", "data/raw/.gitignore", "data/make_iris.py", "data/get_data.py"}
)
EXAMPLE_SECTIONS = {"configs/training.yaml": ("parameters", "dataset")}
# The word the example data goes by; left over elsewhere, it becomes GENERIC_WORD.
DATASET_WORD = Path(EXAMPLE_DATA).stem
# Names pointing at the example data, kept wherever they appear (built from DATASET_WORD so
# that a generated project's copy of this module, renamed by these rules, keeps them too).
EXAMPLE_NAMES = re.compile(
    rf"{re.escape(Path(EXAMPLE_DATA).name)}|(?:make|write|load)_{DATASET_WORD}(?![A-Za-z0-9_])"
    rf"|{DATASET_WORD} data",
    re.IGNORECASE,
)
GENERIC_WORD = "example"
# The DVC local remote (.dvc/config): a new project gets a folder of its own.
TEMPLATE_DVC_REMOTE = "/tmp/dvcstore"

NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SPECIAL_WORDS = {"mlops": "MLOps", "ml": "ML", "ai": "AI", "api": "API"}


class NewProjectError(Exception):
    """The names or the destination cannot make a project; the message says why."""


# --- names -------------------------------------------------------------------------------


def words(name: str) -> list[str]:
    return [word for word in re.split(r"[-_\s]+", name.strip().lower()) if word]


def kebab(name: str) -> str:
    return "-".join(words(name))


def snake(name: str) -> str:
    return "_".join(words(name))


def title(name: str) -> str:
    return " ".join(SPECIAL_WORDS.get(word, word.capitalize()) for word in words(name))


def pascal(name: str) -> str:
    return "".join(word.capitalize() for word in words(name))


def stem(project: str) -> list[str]:
    """A project's words without a trailing "mlops": `iris-mlops` -> `iris`."""
    parts = words(project)
    return parts[:-1] if len(parts) > 1 and parts[-1] == "mlops" else parts


def default_model(project: str) -> str:
    return "_".join([*stem(project), "classifier"])


def default_env_prefix(project: str) -> str:
    return "_".join(stem(project)).upper() + "_"


def default_bucket(project: str) -> str:
    return kebab(project)


def make_names(
    project: str, model: str | None = None, bucket: str | None = None, env_prefix: str | None = None
) -> Names:
    """Checked names, the missing ones derived from the project's."""
    if not NAME.match(kebab(project)) or not words(project):
        raise NewProjectError(f"project name {project!r}: use letters, digits and dashes")
    names = Names(
        project=kebab(project),
        model=snake(model) if model else default_model(project),
        bucket=bucket or default_bucket(project),
        env_prefix=(snake(env_prefix).upper() + "_") if env_prefix else default_env_prefix(project),
    )
    if not NAME.match(names.model):
        raise NewProjectError(f"model name {model!r}: use letters, digits and underscores")
    if not BUCKET.match(names.bucket) or ".." in names.bucket:
        raise NewProjectError(
            f"bucket {names.bucket!r}: 3 to 63 lowercase letters, digits, dots and dashes"
        )
    if not NAME.match(names.env_prefix[:-1].lower()):
        raise NewProjectError(f"environment prefix {env_prefix!r}: letters, digits, underscores")
    return names


# --- the rules -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    old: str  # a regular expression
    new: Callable[[RuleMatch], str] | str
    why: str


def variants(old: str, new: str) -> list[tuple[str, str]]:
    """One name in the spellings code and text use: snake, kebab, UPPER, Pascal, Title."""
    pairs = [
        (snake(old), snake(new)),
        (kebab(old), kebab(new)),
        (snake(old).upper(), snake(new).upper()),
        (pascal(old), pascal(new)),
        (title(old), title(new)),
    ]
    return list(dict.fromkeys(pairs))


def word_rule(old: str, new: str, why: str) -> Rule:
    """`old` as a name of its own or a part of an identifier (`served_old`, `old-tests`)."""
    return Rule(rf"(?<![A-Za-z0-9]){re.escape(old)}(?![A-Za-z])", new, why)


def rules_for(new: Names, old: Names = TEMPLATE) -> list[Rule]:
    """The table, most specific first: the first rule that matches at a place wins."""
    subst: Callable[[str], str]

    def bucket(match: RuleMatch) -> str:
        return subst(match.group(1)) + new.bucket

    rules = [
        Rule(re.escape(TEMPLATE_DVC_REMOTE), f"/tmp/{new.project}-dvcstore", "DVC local remote"),
        Rule(
            r"((?:s3://|https?://[^/\s\"']+/|(?i:bucket)[^\n]{0,25}?))"
            + re.escape(old.bucket)
            + r"(?![A-Za-z0-9-])",
            bucket,
            "S3 bucket (after s3://, an endpoint URL or the word bucket)",
        ),
    ]
    # Prose about the example data keeps naming it, as "the ... data" (a kept phrase).
    word = DATASET_WORD.capitalize()
    rules += [
        Rule(
            rf"((?m:^)[ \t]*|[.!?] +)?{word} is(?![A-Za-z])",
            lambda m: (
                (m.group(1) + "The" if m.group(1) is not None else "the") + f" {word} data is"
            ),
            "prose about the example data",
        ),
        Rule(
            rf"(?<![A-Za-z])((?:on|writes?|bootstraps?) ){word}(?![A-Za-z0-9_-])",
            lambda m: f"{m.group(1)}the {word} data",
            "prose about the example data",
        ),
        Rule(
            rf"{word} species classifier",
            f"{title(new.model)} classifier",
            "the model's description",
        ),
    ]
    for name, why in ((old.project, "project"), (old.model, "model")):
        target = new.project if why == "project" else new.model
        rules += [word_rule(a, b, why) for a, b in variants(name, target)]
    rules.append(
        Rule(
            rf"(?<![A-Za-z0-9]){re.escape(old.env_prefix)}",
            new.env_prefix,
            "environment variables",
        )
    )
    generic = [
        (DATASET_WORD.lower(), GENERIC_WORD.lower()),
        (DATASET_WORD.capitalize(), GENERIC_WORD.capitalize()),
    ]
    rules += [word_rule(a, b, "tied to the example data") for a, b in generic]
    # An upper-case word inside an upper-case token (a fake key such as AKIA...TESTKEY).
    rules.append(
        Rule(
            rf"(?<![a-z]){re.escape(DATASET_WORD.upper())}(?![a-z])",
            GENERIC_WORD.upper(),
            "tied to the example data",
        )
    )
    subst = Substitution(rules, hints(old))
    return rules


def hints(old: Names) -> list[str]:
    return [DATASET_WORD, TEMPLATE_DVC_REMOTE, old.project, old.model, old.bucket, old.env_prefix]


@dataclass(frozen=True)
class RuleMatch:
    """One rule's part of the combined pattern's match: `group(1)` is the rule's own first."""

    match: re.Match[str]
    offset: int

    def group(self, number: int = 0) -> str | None:
        return self.match.group(self.offset + number)


class Substitution:
    """The rules as one pass over a text: what a rule wrote is never rewritten by another."""

    def __init__(self, rules: list[Rule], hints: list[str]):
        self.rules = rules
        # Every rule needs one of these on the line (a quick test before the rules run).
        self.hints = re.compile("|".join(map(re.escape, hints)), re.IGNORECASE)
        self.pattern = re.compile("|".join(f"({rule.old})" for rule in rules))
        self.groups: list[int] = []
        group = 1
        for rule in rules:
            self.groups.append(group)
            group += 1 + re.compile(rule.old).groups

    def _replace(self, match: re.Match[str]) -> str:
        for rule, group in zip(self.rules, self.groups, strict=True):
            if match.group(group) is not None:
                return rule.new(RuleMatch(match, group)) if callable(rule.new) else rule.new
        return match.group(0)  # pragma: no cover - one group always matched

    def _outside_example_names(self, text: str) -> str:
        return self.pattern.sub(self._replace, text)

    def __call__(self, text: str) -> str:
        """`text` renamed, with the example data's names kept."""
        return "".join(
            self._line(line) if self.hints.search(line) else line
            for line in text.splitlines(keepends=True)
        )

    def _line(self, text: str) -> str:
        pieces, last = [], 0
        for kept in EXAMPLE_NAMES.finditer(text):
            pieces.append(self._outside_example_names(text[last : kept.start()]))
            pieces.append(kept.group(0))
            last = kept.end()
        pieces.append(self._outside_example_names(text[last:]))
        return "".join(pieces)


def substitution(new: Names, old: Names = TEMPLATE) -> Substitution:
    return Substitution(rules_for(new, old), hints(old))


# --- the example data's section of a YAML file ----------------------------------------------


def section_lines(text: str, keys: tuple[str, ...]) -> range:
    """Line numbers of a nested block (`parameters:` > `dataset:`) in a block-style YAML text,
    by indentation; an empty range when it is not there."""
    lines = text.splitlines()
    depth, indent, start = 0, -1, None
    for number, line in enumerate(lines):
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        level = len(line) - len(stripped)
        if start is not None:
            if level <= indent:
                return range(start, number)
            continue
        if level > indent and stripped.split(":", 1)[0] == keys[depth] and ":" in stripped:
            depth, indent = depth + 1, level
            if depth == len(keys):
                start = number
    return range(start, len(lines)) if start is not None else range(0)


def transform(relative: str, text: str, rename: Substitution) -> str:
    """A file's text for the new project."""
    if relative in EXAMPLE_FILES:
        return text
    keys = EXAMPLE_SECTIONS.get(relative)
    if not keys:
        return rename(text)
    kept = section_lines(text, keys)
    lines = text.splitlines(keepends=True)
    before = rename("".join(lines[: kept.start])) if kept else rename(text)
    if not kept:
        return before
    return before + "".join(lines[kept.start : kept.stop]) + rename("".join(lines[kept.stop :]))


# --- leftovers: what still names the example data, and where ---------------------------------


def leftovers(project: Path) -> list[str]:
    """`path:line: text` of each mention of the example data's word outside the example data
    (declared above); file names count too. A clean project has none."""
    word = re.compile(re.escape(DATASET_WORD), re.IGNORECASE)
    found = []
    for relative in tracked_files(project):
        if relative in EXAMPLE_FILES:
            continue
        if word.search(EXAMPLE_NAMES.sub("", relative)):
            found.append(f"{relative}: (file name)")
        try:
            text = (project / relative).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        keys = EXAMPLE_SECTIONS.get(relative)
        kept = section_lines(text, keys) if keys else range(0)
        for number, line in enumerate(text.splitlines()):
            if number not in kept and word.search(EXAMPLE_NAMES.sub("", line)):
                found.append(f"{relative}:{number + 1}: {line.strip()}")
    return found


# --- making the project ----------------------------------------------------------------------


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def tracked_files(root: Path) -> list[str]:
    """The files git tracks in `root` that exist in its working tree."""
    listed = git("ls-files", "-z", cwd=root).split("\0")
    return [name for name in listed if name and (root / name).is_file()]


def copy_files(root: Path, dest: Path, rename: Substitution) -> Iterator[str]:
    """Each tracked file of `root` into `dest`, renamed; yields the new relative paths."""
    for relative in tracked_files(root):
        source = root / relative
        target = relative if relative in EXAMPLE_FILES else rename(relative)
        data = source.read_bytes()
        with contextlib.suppress(UnicodeDecodeError):  # a binary file travels as it is
            data = transform(relative, data.decode("utf-8"), rename).encode("utf-8")
        path = dest / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(source.stat().st_mode & 0o777)
        yield target


def refresh_dvc_lock(dest: Path) -> list[str]:
    """Record in dvc.lock the hashes of the stage dependencies the renaming changed, so
    `dvc status` is clean in the new project (the data, not there yet, keeps its record)."""
    if not (dest / "dvc.lock").is_file():
        return []
    from dvc.repo import Repo

    refreshed = []
    with Repo(str(dest)) as repo:
        for stage in repo.index.stages:
            if not getattr(stage, "is_data_source", True) and stage.deps:
                before = {str(dep): dep.hash_info for dep in stage.deps}
                for dep in stage.deps:
                    if dep.exists:
                        dep.save()
                changed = [str(d) for d in stage.deps if d.hash_info != before[str(d)]]
                if changed:
                    stage.dump(update_pipeline=False)
                    refreshed += changed
    return refreshed


def check_dvc_config(dest: Path, names: Names) -> None:
    """The rules point DVC's local remote at a folder of the new project's own and its s3
    remote at the new bucket; a .dvc/config that still names this project's is refused."""
    config = dest / ".dvc" / "config"
    text = config.read_text() if config.is_file() else ""
    own = re.search(rf"=\s*{re.escape(TEMPLATE_DVC_REMOTE)}\s*$", text, re.MULTILINE)
    bucket = names.bucket != TEMPLATE.bucket and f"s3://{TEMPLATE.bucket}/" in text
    if own or bucket:
        raise NewProjectError(f"{config} still points at the DVC storage of {TEMPLATE.project}")


def format_python(dest: Path) -> None:
    """Longer names can make lines too long: `ruff format` them (when ruff is at hand)."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff:
        subprocess.run([ruff, "format", "--quiet", "."], cwd=dest, capture_output=True)


def first_commit(dest: Path, names: Names) -> None:
    git("add", "-A", cwd=dest)
    identity = []
    if not subprocess.run(["git", "config", "user.email"], cwd=dest, capture_output=True).stdout:
        identity = [
            "-c",
            f"user.name={names.project}",
            "-c",
            f"user.email={names.project}@localhost",
        ]
    git(
        *identity,
        "commit",
        "-q",
        "--no-verify",
        "-m",
        f"New project {names.project} (model {names.model}), from the {TEMPLATE.project} template",
        cwd=dest,
    )


def new_project(
    dest: Path, names: Names, root: Path = TEMPLATE_ROOT, commit: bool = True
) -> list[str]:
    """Make the project in `dest` (absent or empty); return the leftovers (none, normally)."""
    dest = dest.resolve()
    if dest.exists() and any(dest.iterdir()):
        raise NewProjectError(f"{dest} exists and is not empty")
    if dest.is_relative_to(root.resolve()):
        raise NewProjectError(f"{dest} is inside this project: choose a folder outside it")
    dest.mkdir(parents=True, exist_ok=True)
    git("init", "-q", cwd=dest)
    rename = substitution(names)
    list(copy_files(root, dest, rename))
    check_dvc_config(dest, names)
    format_python(dest)
    refresh_dvc_lock(dest)
    if commit:
        first_commit(dest, names)
    return leftovers(dest)


# --- the command ----------------------------------------------------------------------------


def _default(derive: Callable[[str], str]) -> Callable[[], str | None]:
    def default() -> str | None:
        project = click.get_current_context().params.get("project")
        return derive(project) if project else None

    return default


@click.command("new-project")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--project", prompt="Project name", help="Kebab-case, e.g. churn-mlops.")
@click.option(
    "--model",
    prompt="Model name",
    default=_default(default_model),
    help="Snake-case [default: the project's name without -mlops, + _classifier].",
)
@click.option(
    "--bucket",
    prompt="S3 bucket",
    default=_default(default_bucket),
    help="Default S3 bucket of the s3 stack and DVC remote [default: the project's name].",
)
@click.option(
    "--env-prefix",
    default=None,
    help="Prefix of the settings' environment variables "
    "[default: the project's name without -mlops, upper case: CHURN_].",
)
def new_project_command(
    dest: Path, project: str, model: str, bucket: str, env_prefix: str | None
) -> None:
    """Start a project of your own in DEST: this one with your names, in a new git repository.

    Every name tied to this project is renamed (model, project, S3 bucket, environment
    variables, image and service names); the example data keeps its own until you replace
    it. Then: cd DEST && make run.
    """
    try:
        names = make_names(project, model, bucket, env_prefix)
        left = new_project(dest, names)
    except (NewProjectError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", None) or error
        fail(f"Error: {str(detail).strip()}")
    click.echo(
        f"New project {names.project} in {dest}: model {names.model}, bucket {names.bucket}, "
        f"settings {names.env_prefix}*; first commit made.\n"
        f"Next: cd {dest} && make run   (then make test-fast)"
    )
    if left:
        warn("Names of this project left over:\n" + "\n".join(left))


if __name__ == "__main__":
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    new_project_command()
