"""Safe YAML reading that remembers where every value came from.

:func:`read` returns the plain data of a YAML file together with a map from each dot path to
its ``(file, line, column)``, so that validation errors can name the file, line and field.
It rejects what PyYAML would accept silently: duplicate keys, merge keys, documents that
expand past a node limit (alias bombs) or nest too deeply, files over a size limit and
non-UTF-8 bytes. Values PyYAML cannot construct (``2025-02-30``) are located problems too.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 5 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64

_PLAIN = (yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
          yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG)

Where = tuple[str, int, int]
Marks = dict[tuple[str, ...], Where]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as known."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        loc = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        return f"{loc}: {self.path}: {self.message}" if self.path else f"{loc}: {self.message}"


class InputError(Exception):
    """Bad input: carries every problem found, each printable on one line."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def show(value: Any) -> str:
    """A value as a YAML author would write it: true, null, 'text', 3.5; containers by kind."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return repr(value)[:60]


def _fail(file: str, message: str, line: int = 0, col: int = 0, path: str = "") -> InputError:
    return InputError([Problem(file, line, col, path, message)])


def _reason(err: OSError) -> str:
    text = err.strerror or str(err)
    return text[:1].lower() + text[1:]


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file (``no such file``, ``is a directory``, or the
    system's reason: a symlink loop, a name too long ...), or None if it is a file.
    """
    try:
        if stat.S_ISDIR(path.stat().st_mode):
            return "is a directory"
    except FileNotFoundError:
        return "no such file"
    except OSError as err:
        return _reason(err)
    return None


def read_text(path: Path) -> str:
    """Read a scenario file as UTF-8, refusing directories, huge files and bad bytes."""
    name = str(path)
    problem = file_problem(path)
    if problem == "is a directory":
        problem += ", not a scenario file"
    if problem is not None:
        raise _fail(name, problem)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise _fail(name, f"file is {size} bytes; the limit is {MAX_BYTES} bytes")
    try:
        raw = path.read_bytes()
    except OSError as err:  # e.g. no permission to read it
        raise _fail(name, _reason(err)) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        before = raw[: err.start].decode("utf-8")
        line, col = _position(before, len(before))
        raise _fail(name, f"not UTF-8 text (byte 0x{raw[err.start]:02x})", line, col) from None


class _Builder:
    """Turns a composed YAML node tree into plain data plus marks."""

    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self.loader, self.file = loader, file
        self.marks: Marks = {}
        self.nodes = 0

    def where(self, node: yaml.Node) -> Where:
        return (self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, path: tuple[str, ...]) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:  # aliases share nodes, so blame the top-level key
            where = self.marks.get(path[:1], self.where(node))
            raise _fail(self.file, f"document expands past {MAX_NODES} nodes (alias bomb?)",
                        *where[1:], path[0] if path else "")
        if len(path) > MAX_DEPTH:
            raise _fail(self.file, f"nested more than {MAX_DEPTH} levels deep",
                        *self.where(node)[1:], ".".join(path[:3]) + "...")
        self.marks.setdefault(path, self.where(node))
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN:
            raise _fail(self.file, f"unsupported YAML tag {node.tag!r}", *self.where(node)[1:],
                        ".".join(path))
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(n, (*path, str(i))) for i, n in enumerate(node.value)]
        return self.scalar(node, path)

    def scalar(self, node: yaml.Node, path: tuple[str, ...]) -> Any:
        # PyYAML raises a bare ValueError for values that match a pattern but do not exist,
        # e.g. the date 2025-02-30 or `!!int abc`.
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError) as err:
            raise _fail(self.file, f"invalid value: {err} (got {node.value!r})",
                        *self.where(node)[1:], ".".join(path)) from None

    def mapping(self, node: yaml.MappingNode, path: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _fail(self.file, "merge keys (<<) are not supported; use extends:",
                            *self.where(key_node)[1:], ".".join(path))
            key = self.scalar(key_node, path)
            if not isinstance(key, str | int | float | bool):
                raise _fail(self.file, f"mapping keys must be plain scalars (got {key!r})",
                            *self.where(key_node)[1:], ".".join(path))
            key = str(key)
            if key in out:
                first = self.marks[(*path, key)]
                raise _fail(self.file, f"duplicate key {key!r} (first at line {first[1]})",
                            *self.where(key_node)[1:], ".".join((*path, key)))
            self.marks[(*path, key)] = self.where(key_node)
            out[key] = self.build(value_node, (*path, key))
        return out


def _syntax_error(file: str, err: yaml.YAMLError, text: str) -> InputError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    problem = getattr(err, "problem", None) or str(err)
    context, start = getattr(err, "context", None), getattr(err, "context_mark", None)
    if context and context.startswith("while") and start is not None and start.line + 1 < line:
        problem += f" ({context} started at line {start.line + 1})"
    elif context:
        problem = f"{context}, {problem}"
    lines = text.splitlines()
    if 0 < line <= len(lines) and "\t" in lines[line - 1][: max(col, 1)]:
        problem = "tab character; YAML indents with spaces only"
    if isinstance(err, yaml.constructor.ConstructorError):
        return _fail(file, f"unsupported YAML: {problem}", line, col)
    return _fail(file, f"YAML syntax error: {problem}", line, col)


def _position(text: str, pos: int) -> tuple[int, int]:
    """1-based (line, column) of character offset ``pos`` in ``text``."""
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


def parse(text: str, file: str) -> tuple[Any, Marks]:
    """Parse YAML text into plain data and a path -> location map."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as err:  # checked up front, for the whole text
        char = err.character if isinstance(err.character, int) else ord(err.character)
        raise _fail(file, f"control character U+{char:04X} is not allowed in YAML",
                    *_position(text, err.position)) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise _fail(file, "empty file: expected a mapping of scenario sections", 1, 1)
        builder = _Builder(loader, file)
        data = builder.build(node, ())
    except yaml.YAMLError as err:
        raise _syntax_error(file, err, text) from None
    except RecursionError:
        mark = loader.get_mark()
        raise _fail(file, "nested too deeply", mark.line + 1, mark.column + 1) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise _fail(file, f"the top level must be a mapping (got {type(data).__name__})",
                    *builder.where(node)[1:])
    return data, builder.marks


def read(path: Path) -> tuple[dict[str, Any], Marks]:
    """Read and parse one YAML file."""
    return parse(read_text(path), str(path))
