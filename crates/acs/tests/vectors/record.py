#!/usr/bin/env python3
"""Records what Alibaba Cloud's own SDKs put on the wire, for berth-acs's tests.

A local http.server on 127.0.0.1 keeps every raw request (method, request target, headers in the
order sent, body) and answers a valid JSON body. The script then calls ListImageRisk and
DescribeClusterImageSecuritySummary through:

  * alibabacloud-sas20181203 (tea-openapi) in its default ACS3-HMAC-SHA256 signing,
  * the same SDK with signature_algorithm='v2' (the classic RPC HMAC-SHA1 signature),
  * aliyun-python-sdk-core's CommonRequest (GET, Format=JSON, RegionId),

each with the endpoint given as host:port and as http://host:port; and ListImageRisk once more
through tea-openapi's generic call_api with half its parameters in a form body (ACS3 and v2),
since the generated client puts them all in the query. It writes requests.json beside this
file. Each request also records the string to sign the SDK computed (read by wrapping the SDK's
HMAC call, which changes nothing it sends). It also answers some calls with an error body in berth's shape and records what
each SDK made of it (code, message, request id, status), so the tests pin the field names.

  .deps/venv/bin/python crates/acs/tests/vectors/record.py

The access key and secret are test values; nothing here reaches a real endpoint.
"""
import base64
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCESS_KEY_ID = "LTAI5tBerthAcsTestKey01"
ACCESS_KEY_SECRET = "berth-acs-test-secret/+=~*"
HERE = os.path.dirname(os.path.abspath(__file__))

# Parameter values chosen to exercise the encoders: spaces, '*', '~', '/', '+', '=', '&', '%',
# ':' and non-ASCII (BMP and astral).
LIST_IMAGE_RISK = {
    "app_name": "web front~end*",
    "cluster_id": "c80f79959fd724a888e1187779b13 0/1+2",
    "current_page": 2,
    "image_name": "container-测试:1.0 ä/ö+ü=ß&%",
    "namespace": "kube-system",
    "page_size": 50,
}
DESCRIBE_SUMMARY = {
    "cluster_id": "c3aaf6c8085f84791882eef200cd2~x",
    "container_field_name": "clusterId",
    "container_field_value": "a b*c~d/e+f=g&h%i 🚀",
    "image_digest": "sha256:402902de6480a020b9f29e7105e77b8a218bc1cccbc3935d3b38c8ea9ba2abcd",
    "image_repo_name": "仓库/repo name",
    "image_repo_namespace": "namespace",
    "image_tag": "3.54.0.1",
    "source_ip": "60.190.1.2",
}
# The wire names of the fields above (the SDK models' own mapping).
WIRE = {
    "app_name": "AppName", "cluster_id": "ClusterId", "current_page": "CurrentPage",
    "image_name": "ImageName", "namespace": "Namespace", "page_size": "PageSize",
    "container_field_name": "ContainerFieldName", "container_field_value": "ContainerFieldValue",
    "image_digest": "ImageDigest", "image_repo_name": "ImageRepoName",
    "image_repo_namespace": "ImageRepoNamespace", "image_tag": "ImageTag", "source_ip": "SourceIp",
}
SUCCESS = {
    "ListImageRisk": {"ImageRiskList": [], "PageInfo": {"TotalCount": 0, "Count": 0, "PageSize": 50, "CurrentPage": 2}},
    "DescribeClusterImageSecuritySummary": {"ClusterImageEvent": {"ImageCveVul": [], "ImageMaliciousFile": [], "ImageScaVul": [], "ImageBaseline": []}},
}
# berth-acs's ErrorBody for this error, byte for byte (the Rust test checks it serializes so).
ERROR_STATUS = 400
ERROR_BODY = (
    '{"RequestId":"6B7C3E2A-0F1D-4C5B-9A8E-7D6C5B4A3F21","HostId":"127.0.0.1",'
    '"Code":"SignatureNonceUsed","Message":"Specified signature nonce was used already."}'
)

recorded = []
answer_error = threading.Event()
signed_strings = []


def spy_on_signers():
    """Keeps each string the SDKs hand to HMAC: tea-openapi calls `hmac.new` from its utils
    module (ACS3 and v2 alike), aliyun-python-sdk-core `sha_hmac1.get_sign_string`."""
    import hmac as real_hmac
    import alibabacloud_tea_openapi.utils as tea_utils
    import aliyunsdkcore.auth.algorithm.sha_hmac1 as mac1

    class HmacSpy:
        def new(self, key, msg=None, digestmod=None):
            signed_strings.append(msg.decode("utf-8") if isinstance(msg, bytes) else msg)
            return real_hmac.new(key, msg, digestmod)

    tea_utils.hmac = HmacSpy()
    original = mac1.get_sign_string

    def get_sign_string(source, secret):
        signed_strings.append(source)
        return original(source, secret)

    mac1.get_sign_string = get_sign_string


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        recorded.append({
            "method": self.command,
            "target": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_b64": base64.b64encode(body).decode("ascii"),
        })
        if answer_error.is_set():
            status, payload = ERROR_STATUS, ERROR_BODY.encode("utf-8")
        else:
            action = self.headers.get("x-acs-action") or _query_action(self.path)
            out = {"RequestId": "F8B6F758-BCD4-597A-8A2C-DA5A552C%04d" % len(recorded)}
            out.update(SUCCESS.get(action, {}))
            status, payload = 200, json.dumps(out).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _handle
    do_POST = _handle

    def log_message(self, *args):
        pass


def _query_action(target):
    from urllib.parse import parse_qs, urlsplit
    return (parse_qs(urlsplit(target).query).get("Action") or [""])[0]


def tea_client(endpoint, algorithm):
    from alibabacloud_sas20181203.client import Client
    from alibabacloud_tea_openapi import utils_models

    config = utils_models.Config(
        access_key_id=ACCESS_KEY_ID,
        access_key_secret=ACCESS_KEY_SECRET,
        endpoint=endpoint,
        protocol="http",
        region_id="cn-hangzhou",
        signature_algorithm=algorithm,
    )
    return Client(config)


def call_tea(endpoint, algorithm, action):
    from alibabacloud_sas20181203 import models
    from darabonba.runtime import RuntimeOptions

    client = tea_client(endpoint, algorithm)
    runtime = RuntimeOptions(autoretry=False, max_attempts=1)
    if action == "ListImageRisk":
        client.list_image_risk_with_options(models.ListImageRiskRequest(**LIST_IMAGE_RISK), runtime)
    else:
        client.describe_cluster_image_security_summary_with_options(
            models.DescribeClusterImageSecuritySummaryRequest(**DESCRIBE_SUMMARY), runtime)


def call_tea_form(endpoint, algorithm):
    """ListImageRisk through the SDK's generic call, parameters split between query and body."""
    from alibabacloud_tea_openapi import utils_models
    from alibabacloud_tea_openapi.utils import Utils
    from darabonba.runtime import RuntimeOptions

    client = tea_client(endpoint, algorithm)
    wire = {WIRE[k]: v for k, v in LIST_IMAGE_RISK.items()}
    in_query = {k: v for k, v in wire.items() if k in ("CurrentPage", "PageSize", "Namespace")}
    in_body = {k: v for k, v in wire.items() if k not in in_query}
    params = utils_models.Params(
        action="ListImageRisk", version="2018-12-03", protocol="HTTPS", pathname="/",
        method="POST", auth_type="AK", style="RPC", req_body_type="formData", body_type="json")
    request = utils_models.OpenApiRequest(query=Utils.query(in_query), body=in_body)
    client.call_api(params, request, RuntimeOptions(autoretry=False, max_attempts=1))


def call_core(endpoint, action):
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkcore.request import CommonRequest

    client = AcsClient(ACCESS_KEY_ID, ACCESS_KEY_SECRET, "cn-hangzhou", auto_retry=False)
    request = CommonRequest()
    request.set_domain(endpoint)
    request.set_version("2018-12-03")
    request.set_action_name(action)
    request.set_method("GET")
    request.set_protocol_type("http")
    request.set_accept_format("json")
    params = LIST_IMAGE_RISK if action == "ListImageRisk" else DESCRIBE_SUMMARY
    for key, value in params.items():
        request.add_query_param(WIRE[key], value)
    client.do_action_with_exception(request)


def expected_params(action, client):
    params = LIST_IMAGE_RISK if action == "ListImageRisk" else DESCRIBE_SUMMARY
    out = {WIRE[k]: str(v) for k, v in params.items()}
    if client == "core":
        out["RegionId"] = "cn-hangzhou"
    return out


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()

    spy_on_signers()
    cases = []

    def record(client, host, action, call):
        before, signed_before = len(recorded), len(signed_strings)
        call()
        if len(recorded) != before + 1 or len(signed_strings) != signed_before + 1:
            sys.exit("%s %s via %s: %d requests, %d signatures seen" % (
                client, action, host, len(recorded) - before, len(signed_strings) - signed_before))
        case = recorded[-1]
        case.update({
            "client": client,
            "endpoint": host,
            "action": action,
            "version": "2018-12-03",
            "params": expected_params(action, client),
            "string_to_sign": signed_strings[-1],
        })
        cases.append(case)

    for host in ("127.0.0.1:%d" % port, "http://127.0.0.1:%d" % port):
        for action in ("ListImageRisk", "DescribeClusterImageSecuritySummary"):
            for client in ("tea-acs3", "tea-v2", "core"):
                if client == "core":
                    call = lambda: call_core(host, action)
                else:
                    algorithm = None if client == "tea-acs3" else "v2"
                    call = lambda: call_tea(host, algorithm, action)
                record(client, host, action, call)
    host = "127.0.0.1:%d" % port
    record("tea-acs3-form", host, "ListImageRisk", lambda: call_tea_form(host, None))
    record("tea-v2-form", host, "ListImageRisk", lambda: call_tea_form(host, "v2"))

    # What each SDK reads from an error answer in berth's shape.
    answer_error.set()
    probes = []
    host = "127.0.0.1:%d" % port
    for client in ("tea-acs3", "tea-v2", "core"):
        try:
            if client == "core":
                call_core(host, "ListImageRisk")
            else:
                call_tea(host, None if client == "tea-acs3" else "v2", "ListImageRisk")
        except Exception as e:  # the SDKs' own exception types
            probes.append({
                "client": client,
                "status": getattr(e, "status_code", None) or getattr(e, "http_status", None),
                "code": getattr(e, "code", None) or (e.get_error_code() if hasattr(e, "get_error_code") else None),
                "message": (e.get_error_msg() if hasattr(e, "get_error_msg") else getattr(e, "message", None)),
                "request_id": getattr(e, "request_id", None) or (e.get_request_id() if hasattr(e, "get_request_id") else None),
            })
        else:
            sys.exit("%s accepted an error answer" % client)
    server.shutdown()

    import alibabacloud_tea_openapi
    import alibabacloud_sas20181203
    import aliyunsdkcore
    out = {
        "comment": "Recorded by record.py from the vendor SDKs; the secret is a test value.",
        "sdk_versions": {
            "alibabacloud-sas20181203": alibabacloud_sas20181203.__version__,
            "alibabacloud-tea-openapi": getattr(alibabacloud_tea_openapi, "__version__", "?"),
            "aliyun-python-sdk-core": aliyunsdkcore.__version__,
        },
        "access_key_id": ACCESS_KEY_ID,
        "access_key_secret": ACCESS_KEY_SECRET,
        "requests": cases,
        "error_probe": {"status": ERROR_STATUS, "body": ERROR_BODY, "parsed": probes},
    }
    with open(os.path.join(HERE, "requests.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("recorded %d requests, %d error probes" % (len(cases), len(probes)))


if __name__ == "__main__":
    main()
