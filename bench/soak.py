#!/usr/bin/env python3
"""Soak test: berth under a mixed load with hostile clients, on loopback (not run in CI).

Runs the release binary for SOAK_SECS (default 600) with:
  - pushers: random blobs (16 KiB to 512 KiB, some re-pushed) and manifests that tag them
    (20 tags per repository, reused, so GC has untagged content to collect);
  - pullers: manifest GETs and blob GETs of what was pushed;
  - garbage collection every GC_SECS by the server (short grace) and `berth gc` from outside;
  - scans: scan-on-push for every image (failing fast without a vulnerability database is fine:
    the queue and the worker are exercised either way);
  - hostile clients: slow upload bodies (promise 1 MB, send 10 bytes, stall), idle connections,
    never-ending headers, and logins with wrong passwords;
  - a well-behaved client: /v2/ with credentials, a manifest GET and a blob HEAD every 100 ms.
Every 10 s it prints the server's RSS, open files, threads and the well-behaved client's p99
latency over the interval. At the end every acknowledged push must still be pullable, p99 must
stay under 100 ms and RSS under 256 MiB throughout; exit status 1 otherwise.

The hostile uploads come from another tenant: an instance `hostile` created through the
management API (with the vendor SDK from .deps/venv) and one of its instance tokens, so the
per-principal limits they run into are theirs, not the well-behaved clients'.

Usage: .deps/venv/bin/python bench/soak.py
       (BERTH_BIN=target/release/berth SOAK_SECS=600 HOSTILE_SCALE=1)
"""
import hashlib
import http.client
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("BERTH_BIN", os.path.join(ROOT, "target/release/berth"))
SECS = int(os.environ.get("SOAK_SECS", "600"))
SCALE = float(os.environ.get("HOSTILE_SCALE", "1"))
GC_SECS = int(os.environ.get("GC_SECS", "30"))
PASSWORD = "soak-password"
AUTH = "Basic " + __import__("base64").b64encode(f"admin:{PASSWORD}".encode()).decode()
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"

HOSTILE = {"auth": AUTH, "host": "127.0.0.1"}  # replaced by the hostile tenant's token

stop = threading.Event()
lock = threading.Lock()
acknowledged = {}  # tag -> (manifest digest, [blob digests])
counts = {"push": 0, "pull": 0, "errors": 0, "refused": 0}
probe_latencies = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


PORT = free_port()


def request(method, path, body=None, headers=None, timeout=30, auth=None):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
    h = {"Authorization": auth or AUTH}
    h.update(headers or {})
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        return r.status, dict(r.getheaders()), data
    finally:
        conn.close()


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(repo, data):
    status, _, _ = request(
        "POST",
        f"/v2/{repo}/blobs/uploads/?digest={sha(data)}",
        body=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    return status == 201


def pusher(n):
    rnd = random.Random(n)
    recent = []
    i = 0
    while not stop.is_set():
        i += 1
        repo = f"soak/app{n}"
        try:
            layers = []
            for _ in range(rnd.randint(1, 3)):
                if recent and rnd.random() < 0.3:
                    data = rnd.choice(recent)  # a re-push, as clients do
                else:
                    data = os.urandom(rnd.randint(16 << 10, 512 << 10))
                    recent = (recent + [data])[-8:]
                if not push_blob(repo, data):
                    raise RuntimeError("blob push refused")
                layers.append(data)
            config = json.dumps({"architecture": "amd64", "os": "linux", "n": n, "i": i}).encode()
            if not push_blob(repo, config):
                raise RuntimeError("config push refused")
            manifest = json.dumps({
                "schemaVersion": 2,
                "mediaType": MANIFEST_TYPE,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": sha(config), "size": len(config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                            "digest": sha(d), "size": len(d)} for d in layers],
            }).encode()
            # Tags are reused, so older manifests become untagged and GC frees their blobs:
            # the run's disk use stays bounded.
            tag = f"t{i % 20}"
            status, _, _ = request("PUT", f"/v2/{repo}/manifests/{tag}", body=manifest,
                                   headers={"Content-Type": MANIFEST_TYPE})
            if status != 201:
                raise RuntimeError(f"manifest push answered {status}")
            with lock:
                acknowledged[(repo, tag)] = (sha(manifest), [sha(d) for d in layers] + [sha(config)])
                counts["push"] += 1
        except Exception:
            with lock:
                counts["errors"] += 1
            time.sleep(0.2)


def puller(n):
    rnd = random.Random(1000 + n)
    while not stop.is_set():
        with lock:
            items = list(acknowledged.items())
        if not items:
            time.sleep(0.1)
            continue
        (repo, tag), (_, blobs) = rnd.choice(items)
        try:
            status, _, _ = request("GET", f"/v2/{repo}/manifests/{tag}",
                                   headers={"Accept": MANIFEST_TYPE})
            status2, _, body = request("GET", f"/v2/{repo}/blobs/{rnd.choice(blobs)}")
            with lock:
                counts["pull"] += 1
                if status != 200 or status2 != 200:
                    counts["errors"] += 1
        except Exception:
            with lock:
                counts["errors"] += 1


def outside_gc(data_dir):
    while not stop.wait(GC_SECS * 2):
        subprocess.run([BIN, "gc", "--data-dir", data_dir], capture_output=True,
                       env={**os.environ, "BERTH_LOG": "warn"})


def slow_bodies(count):
    """Upload sessions whose PATCH promises 1 MB and sends 10 bytes, then stalls."""
    socks = []
    while not stop.is_set():
        while len(socks) < count and not stop.is_set():
            try:
                status, headers, _ = request("POST", "/v2/soak/slow/blobs/uploads/",
                                             auth=HOSTILE["auth"], headers={"Host": HOSTILE["host"]})
                if status != 202:
                    with lock:
                        counts["refused"] += 1
                    break
                loc = headers.get("Location") or headers.get("location")
                s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
                s.sendall((f"PATCH {loc} HTTP/1.1\r\nHost: {HOSTILE['host']}\r\nAuthorization: {HOSTILE['auth']}\r\n"
                           "Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"
                           "0123456789").encode())
                socks.append(s)
            except Exception:
                with lock:
                    counts["refused"] += 1
                break
        time.sleep(1)
        # The server may close them (idle body timeout); open new ones.
        alive = []
        for s in socks:
            try:
                s.setblocking(False)
                if s.recv(1, socket.MSG_PEEK) == b"":
                    s.close()
                    continue
            except BlockingIOError:
                pass
            except Exception:
                s.close()
                continue
            alive.append(s)
        socks = alive
    for s in socks:
        s.close()


def idle_and_endless(idle, endless):
    """Connections that send nothing, and connections that send headers forever."""
    socks = []
    while not stop.is_set():
        socks = [s for s in socks if s.fileno() != -1]
        try:
            while len(socks) < idle + endless:
                s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
                if len(socks) % 2 and endless:
                    s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n")
                socks.append(s)
        except Exception:
            pass
        for s in socks[1::2]:
            try:
                s.sendall(b"X-Endless: " + b"a" * 1000 + b"\r\n")
            except Exception:
                s.close()
        time.sleep(0.5)
    for s in socks:
        s.close()


def wrong_passwords(rate):
    i = 0
    while not stop.is_set():
        i += 1
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
        try:
            bad = __import__("base64").b64encode(f"admin:wrong-{i}".encode()).decode()
            conn.request("GET", "/v2/", headers={"Authorization": "Basic " + bad})
            conn.getresponse().read()
        except Exception:
            pass
        finally:
            conn.close()
        time.sleep(1 / rate)


def probe(manifest_path, blob_path):
    while not stop.is_set():
        t = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
            for path in ["/v2/", manifest_path, blob_path]:
                conn.request("HEAD" if path == blob_path else "GET", path,
                             headers={"Authorization": AUTH, "Accept": MANIFEST_TYPE})
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    raise RuntimeError(f"{path}: {r.status}")
            conn.close()
            with lock:
                probe_latencies.append(time.monotonic() - t)
        except Exception:
            with lock:
                probe_latencies.append(10.0)
                counts["errors"] += 1
        time.sleep(0.1)


def hostile_tenant(data_dir):
    """An instance and an instance token for the hostile uploads, through the vendor SDK."""
    try:
        from kscore.session import get_session
    except ImportError:
        print("warning: kscore not importable (run with .deps/venv/bin/python): hostile uploads "
              "use the admin's credentials and share its limits")
        return
    out = subprocess.run([BIN, "admin", "access-key", "create", "--json", "--description", "soak",
                          "--data-dir", data_dir], capture_output=True, check=True)
    key = json.loads(out.stdout)
    kcr = get_session().create_client(
        "kcrs", "cn-beijing-6", use_ssl=False, endpoint_url=f"http://127.0.0.1:{PORT}",
        ks_access_key_id=key["AccessKeyId"], ks_secret_access_key=key["SecretAccessKey"])
    inst = kcr.create_instance(InstanceName="hostile", InstanceType="basic")["InstanceId"]
    for _ in range(100):
        d = kcr.describe_instance(**{"InstanceId.1": inst})
        if d["InstanceSet"][0]["InstanceStatus"] == "Running":
            break
        time.sleep(0.1)
    tok = kcr.create_instance_token(InstanceId=inst, TokenType="Day", TokenTime=1)
    cred = __import__("base64").b64encode(f"{tok['Username']}:{tok['Token']}".encode()).decode()
    HOSTILE["auth"] = "Basic " + cred
    HOSTILE["host"] = f"hostile.localhost:{PORT}"


def proc_stats(pid):
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss, fds, threads


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if not os.path.exists(BIN):
        subprocess.run(["cargo", "build", "--release", "-p", "berth"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="berth-soak.")
    data_dir = os.path.join(tmp, "data")
    env = {**os.environ, "BERTH_ADMIN_PASSWORD": PASSWORD, "BERTH_LOG": "warn",
           "BERTH_GC_INTERVAL_SECS": str(GC_SECS), "BERTH_GC_GRACE_SECS": "5",
           "BERTH_SCAN_ON_PUSH": "true", "BERTH_DB_DIR": os.path.join(tmp, "no-db"),
           "BERTH_BASE_DOMAIN": "localhost"}
    log = open(os.path.join(tmp, "berth.log"), "w")
    server = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{PORT}", "--data-dir", data_dir],
                              env=env, stderr=log, stdout=log)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    hostile_tenant(data_dir)
    # The probe's own image, pushed first and tagged, so GC keeps it.
    blob = os.urandom(4096)
    assert push_blob("soak/probe", blob)
    config = b'{"architecture":"amd64","os":"linux"}'
    assert push_blob("soak/probe", config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": sha(config), "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                       "digest": sha(blob), "size": len(blob)}]}).encode()
    assert request("PUT", "/v2/soak/probe/manifests/v1", body=manifest,
                   headers={"Content-Type": MANIFEST_TYPE})[0] == 201

    threads = [threading.Thread(target=pusher, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=puller, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=outside_gc, args=(data_dir,)),
                threading.Thread(target=slow_bodies, args=(int(600 * SCALE),)),
                threading.Thread(target=idle_and_endless, args=(int(600 * SCALE), int(300 * SCALE))),
                threading.Thread(target=wrong_passwords, args=(30 * SCALE,)),
                threading.Thread(target=probe, args=("/v2/soak/probe/manifests/v1",
                                                     f"/v2/soak/probe/blobs/{sha(blob)}"))]
    for t in threads:
        t.daemon = True
        t.start()
    print(f"berth pid {server.pid} on 127.0.0.1:{PORT}, data in {tmp}, {SECS} s")
    print(f"{'t(s)':>5} {'RSS MiB':>8} {'fds':>6} {'threads':>7} {'p99 ms':>7} {'pushes':>7} {'pulls':>7} {'errors':>6} {'refused':>7}")
    worst_p99 = worst_rss = 0.0
    start = time.monotonic()
    while time.monotonic() - start < SECS:
        time.sleep(10)
        with lock:
            lat = sorted(probe_latencies)
            probe_latencies.clear()
            c = dict(counts)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan")
        rss, fds, nthreads = proc_stats(server.pid)
        worst_p99 = max(worst_p99, p99 if lat else 0)
        worst_rss = max(worst_rss, rss)
        print(f"{time.monotonic() - start:5.0f} {rss:8.1f} {fds:6d} {nthreads:7d} {p99:7.1f} "
              f"{c['push']:7d} {c['pull']:7d} {c['errors']:6d} {c['refused']:7d}", flush=True)
    stop.set()
    time.sleep(2)
    # Every acknowledged push must still be there.
    lost = 0
    for (repo, tag), (digest, blobs) in list(acknowledged.items()):
        status, headers, _ = request("GET", f"/v2/{repo}/manifests/{tag}", headers={"Accept": MANIFEST_TYPE})
        if status != 200:
            lost += 1
            continue
        for b in blobs:
            if request("HEAD", f"/v2/{repo}/blobs/{b}")[0] != 200:
                lost += 1
    server.terminate()
    t = time.monotonic()
    server.wait(timeout=60)
    print(f"shutdown after SIGTERM: {time.monotonic() - t:.1f} s")
    print(f"acknowledged pushes: {len(acknowledged)}, lost: {lost}")
    ok = lost == 0 and worst_p99 < 100 and worst_rss < 256
    print(f"worst p99 {worst_p99:.1f} ms (target < 100), worst RSS {worst_rss:.1f} MiB (target < 256): "
          f"{'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
