#!/usr/bin/env bash
# META.json (PGXN) is valid against the PGXN Meta Spec v1.0.0 and agrees with the tree:
#   - JSON Schema validation with the spec's own schemas (pgxn/meta schema/v1, copied into
#     test/fixtures/pgxn-meta-v1/) by Debian's python3-jsonschema (Draft 2020-12);
#   - the distribution's and the extension's version equal rowguard.control's
#     default_version, the debian/changelog version and the EXTVERSION Makefile.pgxs builds;
#   - every file META.json names exists; the PostgreSQL prerequisite is 15.
# Self-test: a few broken copies of META.json must be refused, so the validator is known
# to bite. No server needed.
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
PY=/usr/bin/python3   # Debian's python3 with python3-jsonschema

"$PY" -c 'import jsonschema' 2>/dev/null ||
  { echo "meta: $PY has no jsonschema (Debian package python3-jsonschema)" >&2; exit 1; }

CONTROL_VERSION=$(sed -n "s/^default_version = '\(.*\)'/\1/p" rowguard.control)
DEBIAN_VERSION=$(sed -n '1s/^rowguard (\([^)]*\)).*/\1/p' debian/changelog)
MAKE_VERSION=$(printf 'rowguard-print-var:\n\t@echo $(EXTVERSION)\n' |
  make --no-print-directory -s -f Makefile.pgxs -f /dev/stdin rowguard-print-var 2>/dev/null || true)

CONTROL_VERSION=$CONTROL_VERSION DEBIAN_VERSION=$DEBIAN_VERSION MAKE_VERSION=$MAKE_VERSION \
"$PY" - <<'PYEOF'
import copy, glob, json, os, sys
import jsonschema

# The spec's patterns use Unicode property and POSIX classes that Python's re lacks; each
# becomes the same set written for re (Cntrl is the Cc category: C0 controls, DEL and C1).
PCLASS = {r"\p{Cntrl}": r"\x00-\x1f\x7f-\x9f", r"\p{Space}": r"\s", r"\p{lower}": r"a-z",
          r"[:digit:]": r"0-9"}

def python_patterns(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "pattern" and isinstance(v, str):
                for p, r in PCLASS.items():
                    v = v.replace(p, r if v.count("[") else "[" + r + "]")
                node[k] = v
            else:
                python_patterns(v)
    elif isinstance(node, list):
        for v in node:
            python_patterns(v)

schemas = {}
for f in glob.glob("test/fixtures/pgxn-meta-v1/*.schema.json"):
    s = json.load(open(f))
    python_patterns(s)
    schemas[s["$id"]] = s
top = schemas["https://pgxn.org/meta/v1/distribution.schema.json"]
resolver = jsonschema.RefResolver.from_schema(top, store=schemas)
validator = jsonschema.Draft202012Validator(top, resolver=resolver)

def errors(doc):
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                  for e in validator.iter_errors(doc))

fails = 0
def check(cond, what):
    global fails
    print(("ok    " if cond else "FAIL  ") + what)
    fails += 0 if cond else 1

try:
    meta = json.load(open("META.json"))
except (OSError, ValueError) as e:
    print(f"meta: FAIL: META.json does not parse: {e}")
    sys.exit(1)

errs = errors(meta)
for e in errs:
    print("   ", e)
check(not errs, "META.json is valid against the PGXN Meta Spec v1.0.0 schemas")
check(meta.get("meta-spec", {}).get("version") == "1.0.0", "meta-spec version is 1.0.0")

versions = {"control default_version": os.environ["CONTROL_VERSION"],
            "debian/changelog": os.environ["DEBIAN_VERSION"],
            "Makefile.pgxs EXTVERSION": os.environ["MAKE_VERSION"]}
for where, v in versions.items():
    check(meta.get("version") == v, f"version {meta.get('version')} equals {where} ({v or 'none'})")
ext = meta.get("provides", {}).get("rowguard", {})
check(ext.get("version") == os.environ["CONTROL_VERSION"], "provides.rowguard.version equals default_version")
for key in ("file", "docfile"):
    check(os.path.isfile(ext.get(key, "")), f"provides.rowguard.{key} ({ext.get(key)}) exists")
check(meta.get("license") == "postgresql" and os.path.isfile("LICENSE"), "license postgresql (LICENSE)")
pg = meta.get("prereqs", {}).get("runtime", {}).get("requires", {}).get("PostgreSQL")
check(pg == "15.0.0", f"runtime prerequisite PostgreSQL 15.0.0 (got {pg})")

# The validator refuses what the spec forbids.
def broken(change, what):
    doc = copy.deepcopy(meta)
    change(doc)
    check(bool(errors(doc)), f"self-test: refused when {what}")
broken(lambda d: d.pop("abstract"), "abstract is missing")
broken(lambda d: d.update(version="0.2"), "version is not SemVer")
broken(lambda d: d.update(license="public domain-ish"), "license is not a known one")
broken(lambda d: d["provides"]["rowguard"].pop("file"), "provides lacks file")
broken(lambda d: d.update(unknown_key=1), "an unknown top-level key is present")
broken(lambda d: d["meta-spec"].update(version="2.0.0"), "meta-spec version is 2.0.0")

if fails:
    print(f"meta: FAIL ({fails} failed)")
    sys.exit(1)
print("meta: PASS")
PYEOF
