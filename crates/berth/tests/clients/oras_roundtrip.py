"""Pushes an artifact and a referrer to berth with oras-py, then pulls both back.

Usage: oras_roundtrip.py HOST:PORT USER PASSWORD WORKDIR
Prints one JSON object with what it saw; exits non-zero on any failure.
"""
import json
import os
import sys

import oras.client
import oras.oci

host, user, password, workdir = sys.argv[1:5]
os.chdir(workdir)
with open("artifact.txt", "w") as f:
    f.write("the artifact payload\n")
with open("signature.txt", "w") as f:
    f.write("a detached signature\n")
with open("config.json", "w") as f:
    f.write("{}")

client = oras.client.OrasClient(hostname=host, insecure=True)
client.login(username=user, password=password, hostname=host, tls_verify=False)

target = f"{host}/art/app:v1"
client.push(
    target=target,
    files=["artifact.txt:application/vnd.example.file"],
    manifest_config="config.json:application/vnd.example.artifact",
    manifest_annotations={"org.example.note": "pushed by oras-py"},
)
manifest = client.get_manifest(target)
subject = oras.oci.Subject.from_manifest(manifest)

client.push(
    target=f"{host}/art/app:signature",
    files=["signature.txt:application/vnd.example.sig"],
    manifest_config="config.json:application/vnd.example.signature",
    subject=subject,
)

url = f"http://{host}/v2/art/app/referrers/{subject.digest}?artifactType=application/vnd.example.signature"
referrers = client.do_request(url, "GET").json()

os.makedirs("out", exist_ok=True)
pulled = client.pull(target=target, outdir="out")
with open(pulled[0]) as f:
    content = f.read()

print(json.dumps({
    "subject": subject.digest,
    "referrers": referrers,
    "pulled": content,
}))
