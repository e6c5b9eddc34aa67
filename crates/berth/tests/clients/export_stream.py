"""Reads berth's workload vulnerability export as users do: `requests` with `stream=True` and
`iter_lines`, one JSON message per line, parsed as it arrives.

    export_stream.py BASE_URL TOKEN QUERY

Prints one JSON object: the HTTP status, the deployments read (cluster/namespace/name, in
order), each one's image ids and CVEs, and any stream error message.
"""
import json
import sys

import requests


def main() -> int:
    base, token, query = sys.argv[1], sys.argv[2], sys.argv[3]
    r = requests.get(
        f"{base}/v1/export/vuln-mgmt/workloads",
        params={"query": query, "timeout": 60},
        headers={"Authorization": f"Bearer {token}"},
        stream=True,
        timeout=60,
    )
    out = {"status": r.status_code, "contentType": r.headers.get("content-type"),
           "deployments": [], "errors": []}
    if r.status_code != 200:
        out["body"] = r.json()
        print(json.dumps(out))
        return 0
    for line in r.iter_lines():
        if not line:
            continue
        msg = json.loads(line)
        if "error" in msg:
            out["errors"].append(msg["error"])
            continue
        d = msg["result"]["deployment"]
        cves = sorted({
            v["cve"]
            for img in msg["result"]["images"]
            for c in ((img.get("scan") or {}).get("components") or [])
            for v in c["vulns"]
        })
        out["deployments"].append({
            "name": f'{d["clusterName"]}/{d["namespace"]}/{d["name"]}',
            "images": [img["id"] for img in msg["result"]["images"]],
            "cves": cves,
            "livePods": msg["result"].get("livePods"),
        })
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
