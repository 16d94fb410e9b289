"""The documentation site builds strictly, and its reference names everything a user can type.

What the reference must name is discovered from the project itself (the Makefile, the click
commands of run.py, the code's reads of environment variables), so a new target, option or
variable fails here until docs/reference.md mentions it.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tests.helpers import REPO

REFERENCE = REPO / "docs" / "reference.md"
# Folders whose code is not the project's own (or is generated).
SKIPPED_DIRS = {".venv", ".git", ".dvc", "site", "build", "node_modules", "__pycache__"}
# Make's own variables, never set by a user.
MAKE_BUILTINS = {"MAKE", "CURDIR", "MAKEFILE_LIST", "MAKEFLAGS", "SHELL"}


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


def test_site_builds_strictly(tmp_path: Path) -> None:
    result = mkdocs_build(REPO / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stderr[-3000:]
    index = (tmp_path / "site" / "index.html").read_text()
    assert "Quick start" in index
    assert (tmp_path / "site" / "reference" / "index.html").is_file()


def test_a_broken_anchor_or_page_link_fails_the_build(tmp_path: Path) -> None:
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    with (tmp_path / "docs" / "index.md").open("a") as page:
        page.write("\n[x](reference.md#no-such-anchor) and [y](no-such-page.md)\n")

    result = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Aborted with 2 warnings in strict mode" in output, output[-3000:]
    assert "does not contain an anchor '#no-such-anchor'" in output
    assert "'no-such-page.md', but the target is not found" in output


# --- what the reference must name -------------------------------------------------------


def make_help_targets() -> list[str]:
    """The targets `make help` lists: the Makefile's `target: ... ## text` lines."""
    makefile = (REPO / "Makefile").read_text()
    return re.findall(r"^([a-z0-9-]+):.*## ", makefile, flags=re.MULTILINE)


def make_user_variables() -> set[str]:
    """Variables a user sets on make's command line: `X ?= default`, or used and never set."""
    makefile = (REPO / "Makefile").read_text()
    with_default = set(re.findall(r"^([A-Z][A-Z0-9_]*) *\?=", makefile, flags=re.MULTILINE))
    assigned = set(re.findall(r"^(?:export +)?([A-Z][A-Z0-9_]*) *[:+?]?=", makefile, re.M))
    used = set(re.findall(r"\$\(([A-Z][A-Z0-9_]*)\)", makefile))
    return with_default | (used - assigned - MAKE_BUILTINS)


def commands(group: click.Command, path: tuple[str, ...] = ()):
    """Every command under run.py's click group, with its words after `python run.py`."""
    yield path, group
    if isinstance(group, click.Group):
        for name, command in group.commands.items():
            yield from commands(command, (*path, name))


def param_names(param: click.Parameter) -> list[str]:
    """How the docs write a parameter: an argument as its metavar (DEST), an option as its flags."""
    if isinstance(param, click.Argument):
        return [param.human_readable_name]
    return [*param.opts, *param.secondary_opts]


def module_commands():
    """`python -m MODULE` entry points: project modules whose `__main__` block calls a click
    command, with that command (run.py is covered by its own headings)."""
    for path in project_files(".py"):
        source = path.read_text()
        if path.name == "run.py" or "import click" not in source:
            continue
        for node in ast.parse(source).body:
            if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
                calls = [c for c in ast.walk(node) if isinstance(c, ast.Call)]
                called = [c.func.id for c in calls if isinstance(c.func, ast.Name)]
                module_name = ".".join(path.relative_to(REPO).with_suffix("").parts)
                module = importlib.import_module(module_name)
                for name in called:
                    if isinstance(getattr(module, name, None), click.Command):
                        yield module_name, getattr(module, name)


def project_files(*suffixes: str):
    for path in REPO.rglob("*"):
        relative = path.relative_to(REPO)
        if path.is_file() and path.suffix in suffixes and not SKIPPED_DIRS & set(relative.parts):
            yield path


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_environ(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def environment_reads(source: str, constants: bool = True) -> set[str]:
    """Names of environment variables Python code reads.

    `os.environ.get("X")`, `os.environ["X"]` (read, not assigned), `os.getenv("X")`,
    `os.environ.setdefault("X", ...)` (a default the user's own value overrides), click's
    `envvar="X"`, and, with `constants`, the names held by module constants called
    `*_VARIABLE` / `*_VARIABLES` (settings read through a table).
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            first = _literal(node.args[0]) if node.args else None
            if isinstance(func, ast.Attribute) and first:
                reads_environ = func.attr in {"get", "setdefault"} and _is_environ(func.value)
                if reads_environ or func.attr == "getenv":
                    names.add(first)
            for keyword in node.keywords:
                if keyword.arg == "envvar":
                    values = getattr(keyword.value, "elts", [keyword.value])
                    names.update(v for v in map(_literal, values) if v)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if _is_environ(node.value) and (name := _literal(node.slice)):
                names.add(name)
        elif constants and isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if any(t.endswith(("_VARIABLE", "_VARIABLES")) for t in targets):
                for value in ast.walk(node.value):
                    if (name := _literal(value)) and re.fullmatch(r"[A-Z][A-Z0-9_]+", name):
                        names.add(name)
    return names


def notebook_sources(path: Path):
    for cell in json.loads(path.read_text()).get("cells", []):
        if cell.get("cell_type") == "code":
            source = "".join(cell.get("source", []))
            # IPython magics and shell lines are not Python.
            yield "\n".join(
                line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
            )


def variables_the_code_reads() -> dict[str, set[str]]:
    """Environment variable -> the files that read it, across the project's code."""
    found: dict[str, set[str]] = {}

    def add(names: set[str], path: Path) -> None:
        for name in names:
            found.setdefault(name, set()).add(str(path.relative_to(REPO)))

    for path in project_files(".py"):
        if path.resolve() == Path(__file__).resolve():
            continue
        add(environment_reads(path.read_text()), path)
    for path in project_files(".ipynb"):
        for source in notebook_sources(path):
            try:
                add(environment_reads(source), path)
            except SyntaxError:
                continue
    shell_scripts = [*project_files(".sh"), *(REPO / ".ci").glob("*")]
    for path in (p for p in shell_scripts if p.is_file()):
        add(set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):?-", path.read_text())), path)
    # Recipes that read the shell's environment: $$NAME.
    makefile = REPO / "Makefile"
    add(set(re.findall(r"\$\$\{?([A-Z][A-Z0-9_]*)", makefile.read_text())), makefile)
    return found


def sections(markdown: str) -> dict[str, str]:
    """Each heading of the page -> the text under it, up to the next heading."""
    parts = re.split(r"^(#{1,6} .*)$", markdown, flags=re.MULTILINE)
    return {heading: body for heading, body in zip(parts[1::2], parts[2::2], strict=True)}


def mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


@pytest.mark.slow  # imports every module and scans the tree: seconds
def test_the_scans_find_what_they_are_meant_to_find() -> None:
    """The discovery itself, on known cases, so an empty scan cannot pass the test below."""
    assert "help" in make_help_targets() and "docs-serve" in make_help_targets()
    assert {"CONFIG", "PORT", "VERSION"} <= make_user_variables()
    assert "VENV" not in make_user_variables() and "MAKE" not in make_user_variables()
    sample = (
        'import os\nos.environ.get("A")\nos.environ["B"]\nos.getenv("C")\n'
        'os.environ.setdefault("D", "x")\nos.environ["E"] = "written"\n'
        'S_VARIABLES = {"k": "F_TABLE"}\nclick.option("--p", envvar="G")\n'
    )
    assert environment_reads(sample) == {"A", "B", "C", "D", "F_TABLE", "G"}
    reads = variables_the_code_reads()
    assert {"SERVING_API_TOKEN", "IRIS_S3_BUCKET", "BASE_IMAGE"} <= reads.keys()
    modules = dict(module_commands())
    assert {"stack.s3_server", "stack.dashboard", "stack.podman_socket"} <= modules.keys()


@pytest.mark.slow  # imports every module and scans the tree: seconds
def test_reference_names_every_target_command_option_and_variable() -> None:
    from run import cli

    reference = REFERENCE.read_text()
    by_heading = sections(reference)
    missing: list[str] = []

    missing += [
        f"make target `make {t}`"
        for t in make_help_targets()
        if not mentions(reference, f"make {t}")
    ]
    missing += [
        f"make variable {v}" for v in sorted(make_user_variables()) if not mentions(reference, v)
    ]

    for path, command in commands(cli):
        words = " ".join(("python run.py", *path))
        found = [
            body for heading, body in by_heading.items() if heading.lstrip("# ") == f"`{words}`"
        ]
        if not found:
            missing.append(f"a heading with `{words}`")
            continue
        for param in command.params:
            names = param_names(param)
            missing += [f"{name} under `{words}`" for name in names if not mentions(found[0], name)]

    for module_name, group in module_commands():
        rows = [line for line in reference.splitlines() if f"python -m {module_name}" in line]
        if not rows:
            missing.append(f"a row with `python -m {module_name}`")
        for path, command in commands(group):
            names = [*path] + [name for param in command.params for name in param_names(param)]
            where = " ".join(("python -m", module_name, *path))
            missing += [f"{n} of `{where}`" for n in names if not mentions(" ".join(rows), n)]

    for name, files in sorted(variables_the_code_reads().items()):
        if not mentions(reference, name):
            missing.append(f"environment variable {name} (read in {', '.join(sorted(files))})")

    assert not missing, "docs/reference.md does not name:\n  " + "\n  ".join(missing)


def layout_tree(page: Path) -> str:
    """The ```text block under the page's "## Layout" heading."""
    body = sections(page.read_text())["## Layout"]
    return re.search(r"```text\n(.*?)```", body, re.DOTALL).group(1)


# The folders whose every module the tree describes one by one.
DETAILED_FOLDERS = ("pipelines", "service", "deploy")


def test_the_layout_tree_is_the_projects_own() -> None:
    """The README and the site show the same tree, and it names every top-level entry git
    tracks (but the README and dotfiles) and every module of the detailed folders."""
    tree = layout_tree(REPO / "docs" / "index.md")
    assert layout_tree(REPO / "README.md") == tree, "README.md and docs/index.md differ"
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    names = {path.split("/")[0] + ("/" if "/" in path else "") for path in tracked}
    names |= {
        "/".join(path.split("/")[1:2]) + ("/" if path.count("/") > 1 else "")
        for path in tracked
        if path.split("/")[0] in DETAILED_FOLDERS and not path.endswith("__init__.py")
    }
    expected = {n for n in names if n != "README.md" and (n.endswith("/") or n[0] != ".")}
    missing = sorted(name for name in expected if not mentions(tree, name.rstrip("/")))
    assert not missing, f"the layout tree (docs/index.md, README.md) does not name: {missing}"


def test_docs_serve_answers_on_loopback_only() -> None:
    """`make docs-serve`: the site on 127.0.0.1:DOCS_PORT, and nothing on the other addresses."""
    import socket
    import time

    import httpx

    from tests.helpers import free_port

    port = free_port()
    server = subprocess.Popen(
        ["make", "--no-print-directory", "docs-serve", f"DOCS_PORT={port}"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/reference/", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "did not start"
                time.sleep(0.5)
        assert page.status_code == 200 and "python run.py" in page.text
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as route:
                route.connect(("192.0.2.1", 9))  # sends nothing: it picks the outward address
                outside = route.getsockname()[0]
        except OSError:  # a machine with no network at all has only loopback to ask
            outside = None
        if outside is not None:
            with socket.socket() as probe:
                probe.settimeout(2)
                assert probe.connect_ex((outside, port)) != 0, f"docs-serve answers on {outside}"
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
