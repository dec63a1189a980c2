"""The import rules of the layout (DESIGN.md, "Layout"), checked over the source.

Every module under crypto/, protocol/, node/ and simulations/ is parsed with
`ast`; every import counts, at module level or inside a function, except the
body of an `if TYPE_CHECKING:` block. The rules:

- layers run one way: crypto <- protocol <- node <- simulations. The one
  exception is `noticenet.node.cli`, the `noticenet` command, which joins the
  node and the simulations; simulations may not import it.
- crypto and protocol do no I/O: none of IO_MODULES (of `os` they may use
  `os.urandom`, their randomness, and nothing else), no call of the builtin `open`.
- protocol's sub-packages form the DAG in PROTOCOL_DAG.
- no import cycle between modules, at any size.
- every `noticenet.*` import names a module or package that exists.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("crypto", "protocol", "node", "simulations")  # bottom to top; folder = sub-package
JOINER = "noticenet.node.cli"  # the one part of node that may import simulations

# Modules that reach the outside world: sockets, files, processes, clocks, randomness, logs.
IO_MODULES = frozenset(
    "anyio asyncio concurrent fcntl glob http httpx hypercorn fastapi libp2p logging "
    "multiaddr multiprocessing os pathlib plyvel random secrets select selectors shutil "
    "signal socket sqlite3 ssl subprocess tempfile threading time trio urllib".split()
)
OS_ALLOWED = frozenset({"urandom"})  # keys, nonces and salts are drawn from the OS

# What each protocol sub-package (or top-level protocol module) may import of protocol.
PROTOCOL_DAG: dict[str, frozenset[str]] = {
    "errors": frozenset(),
    "identifiers": frozenset({"errors"}),
    "records": frozenset({"errors", "identifiers"}),
    "store": frozenset({"errors"}),
    "index": frozenset({"errors", "identifiers", "records", "store"}),
    "ledger": frozenset({"errors", "identifiers", "records", "store", "index"}),
    "ccf": frozenset({"errors", "identifiers", "records", "store", "index", "ledger"}),
    "replication": frozenset({"errors", "identifiers", "records", "store", "index", "ledger"}),
    "devnet": frozenset(
        {"errors", "identifiers", "records", "store", "index", "ledger", "ccf", "replication"}
    ),
}


@dataclass
class Module:
    name: str
    path: str
    imports: dict[str, int] = field(default_factory=dict)  # noticenet module -> line
    external: dict[str, int] = field(default_factory=dict)  # top-level package -> line
    os_uses: dict[str, int] = field(default_factory=dict)  # os.<attr> -> line
    opens: list[int] = field(default_factory=list)  # lines calling the builtin open
    unknown: dict[str, int] = field(default_factory=dict)  # noticenet.* that does not exist


def discover(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    found: dict[str, Path] = {}
    for layer in LAYERS:
        for path in sorted((root / layer).rglob("*.py")):
            parts = ["noticenet", *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> Iterable[ast.AST]:
    """All nodes in source order, except those under `if TYPE_CHECKING:` (its `else`
    still counts)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(reversed(node.orelse))
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def parse(name: str, path: Path, known: Iterable[str], root: Path = ROOT) -> Module:
    """The imports of one module, resolved against the `known` module names."""
    known = set(known)
    is_package = path.name == "__init__.py"
    module = Module(name, str(path.relative_to(root)))
    os_names: set[str] = set()

    def internal(target: str, line: int) -> None:
        if target in known:
            module.imports.setdefault(target, line)
        else:
            module.unknown.setdefault(target, line)

    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("noticenet."):
                    internal(alias.name, node.lineno)
                else:
                    module.external.setdefault(alias.name.split(".")[0], node.lineno)
                    if alias.name == "os":
                        os_names.add(alias.asname or "os")
                    elif alias.name.startswith("os."):
                        module.os_uses.setdefault(alias.name[3:], node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if not source.startswith("noticenet"):
                top = source.split(".")[0]
                module.external.setdefault(top, node.lineno)
                if top == "os":
                    for alias in node.names:
                        module.os_uses.setdefault(alias.name, node.lineno)
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                internal(sub if sub in known else source, node.lineno)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in os_names:
                module.os_uses.setdefault(node.attr, node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "open":
                module.opens.append(node.lineno)
    return module


def layer_of(name: str) -> str:
    return name.split(".")[1] if name.count(".") >= 1 else ""


def protocol_part(name: str) -> str:
    """`noticenet.protocol.ledger.audit` -> `ledger`; `noticenet.protocol.errors` -> `errors`."""
    parts = name.split(".")
    return parts[2] if len(parts) > 2 else ""


def in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def rule_violations(modules: Mapping[str, Module]) -> list[str]:
    """Every broken layer, I/O, DAG or existence rule, one readable line each."""
    problems: list[str] = []
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    for m in sorted(modules.values(), key=lambda m: m.name):
        where = m.path
        mine = layer_of(m.name)
        for target, line in sorted(m.unknown.items()):
            problems.append(f"{where}:{line}: imports {target}, which does not exist")
        for target, line in sorted(m.imports.items()):
            theirs = layer_of(target)
            if theirs not in rank or mine not in rank:
                continue
            if rank[theirs] > rank[mine] and not (
                in_package(m.name, JOINER) and theirs == "simulations"
            ):
                problems.append(
                    f"{where}:{line}: {mine} imports {target}, a higher layer ({theirs})"
                )
            if mine == "simulations" and in_package(target, JOINER):
                problems.append(
                    f"{where}:{line}: simulations imports {target}, the command that joins them"
                )
            if mine == "protocol" and theirs == "protocol" and protocol_part(m.name):
                a, b = protocol_part(m.name), protocol_part(target)
                if a and b and a != b and a in PROTOCOL_DAG and b not in PROTOCOL_DAG[a]:
                    problems.append(
                        f"{where}:{line}: protocol.{a} imports {target}; "
                        f"protocol.{a} may import only {sorted(PROTOCOL_DAG[a]) or 'nothing'}"
                    )
        if mine == "protocol" and protocol_part(m.name) not in PROTOCOL_DAG | {"": frozenset()}:
            problems.append(f"{where}: is in no part of protocol named in PROTOCOL_DAG")
        if mine in ("crypto", "protocol"):
            for ext, line in sorted(m.external.items()):
                if ext in IO_MODULES and ext != "os":
                    problems.append(f"{where}:{line}: {mine} does no I/O but imports {ext}")
            for attr, line in sorted(m.os_uses.items()):
                if attr not in OS_ALLOWED:
                    problems.append(f"{where}:{line}: {mine} uses os.{attr} (only urandom)")
            for line in m.opens:
                problems.append(f"{where}:{line}: {mine} does no I/O but calls open()")
    return problems


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module, or a self-import
    (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in graph.get(node, ()):
                        found.append(sorted(component))
    return sorted(found)


def check(modules: Mapping[str, Module]) -> list[str]:
    """All problems: rule violations, then import cycles."""
    problems = rule_violations(modules)
    graph = {name: set(m.imports) for name, m in modules.items()}
    for component in cycles(graph):
        inside = set(component)
        edges = [
            f"{a} -> {b} ({modules[a].path}:{modules[a].imports[b]})"
            for a in component
            for b in sorted(graph[a] & inside)
        ]
        problems.append("import cycle: " + "; ".join(edges))
    return problems


def load(root: Path = ROOT) -> dict[str, Module]:
    found = discover(root)
    return {name: parse(name, path, found, root) for name, path in found.items()}


def test_the_layout_keeps_its_import_rules() -> None:
    modules = load()
    assert len(modules) > 100, "the checker found too few modules to be looking at the source"
    problems = check(modules)
    assert not problems, "import rules broken (tests/test_layers.py):\n  " + "\n  ".join(problems)


def test_the_check_reports_each_kind_of_violation(tmp_path: Path) -> None:
    sources = {
        "crypto/__init__.py": "",
        "crypto/keys.py": "import os\nx = os.urandom(32)\n",
        "crypto/bad.py": "import os\nfrom noticenet.protocol.errors import E\nos.remove('k')\n",
        "protocol/__init__.py": "",
        "protocol/errors.py": "",
        "protocol/stray.py": "",
        "protocol/records/__init__.py": "",
        "protocol/records/codec.py": "from noticenet.protocol.store import kv\n",
        "protocol/store/__init__.py": "",
        "protocol/store/kv.py": "import trio\nfrom noticenet.protocol.errors import E\n"
        "import os.path\nimport os\nsalt = os.urandom(16)\n",
        "protocol/ledger/__init__.py": "",
        "protocol/ledger/ledger.py": "from . import enforcement\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from noticenet.node import service\n",
        "protocol/ledger/enforcement.py": "def f():\n    from .ledger import Ledger\n"
        "    open('x')\n",
        "node/__init__.py": "",
        "node/service.py": "from noticenet.simulations import simnet\nfrom .gone import x\n",
        "node/cli/__init__.py": "",
        "node/cli/main.py": "from noticenet.simulations import simnet\n",
        "simulations/__init__.py": "",
        "simulations/simnet.py": "from noticenet.node.cli import main\n",
    }
    for rel, text in sources.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    report = "\n".join(check(load(tmp_path)))
    expected = [
        "crypto/bad.py:2: crypto imports noticenet.protocol.errors, a higher layer",
        "crypto/bad.py:3: crypto uses os.remove",
        "protocol.records imports noticenet.protocol.store.kv",
        "store/kv.py:1: protocol does no I/O but imports trio",
        "store/kv.py:3: protocol uses os.path (only urandom)",
        "enforcement.py:3: protocol does no I/O but calls open()",
        "node/service.py:1: node imports noticenet.simulations.simnet, a higher layer",
        "node/service.py:2: imports noticenet.node.gone, which does not exist",
        "protocol/stray.py: is in no part of protocol",
        "simulations/simnet.py:1: simulations imports noticenet.node.cli.main",
        "import cycle: noticenet.protocol.ledger.enforcement -> noticenet.protocol.ledger.ledger",
    ]
    for line in expected:
        assert line in report, f"missing {line!r} in:\n{report}"
    assert "crypto/keys.py" not in report  # os.urandom is allowed
    assert "os.urandom" not in report
    assert "node/cli/main.py:1: node imports" not in report  # the command joins the two
    assert "noticenet.node.service" not in report  # TYPE_CHECKING imports do not count


def test_every_package_is_installed() -> None:
    """pyproject lists the packages one by one: a sub-package left out imports in
    a checkout but is missing from a wheel."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {name for name, path in discover().items() if path.name == "__init__.py"}
    listed = set(setuptools["packages"])
    assert packages == listed, (
        f"add to pyproject: {sorted(packages - listed)}; not packages: {sorted(listed - packages)}"
    )
