"""snapshot_workspace: a zip of the code a run ran, filtered by .gitignore / .rnignore rules.

Rules (Runicorn v0.6's): the lines of <root>/.gitignore, then <root>/.rnignore, then
`extra_excludes` are read in that order and the LAST rule that matches a path decides; a rule
starting with '!' re-includes; a leading '/' anchors the rule at the root; a trailing '/' matches
directories only (and so everything below them); an unanchored rule is matched (fnmatch) against
every suffix of the path ("b/c.py", "c.py" for "a/b/c.py"). As in git, a file below an excluded
directory cannot be re-included. When <root>/.rnignore is missing a default one is written.
The zip being written and any runicorn store below the root are never included.
"""
from __future__ import annotations

import fnmatch
import os
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

DEFAULT_RNIGNORE = ".git/\n.venv/\n__pycache__/\n*.pyc\n.idea/\nnode_modules/\n"
_MiB = 1024 * 1024

# (pattern, negated, anchored, directories only)
Rule = Tuple[str, bool, bool, bool]


def parse_rules(lines: Iterable[str]) -> List[Rule]:
    rules = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        dir_only = line.endswith("/")
        anchored = line.startswith("/")
        line = line.strip("/")
        if line:
            rules.append((line, negated, anchored, dir_only))
    return rules


def _matches(rule: Rule, rel: str, is_dir: bool) -> bool:
    pattern, _, anchored, dir_only = rule
    if dir_only and not is_dir:
        return False
    if anchored:
        return fnmatch.fnmatchcase(rel, pattern)
    parts = rel.split("/")
    return any(fnmatch.fnmatchcase("/".join(parts[i:]), pattern) for i in range(len(parts)))


def is_ignored(rules: List[Rule], rel: str, is_dir: bool) -> bool:
    """Whether `rel` (a '/'-separated path relative to the root) is excluded: last match wins."""
    ignored = False
    for rule in rules:
        if _matches(rule, rel, is_dir):
            ignored = not rule[1]
    return ignored


def _read_lines(path: Path) -> List[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []


def _is_store(folder: Path) -> bool:
    """A runicorn store root: it has a catalog, or run folders with journals under runs/."""
    runs = folder / "runs"
    if not runs.is_dir():
        return False
    return (folder / "catalog").is_dir() or next(runs.glob("*/journal"), None) is not None


def collect_files(root: Path, rules: List[Rule], skip: Iterable[Path] = ()) -> List[Tuple[Path, str]]:
    """(absolute path, relative posix path) of every file the rules keep, sorted."""
    skip_set = {p.resolve() for p in skip}
    out: List[Tuple[Path, str]] = []
    for folder, dirs, files in os.walk(root):
        folder_path = Path(folder)
        rel_folder = folder_path.relative_to(root).as_posix()
        kept_dirs = []
        for d in sorted(dirs):
            full = folder_path / d
            rel = d if rel_folder == "." else f"{rel_folder}/{d}"
            if full.is_symlink() or full.resolve() in skip_set or _is_store(full):
                continue
            if not is_ignored(rules, rel, True):
                kept_dirs.append(d)
        dirs[:] = kept_dirs
        for name in sorted(files):
            full = folder_path / name
            rel = name if rel_folder == "." else f"{rel_folder}/{name}"
            if full.is_symlink() or not full.is_file() or full.resolve() in skip_set:
                continue
            if not is_ignored(rules, rel, False):
                out.append((full, rel))
    out.sort(key=lambda item: item[1])
    return out


def snapshot_workspace(root: os.PathLike | str, out_zip: os.PathLike | str, *,
                       ignore_file: str = ".rnignore",
                       extra_excludes: Optional[Iterable[str]] = None,
                       max_total_bytes: int = 500 * _MiB, max_files: int = 200_000,
                       force_snapshot: bool = False) -> Dict[str, Any]:
    """Zips the files of `root` kept by the ignore rules into `out_zip` and returns
    {"workspace_root", "archive_path", "format": "zip", "file_count", "total_bytes"}.

    More than `max_files` files or `max_total_bytes` bytes is a ValueError ("code snapshot too
    large: ...") unless force_snapshot=True; nothing is written then."""
    root_path = Path(root).resolve()
    if not root_path.is_dir():
        raise ValueError(f"runicorn: snapshot_workspace() root is not a directory: {root_path}")
    out_path = Path(out_zip).resolve()
    ignore_path = root_path / ignore_file
    if not ignore_path.exists():
        ignore_path.write_text(DEFAULT_RNIGNORE, encoding="utf-8")
    rules = parse_rules(_read_lines(root_path / ".gitignore") + _read_lines(ignore_path) +
                        list(extra_excludes or ()))
    files = collect_files(root_path, rules, skip=[out_path])
    total = sum(path.stat().st_size for path, _ in files)
    if not force_snapshot and (len(files) > max_files or total > max_total_bytes):
        raise ValueError(
            f"code snapshot too large: {len(files)} files, {total} bytes (limits {max_files} "
            f"files, {max_total_bytes} bytes); exclude paths in {ignore_file} or pass "
            f"force_snapshot=True")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, rel in files:
            archive.write(path, rel)
    os.replace(partial, out_path)  # a crash never leaves a half-written zip under the real name
    return {"workspace_root": str(root_path), "archive_path": str(out_path), "format": "zip",
            "file_count": len(files), "total_bytes": total}
