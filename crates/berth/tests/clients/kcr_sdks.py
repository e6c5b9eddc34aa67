"""Drives berth's management API with the vendor's official Python SDKs.

ksc-sdk-python (module `kscore`, botocore-style, service model kcrs 2021-11-09, SigV4) and
kingsoftcloud-sdk-python (`ksyun.client.kcrs.v20211109`, requests-aws4auth, form or JSON bodies)
are pointed at berth over plain HTTP on loopback. Every one of the 33 actions is called through
at least one of them; both must sign correctly. Prints one JSON line with what it saw.

usage: kcr_sdks.py BASE_URL ACCESS_KEY SECRET_KEY ADMIN_PASSWORD
"""
import base64
import hashlib
import hmac
import http.server
import io
import tarfile
import json
import sys
import threading
import time
import urllib.request

from kscore.session import get_session
from ksyun.client.kcrs.v20211109 import client as kcrs_client
from ksyun.client.kcrs.v20211109 import models
from ksyun.common import credential
from ksyun.common.exception.ksyun_sdk_exception import KsyunSDKException
from ksyun.common.profile.client_profile import ClientProfile
from ksyun.common.profile.http_profile import HttpProfile

BASE, AK, SK, ADMIN_PASSWORD = sys.argv[1:5]
REGION = "cn-beijing-6"
HOSTPORT = BASE.split("://", 1)[1]
called = set()


def ksyun(method):
    hp = HttpProfile()
    hp.endpoint = HOSTPORT
    hp.scheme = "http"
    hp.reqMethod = method
    return kcrs_client.KcrsClient(credential.Credential(AK, SK), REGION, ClientProfile(httpProfile=hp))


KSYUN_POST = ksyun("POST")
KSYUN_GET = ksyun("GET")
KSC = get_session().create_client(
    "kcrs", REGION, use_ssl=False, endpoint_url=BASE, ks_access_key_id=AK, ks_secret_access_key=SK
)


def ks(client, action, **params):
    """A kingsoftcloud-SDK call; returns the parsed response."""
    request = getattr(models, action + "Request")()
    for k, v in params.items():
        setattr(request, k, v)
    body = getattr(client, action)(request)
    called.add(action)
    out = json.loads(body)
    assert out.get("RequestId"), out
    return out


def ksc(action, **params):
    """A ksc-sdk-python call (parameters in the wire form: `InstanceId.1`...)."""
    method = "".join("_" + c.lower() if c.isupper() else c for c in action).lstrip("_")
    out = getattr(KSC, method)(**params)
    called.add(action)
    assert out.get("RequestId"), out
    return out


def ks_fails(client, action, code, **params):
    try:
        ks(client, action, **params)
    except KsyunSDKException as e:
        assert code in str(e), f"{action}: expected {code}, got {e}"
        return str(e)
    raise AssertionError(f"{action} {params} should fail with {code}")


def ksc_fails(action, code, **params):
    try:
        ksc(action, **params)
    except Exception as e:  # kscore raises ClientError subclasses built per service
        err = getattr(e, "response", {}).get("Error", {})
        assert err.get("Code") == code, f"{action}: expected {code}, got {err} ({e})"
        return err
    raise AssertionError(f"{action} {params} should fail with {code}")


def wait_running(instance_id):
    for _ in range(200):
        out = ksc("DescribeInstance", **{"InstanceId.1": instance_id})
        if out["InstanceSet"][0]["InstanceStatus"] == "Running":
            return
        time.sleep(0.05)
    raise AssertionError("instance never ran")


def push_image(repo, tag, payload):
    """A one-layer image pushed over the OCI API as the admin; returns its digest."""
    auth = "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()

    def req(method, path, data=b"", headers=None):
        r = urllib.request.Request(BASE + path, data=data, method=method)
        r.add_header("Authorization", auth)
        for k, v in (headers or {}).items():
            r.add_header(k, v)
        return urllib.request.urlopen(r)

    def blob(data):
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        req("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", data,
            {"Content-Type": "application/octet-stream"})
        return {"digest": d, "size": len(data)}

    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    c = blob(config)
    layer = blob(payload)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": dict(c, mediaType="application/vnd.oci.image.config.v1+json"),
        "layers": [dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar")],
    }).encode()
    req("PUT", f"/v2/{repo}/manifests/{tag}", manifest,
        {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


seen = {}

# --- Instances -------------------------------------------------------------------------------
created = ksc("CreateInstance", InstanceName="sdkone", InstanceType="basic")
one = created["InstanceId"]
wait_running(one)
two = ks(KSYUN_POST, "CreateInstance", InstanceName="sdktwo", InstanceType="premium", ChargeType="HourlyInstantSettlement")["InstanceId"]
wait_running(two)
listed = ks(KSYUN_GET, "DescribeInstance", InstanceId=[one, two])  # 0-based list from this SDK
assert listed["TotalCount"] == 2, listed
listed = ksc("DescribeInstance", MaxResults=1)
assert listed["MaxResults"] == 1 and listed["Marker"] == 1 and listed["TotalCount"] >= 3, listed
usage = ks(KSYUN_POST, "DescribeInstanceUsage", InstanceId=one)  # JSON body
assert usage["NamespaceQuota"] == 50 and usage["RepoQuota"] == 1000, usage
ksc_fails("CreateInstance", "InvalidParameterValue", InstanceName="1bad", InstanceType="basic")
ks_fails(KSYUN_POST, "CreateInstance", "MissingParameter", InstanceName="fine")
seen["instances"] = listed["TotalCount"]

# --- Access credentials -------------------------------------------------------------------------
tok = ksc("CreateInstanceToken", InstanceId=one, TokenType="Hour", TokenTime=24, Desc="sdk token")
assert tok["Username"] and tok["Token"] and tok["TokenId"] and tok["ExpireTime"], tok
ks(KSYUN_POST, "ModifyInstanceTokenStatus", InstanceId=one, TokenId=tok["TokenId"], Enable=False)
ksc("ModifyInstanceTokenInformation", InstanceId=one, TokenId=tok["TokenId"], TokenType="Day", TokenTime=7, Desc="renamed")
tokens = ks(KSYUN_GET, "DescribeInstanceToken", InstanceId=one)
assert tokens["TotalCount"] == 1 and tokens["TokenSet"][0]["Enable"] is False, tokens
assert tokens["TokenSet"][0]["Desc"] == "renamed", tokens
ksc("DeleteInstanceToken", InstanceId=one, TokenId=tok["TokenId"])
assert ksc("DescribeInstanceToken", InstanceId=one)["TotalCount"] == 0

# --- Namespaces ---------------------------------------------------------------------------------
default = [i for i in ksc("DescribeInstance")["InstanceSet"] if i["InstanceName"] == "default"][0]["InstanceId"]
ksc("CreateNamespace", InstanceId=default, Namespace="sdkns", Public=True)
ks(KSYUN_POST, "CreateNamespace", InstanceId=default, Namespace="sdkprivate", Public="False")
ksc_fails("CreateNamespace", "ResourceAlreadyExists", InstanceId=default, Namespace="sdkns", Public=True)
assert ks(KSYUN_POST, "DescribeNamespaceExist", InstanceId=default, Namespace="sdkns")["Exist"] is True  # JSON body
assert ks(KSYUN_GET, "DescribeNamespaceExist", InstanceId=default, Namespace="nope")["Exist"] is False
ksc("ModifyNamespaceType", InstanceId=default, Namespace="sdkprivate", Public=True)
namespaces = ks(KSYUN_GET, "DescribeNamespace", InstanceId=default, Public=True)
assert namespaces["TotalCount"] == 2, namespaces
ksc("DeleteNamespace", InstanceId=default, Namespace="sdkprivate")

# --- Repositories, images, tags --------------------------------------------------------------------
digest = push_image("sdkns/app", "v1", b"first layer")
push_image("sdkns/app", "v2", b"second layer")
push_image("sdkns/other", "latest", b"other")
repos = ksc("DescribeRepository", InstanceId=default, Namespace="sdkns")
assert repos["TotalCount"] == 2 and repos["RepoSet"][0]["RepoName"] == "app", repos
ks(KSYUN_POST, "ModifyRepoDesc", InstanceId=default, Namespace="sdkns", RepoName="app", Desc="from the sdk")
one_repo = ks(KSYUN_GET, "DescribeRepository", InstanceId=default, Namespace="sdkns", RepoName=["app"])
assert one_repo["RepoSet"][0]["Desc"] == "from the sdk", one_repo
images = ksc("DescribeImages", InstanceId=default, Namespace="sdkns", RepoName="app")
assert images["TotalCount"] == 2, images
assert any(i["ImageId"] == digest and i["TagNames"] == ["v1"] for i in images["ImageSet"]), images
ks(KSYUN_POST, "DeleteRepoTag", InstanceId=default, Namespace="sdkns", RepoName="app", TagName="v2")
ksc("DeleteImages", InstanceId=default, Namespace="sdkns", RepoName="app", ImageId=digest)
images = ks(KSYUN_GET, "DescribeImages", InstanceId=default, Namespace="sdkns", RepoName="app")
assert images["TotalCount"] == 1 and images["ImageSet"][0]["TagNames"] == [], images
ksc("DeleteRepository", InstanceId=default, Namespace="sdkns", RepoName="other")
seen["repositories"] = ksc("DescribeRepository", InstanceId=default, Namespace="sdkns")["TotalCount"]

# --- Webhook triggers -----------------------------------------------------------------------------
hits = []


class Hook(http.server.BaseHTTPRequestHandler):
    """A receiver that fails the first two deliveries and accepts the third."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        hits.append((self.headers, body))
        self.send_response(500 if len(hits) <= 2 else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=hook.serve_forever, daemon=True).start()
hook_url = f"http://127.0.0.1:{hook.server_address[1]}/hook"
trigger = ks(KSYUN_POST, "CreateWebhookTrigger", InstanceId=default, Namespace="sdkns", Trigger={
    "TriggerName": "sdk", "EventType": ["PushImage"], "TriggerUrl": hook_url,
    "Header": [{"Key": "X-Sdk", "Value": ["yes"]}], "Enabled": True})  # JSON body, nested
trigger_id, secret = trigger["TriggerId"], trigger["Secret"]
ksc("ModifyWebhookTrigger", InstanceId=default, Namespace="sdkns",
    **{"Trigger.TriggerId": trigger_id, "Trigger.TriggerName": "sdk2"})
triggers = ksc("DescribeWebhookTrigger", InstanceId=default, Namespace="sdkns")
assert triggers["TotalCount"] == 1 and triggers["TriggerSet"][0]["TriggerName"] == "sdk2", triggers
assert triggers["TriggerSet"][0]["Header"] == [{"Key": "X-Sdk", "Value": ["yes"]}], triggers
push_image("sdkns/hooked", "v1", b"hooked")
deadline = time.time() + 30  # backoff 1 s, then 2 s
while True:
    logs = ks(KSYUN_GET, "DescribeWebhookTriggerLog", InstanceId=default, Namespace="sdkns", TriggerId=trigger_id)
    if logs["TotalCount"] >= 3 or time.time() > deadline:
        break
    time.sleep(0.1)
assert [l["Status"] for l in logs["Logs"]] == ["Success", "Failed", "Failed"], logs
assert len(hits) == 3, hits
for headers, body in hits:
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Berth-Signature"], "sha256=" + mac), headers
    assert headers["X-Sdk"] == "yes", headers
payload = json.loads(hits[-1][1])
assert payload["event"] == "PushImage" and payload["repository"] == "sdkns/hooked", payload
assert payload["tag"] == "v1" and payload["digest"].startswith("sha256:"), payload
ksc("DeleteWebhookTrigger", InstanceId=default, Namespace="sdkns", TriggerId=trigger_id)
assert ks(KSYUN_GET, "DescribeWebhookTrigger", InstanceId=default, Namespace="sdkns")["TotalCount"] == 0
hook.shutdown()
seen["webhook_attempts"] = len(hits)

# --- Image scans --------------------------------------------------------------------------------
def tar_layer(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


scan_digest = push_image("sdkns/app", "scanme", tar_layer({
    "etc/os-release": b"ID=alpine\nVERSION_ID=3.10.9\n",
    "lib/apk/db/installed": b"P:ansible\nV:2.8.0-r0\nA:x86_64\n\n",
}))
assert ksc("DescribeImageScan", InstanceId=default, Namespace="sdkns", RepoName="app", ImageId=scan_digest)["Status"] == "NotScanned"
ks(KSYUN_POST, "StartImageScan", InstanceId=default, Namespace="sdkns", RepoName="app", ImageId=scan_digest)
for _ in range(300):
    scan = ks(KSYUN_GET, "DescribeImageScan", InstanceId=default, Namespace="sdkns", RepoName="app", ImageId=scan_digest)
    if scan["Status"] in ("Success", "Failed"):
        break
    time.sleep(0.1)
assert scan["Status"] == "Success", scan
assert scan["FinishTime"] and set(scan["Summary"]) == {"High", "Medium", "Low", "Negligible", "Unknown"}, scan
seen["scan"] = {"status": scan["Status"], "total": scan["TotalCount"],
                "cves": sorted(v["CveName"] for v in scan["VulnerabilitySet"])}
ksc_fails("StartImageScan", "InvalidParameterValue", InstanceId=default, Namespace="sdkns", RepoName="app", ImageId="sha256:" + "0" * 64)

# --- Private network access ------------------------------------------------------------------------
ksc("CreateInternalEndpoint", InstanceId=one, VpcId="vpc-sdk", ReserveSubnetId="10.20.0.0/24")
for _ in range(200):
    vpcs = ks(KSYUN_GET, "DescribeInternalEndpoint", InstanceId=one)
    if vpcs["AccessVpcSet"][0]["Status"] != "Creating":
        break
    time.sleep(0.05)
assert vpcs["TotalCount"] == 1 and vpcs["AccessVpcSet"][0]["Status"] == "Running", vpcs
ip = vpcs["AccessVpcSet"][0]["EniLBIp"]
assert ip.startswith("10.20.0."), vpcs
ks(KSYUN_POST, "CreateInternalEndpointDns", InstanceId=one, VpcId="vpc-sdk", EniLBIp=ip, InternalEndpointDns="PrivateDomain")
dns = ksc("DescribeInternalEndpointDns", InstanceId=one, VpcId="vpc-sdk", EniLBIp=ip)
assert dns["InternalEndpointDnsSet"][0]["InternalEndpointDns"] == "PrivateDomain", dns
ksc("DeleteInternalEndpointDns", InstanceId=one, VpcId="vpc-sdk", EniLBIp=ip, InternalEndpointDns="PrivateDomain")
ks(KSYUN_POST, "DeleteInternalEndpoint", InstanceId=one, VpcId="vpc-sdk", EniLBIp=ip)
assert ks(KSYUN_POST, "DescribeInternalEndpoint", InstanceId=one)["TotalCount"] == 0
seen["endpoint_ip"] = ip

# --- Instances go last --------------------------------------------------------------------------
ksc("DeleteInstance", InstanceId=two, DeleteBucket=True)
ks(KSYUN_GET, "DeleteInstance", InstanceId=one)
assert ksc("DescribeInstance", **{"InstanceId.1": one})["TotalCount"] == 0

seen["called"] = sorted(called)
print(json.dumps(seen))
