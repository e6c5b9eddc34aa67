#!/usr/bin/env python3
"""Reports import cycles between the source files of each crate (exit 1 if any).

A file "imports" another when it names a path into that file's module: `crate::a::b`, `super::x`,
or a `use` of either. Paths are resolved to the longest module prefix that has a file
(`crate::kcr::sigv4::verify` -> crates/api/src/kcr/sigv4.rs). A parent naming a child's items
(`mod x;` then `x::f()`) imports the child; declaring it alone does not. A child naming its
parent's items while the parent names the child's is a cycle too: shared helpers belong in a
file of their own.

    scripts/module-cycles.py            # every crate under crates/
    scripts/module-cycles.py crates/api # one crate
"""
import re
import sys
from pathlib import Path

PATH_RE = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP_RE = re.compile(r"\buse\s+(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\};", re.S)


def module_files(src: Path):
    """Maps module paths (tuples) to files."""
    mods = {}
    for f in src.rglob("*.rs"):
        rel = f.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts in (["lib"], ["main"]):
            parts = []
        elif parts[-1] == "mod":
            parts = parts[:-1]
        if parts and parts[0] == "bin":
            continue
        mods[tuple(parts)] = f
    return mods


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


REEXPORTS = {}  # (module, name) -> module path of the file that defines it


def resolve(mods, base, segments, depth=0):
    """The file a path names: its longest module prefix, then through that module's `pub use`
    re-exports to the file that defines the item (`crate::StoreError` -> error.rs)."""
    path = list(base) + segments
    while path and tuple(path) not in mods:
        path.pop()
    found = tuple(path)
    rest = segments[len(path) - len(base):] if len(path) >= len(base) else []
    if rest and depth < 8 and (found, rest[0]) in REEXPORTS:
        target, tail = REEXPORTS[(found, rest[0])]
        return resolve(mods, (), list(target) + tail + rest[1:], depth + 1)
    if rest and depth < 8:
        for target in GLOBS.get(found, ()):
            if target in mods and re.search(
                r"\bpub\s+(?:struct|enum|trait|fn|type|const|static|async\s+fn)\s+" + rest[0] + r"\b",
                mods[target].read_text(),
            ):
                return target
    return found


GLOBS = {}  # module -> modules it re-exports with `pub use x::*`


REEXPORT_RE = re.compile(r"\bpub(?:\([a-z]+\))?\s+use\s+(self::|crate::|super::)?([A-Za-z0-9_:]+?)(?:::\{([^;]*)\}|::([A-Za-z0-9_]+)(?:\s+as\s+([A-Za-z0-9_]+))?)\s*;", re.S)


def collect_reexports(mods):
    for mp, f in mods.items():
        text = strip_comments(f.read_text())
        for g in re.findall(r"\bpub\s+use\s+(?:self::)?([a-z_][a-z0-9_]*)::\*\s*;", text):
            GLOBS.setdefault(mp, []).append(mp + (g,))
        for m in REEXPORT_RE.finditer(text):
            kind, prefix, group, single, alias = m.groups()
            segs = [x for x in prefix.split("::") if x]
            if kind == "crate::":
                base = []
            elif kind == "super::":
                base = list(mp[:-1])
            else:
                base = list(mp)
            if not kind and segs and segs[0] not in [c for c in (p[-1] for p in mods if p and p[:-1] == mp)]:
                continue  # an external crate's path
            full = base + segs
            items = []
            if single:
                items.append((alias or single, single))
            elif group:
                for item in group.split(","):
                    item = item.strip()
                    if not item or "{" in item or "::" in item:
                        continue
                    name, _, al = item.partition(" as ")
                    items.append((al.strip() or name.strip(), name.strip()))
            for exported, name in items:
                REEXPORTS[(mp, exported)] = (tuple(full), [name])


def imports_of(mods, modpath, text):
    out = set()
    text = strip_comments(text)
    # test modules may import anything of their parent
    text = re.split(r"#\[cfg\(test\)\]\s*mod\s+tests", text)[0]

    # Inline modules (`mod x { .. }`): `super` inside one means the file's own module.
    inline = []
    for m in re.finditer(r"\bmod\s+[a-z_][a-z0-9_]*\s*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        inline.append((m.end(), i))

    def add(kind, rest, pos):
        segs = [s for s in rest.split("::") if s]
        if kind == "crate":
            base = ()
        else:
            nested = sum(1 for a, b in inline if a <= pos < b)
            ups = 1  # the `super` that matched
            while segs and segs[0] == "super":
                ups += 1
                segs = segs[1:]
            # inside `nested` inline modules, the first `nested` supers stay in this file
            base = modpath[: len(modpath) - max(0, ups - nested)]
        target = resolve(mods, base, segs)
        if target != modpath:
            out.add(target)

    for m in USE_GROUP_RE.finditer(text):
        kind, prefix, inner = m.groups()
        for item in re.split(r",", inner):
            item = item.strip().split(" as ")[0].strip()
            item = item.split("::{")[0]
            if item and item != "self":
                add(kind, prefix + "::" + item, m.start())
            elif item == "self":
                add(kind, prefix, m.start())
    for m in PATH_RE.finditer(text):
        add(m.group(1), m.group(2), m.start())
    # A parent naming its child modules' items directly (`mod apk;` ... `apk::catalog(..)`).
    for child in re.findall(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;", text, re.M):
        if re.search(r"(?<![:\w])" + child + r"::", text):
            target = resolve(mods, modpath, [child])
            if target != modpath:
                out.add(target)
    return out


def cycles(crate: Path):
    src = crate / "src"
    mods = module_files(src)
    REEXPORTS.clear()
    GLOBS.clear()
    collect_reexports(mods)
    graph = {}
    for mp, f in mods.items():
        deps = imports_of(mods, mp, f.read_text())
        # declaring a child module (`mod x;`) is structure, not an import
        graph[mp] = {d for d in deps if d != mp}
    # Tarjan's strongly connected components
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return [[str(mods[m].relative_to(crate.parent.parent)) for m in sorted(c)] for c in sccs]


def main():
    root = Path(__file__).resolve().parent.parent
    crates = [Path(a).resolve() for a in sys.argv[1:]] or sorted(p.parent for p in root.glob("crates/*/src"))
    bad = 0
    for c in crates:
        for comp in cycles(c):
            bad += 1
            print(f"import cycle in {c.name}: " + " <-> ".join(comp))
    if bad == 0:
        print("no import cycles between files")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
