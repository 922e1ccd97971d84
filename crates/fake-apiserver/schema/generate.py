#!/usr/bin/env python3
"""Generates schema.txt: the field table of the kinds fake-apiserver serves.

One line per protobuf message reachable from the served kinds:

    io.k8s.api.core.v1.ServiceSpec ports:1:[]io.k8s.api.core.v1.ServicePort selector:2:{}string ...

Each field is `jsonName:protobufTag:type` (jsonName `~`: an embedded Go struct, inlined in JSON); a type is a scalar (string, int32, int64, bool,
double, bytes) or a message name, prefixed by `[]` for a list and `{}` for a map with string
keys. The field numbers come from kube-rs's k8s-pb (the generated protobuf types), the JSON
names from k8s-openapi (the generated JSON types): both are generated from upstream's API
definitions, so the table is upstream's, not hand-typed.

Usage (from the workspace root, after a build has fetched both crates):
    python3 crates/fake-apiserver/schema/generate.py > crates/fake-apiserver/schema/schema.txt
"""
import glob
import os
import re
import sys

REG = glob.glob(os.path.expanduser("~/.cargo/registry/src/*/"))[0]
PB = sorted(glob.glob(REG + "k8s-pb-0.9.*"))[-1] + "/src"
OA = sorted(glob.glob(REG + "k8s-openapi-0.29.*"))[-1] + "/src/v1_35"

ROOTS = [
    "io.k8s.api.core.v1.Namespace", "io.k8s.api.core.v1.Node", "io.k8s.api.core.v1.Service",
    "io.k8s.api.core.v1.Event", "io.k8s.api.core.v1.ConfigMap", "io.k8s.api.core.v1.Secret",
    "io.k8s.api.core.v1.Endpoints", "io.k8s.api.core.v1.Pod",
    "io.k8s.api.events.v1.Event", "io.k8s.api.coordination.v1.Lease",
    "io.k8s.api.apps.v1.Deployment", "io.k8s.api.apps.v1.DaemonSet",
    "io.k8s.api.rbac.v1.ClusterRole", "io.k8s.api.rbac.v1.ClusterRoleBinding",
    "io.k8s.api.rbac.v1.Role", "io.k8s.api.rbac.v1.RoleBinding",
    "io.k8s.api.discovery.v1.EndpointSlice",
]
# Wire-level special types the decoder and the schema treat as one JSON value.
LEAVES = {
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time", "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Duration", "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
    "io.k8s.apimachinery.pkg.api.resource.Quantity", "io.k8s.apimachinery.pkg.runtime.RawExtension",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
}
SCALARS = {"string", "int32", "int64", "bool", "double", "bytes", "float"}


def pb_module(name):
    pkg, _, ty = name.rpartition(".")
    return pkg[len("io.k8s."):].split("."), ty


def snake(ty):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", ty)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


_pb_cache = {}


def pb_source(parts):
    key = "/".join(parts)
    if key not in _pb_cache:
        with open(f"{PB}/{key}/mod.rs") as f:
            _pb_cache[key] = f.read()
    return _pb_cache[key]


def resolve(parts, rust_ty):
    ty = rust_ty.strip()
    for wrap in ("::core::option::Option<", "::prost::alloc::vec::Vec<"):
        if ty.startswith(wrap):
            ty = ty[len(wrap):-1]
    segs = ty.split("::")
    cur = list(parts)
    while segs and segs[0] == "super":
        cur.pop()
        segs.pop(0)
    return "io.k8s." + ".".join(cur + segs)


def json_names(parts, ty):
    path = f"{OA}/{'/'.join(parts)}/{snake(ty)}.rs"
    names = {}
    if os.path.exists(path):
        with open(path) as f:
            for j, r in re.findall(r'"([^"]+)" => Field::Key_(\w+)', f.read()):
                names[r] = j
    return names


def fields(name):
    parts, ty = pb_module(name)
    src = pb_source(parts)
    m = re.search(r"pub struct " + ty + r" \{\n(.*?\n)\}", src, re.S)
    if not m:
        sys.exit(f"no struct {name}")
    names = json_names(parts, ty)
    out = []
    for attr, rust, rty in re.findall(r"#\[prost\((.*?)\)\]\s*pub (?:r#)?(\w+):\s*(.*?),\n\s*(?=///|#\[|$)", m.group(1), re.S):
        tag = re.search(r'tag = "(\d+)"', attr).group(1)
        # k8s-openapi writes `type_` for `type`, `pod_cidrs` where prost writes `pod_cid_rs`.
        squash = {r.replace("_", ""): j for r, j in names.items()}
        jname = names.get(rust) or names.get(rust + "_") or squash.get(rust.replace("_", ""))
        if jname is None and names and attr.startswith("message"):
            # A Go embedded struct (VolumeSource in Volume, ...): inlined in JSON.
            jname = "~"
        if jname is None:
            parts_ = rust.split("_")
            jname = parts_[0] + "".join(p[:1].upper() + p[1:] for p in parts_[1:])
            if names:
                print(f"warning: {name}.{rust}: not in k8s-openapi, using {jname}", file=sys.stderr)
        mm = re.match(r'btree_map = "string, (\w+)"', attr)
        if mm:
            v = mm.group(1)
            if v == "message":
                inner = re.search(r"BTreeMap<[^,]+,\s*(.*)>$", rty.replace("\n", " ").strip()).group(1)
                v = resolve(parts, inner.strip().rstrip(","))
            out.append((jname, tag, "{}" + v))
            continue
        kind = attr.split(",")[0].strip()
        if kind.startswith("bytes"):
            kind = "bytes"
        rep = "repeated" in attr
        if kind == "message":
            t = resolve(parts, rty.replace("\n", " "))
        elif kind in SCALARS:
            t = kind
        else:
            sys.exit(f"unknown prost kind {attr} in {name}")
        out.append((jname, tag, ("[]" if rep else "") + t))
    covered = {j for j, _, _ in out}
    for j in [] if "~" in covered else sorted(set(names.values()) - covered - {"apiVersion", "kind"}):
        print(f"warning: {name}.{j}: in k8s-openapi, not in k8s-pb", file=sys.stderr)
    return out


def main():
    seen, order, todo = set(), [], list(ROOTS)
    table = {}
    while todo:
        n = todo.pop(0)
        if n in seen:
            continue
        seen.add(n)
        order.append(n)
        if n in LEAVES:
            continue
        table[n] = fields(n)
        for _, _, t in table[n]:
            t = t.lstrip("[]{}")
            if t not in SCALARS and t not in seen:
                todo.append(t)
    print("# Generated by generate.py from k8s-pb 0.9 (field numbers) and k8s-openapi 0.29 v1_35 (JSON names). Do not edit.")
    for n in sorted(table):
        print(n + "".join(f" {j}:{t}:{ty}" for j, t, ty in table[n]))


main()
