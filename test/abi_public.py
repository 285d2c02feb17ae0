#!/usr/bin/env python3
"""Keeps of an abidw corpus (abixml) only the public API of libmodelpin, for test/abi_test.sh.

The library exports every non-static function of its layers, public or not, plus template
instantiations of the standard library, abseil and PEGTL; only what the installed headers declare
is promised (docs/embedding.md, "API and ABI policy"). Kept: member functions and static data of
classes defined in an installed header, and free functions and variables of namespace modelpin
whose name an installed header declares, except weak symbols (inline code). Everything else, and the source lines (which move with
every edit and are no part of the ABI), is dropped.
    abi_public.py IN.abi OUT.abi INCLUDEDIR     (INCLUDEDIR holds modelpin/...)
"""
import os
import re
import sys
import xml.etree.ElementTree as ET


def public_headers(inc):
    suffixes, names = [], set()
    top = os.path.join(inc, "modelpin")
    for root, _, files in os.walk(top):
        for f in files:
            path = os.path.join(root, f)
            rel = os.path.relpath(path, top)
            # A project header is compiled from <src>/<rel>, an SDK header from <src>/sdk/modelpin/<rel>.
            suffixes.append("/" + rel if "/" in rel else "/modelpin/" + rel)
            text = open(path, encoding="utf-8").read()
            text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
            text = re.sub(r"//[^\n]*", " ", text)
            names |= set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", text))
            names |= {"operator" + op for op in re.findall(r"\boperator\s*([^\s(\w]+)\s*\(", text)}
    return tuple(suffixes), names


def prune(corpus, public):
    """Drops the types no kept function or variable reaches, and the declarations without a kept
    symbol: abidiff reports nothing about them, and the baseline stays small."""
    scopes = ("abi-instr", "namespace-decl")
    top = {}  # id -> the top-level elements (children of an abi-instr or namespace) defining it
    for scope in corpus.iter():
        if scope.tag in scopes:
            for el in scope:
                if el.tag not in scopes:
                    for sub in el.iter():  # a class's member types are reached through the class
                        if sub.get("id"):
                            top.setdefault(sub.get("id"), []).append(el)
    refs = lambda el: {v for sub in el.iter() for k, v in sub.attrib.items()
                       if k.endswith("-id") and k != "elf-symbol-id" and v in top}
    seen, todo = set(), []
    for el in corpus.iter():
        if el.tag in ("function-decl", "var-decl") and el.get("elf-symbol-id") in public:
            todo.extend(refs(el))
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        for el in top[i]:
            todo.extend(refs(el) - seen)

    def sweep(scope):
        for el in list(scope):
            if el.tag == "namespace-decl":
                sweep(el)
                if len(el) == 0:
                    scope.remove(el)
            elif el.get("id") is not None:
                if not any(sub.get("id") in seen for sub in el.iter()):
                    scope.remove(el)
            elif el.tag in ("function-decl", "var-decl") and el.get("elf-symbol-id") not in public:
                scope.remove(el)
    for instr in corpus.iter("abi-instr"):
        sweep(instr)


def main(src, dst, inc):
    suffixes, names = public_headers(inc)
    tree = ET.parse(src)
    corpus = tree.getroot()
    parent = {c: p for p in corpus.iter() for c in p}

    def in_public_header(el):
        fp = el.get("filepath")
        return fp is not None and ("/" + fp.lstrip("/")).endswith(suffixes)

    def owner_class(el):
        p = parent.get(el)
        while p is not None and p.tag not in ("class-decl", "union-decl"):
            p = parent.get(p)
        return p

    # Weak symbols are inline functions and template instantiations: every caller compiles its own
    # copy, and whether the library emits one depends on the optimiser.
    weak = {s.get("name") for s in corpus.iter("elf-symbol") if s.get("binding") == "weak-binding"}
    public, drop = set(), []
    for el in list(corpus.iter()):
        sym = el.get("elf-symbol-id")
        if sym is None or el.tag not in ("function-decl", "var-decl"):
            continue
        if sym in weak:
            drop.append(el)
            continue
        cls = owner_class(el)
        if cls is not None:
            ok = in_public_header(cls)
        else:
            mangled = el.get("mangled-name", sym)
            ok = re.match(r"_ZN?K?8modelpin", mangled) is not None and el.get("name") in names
        if ok:
            public.add(sym)
        else:
            drop.append(el)
    # A constructor's or destructor's symbols are aliases of each other (C1/C2): all or none stay.
    for table in corpus.findall("elf-function-symbols") + corpus.findall("elf-variable-symbols"):
        for s in table:
            group = {s.get("name")} | set(filter(None, s.get("alias", "").split(",")))
            if group & public:
                public |= group
    for el in drop:
        if el.get("elf-symbol-id") in public:
            continue
        p = parent[el]
        victim, holder = (p, parent[p]) if p.tag in ("member-function", "data-member") else (el, p)
        if victim in list(holder):
            holder.remove(victim)
    for table in corpus.findall("elf-function-symbols") + corpus.findall("elf-variable-symbols"):
        for s in list(table):
            if s.get("name") not in public:
                table.remove(s)
    prune(corpus, public)
    for el in corpus.iter():
        for a in ("filepath", "line", "column", "comp-dir-path"):
            el.attrib.pop(a, None)
    corpus.set("path", os.path.basename(corpus.get("path", "")))
    tree.write(dst, encoding="unicode")
    print(f"{len(public)} public symbols kept", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: abi_public.py IN.abi OUT.abi INCLUDEDIR")
    main(*sys.argv[1:])
