#!/usr/bin/env python3
"""Signs requests with Huawei Cloud's own Python signer and prints them as JSON test vectors.

    pip install huaweicloudsdkcore==3.1.219
    python crates/hss/tests/gen_vectors.py > crates/hss/tests/vectors.json

Each vector is the request as the SDK puts it on the wire after `Signer.sign`: method, path
and query (`request.uri`, which the signer rewrites to `resource_path?canonical_query`), the
headers (stripped by the signer, `Authorization` added) and the body bytes. The signer's own
canonical request and string to sign are kept too, so a failing Rust test can show which line
differs. The date is fixed (`X-Sdk-Date` set before signing), so the output is deterministic.
"""
import json
from importlib.metadata import version
from urllib.parse import quote

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

AK = "HPUAEXAMPLEAK0123456"
SK = "s3cr3t/EXAMPLE+sk0123456789abcdefghijklmn"
DATE = "20240102T030405Z"
# 2024-01-02T03:04:05Z in seconds since the epoch.
DATE_UNIX = 1704164645
HOST = "hss.cn-north-4.myhuaweicloud.com"
PROJECT = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


class RecordingSigner(Signer):
    """The SDK's signer, keeping what it computed on the way."""

    def _process_string_to_sign(self, canonical_request, time):
        self.canonical_request = canonical_request
        self.string_to_sign = super()._process_string_to_sign(canonical_request, time)
        return self.string_to_sign


def path_param(value):
    # As ApiClient._parse_path_params substitutes a path parameter.
    return quote(str(value), safe="")


def sign(name, method, resource_path, query=None, headers=None, body=None):
    header_params = {"Host": HOST, "X-Sdk-Date": DATE, "User-Agent": "huaweicloud-usdk-python/3.0"}
    header_params.update(headers or {})
    request = SdkRequest(
        method=method,
        schema="https",
        host=HOST,
        resource_path=resource_path,
        query_params=list(query or []),
        header_params=header_params,
        body=body,
    )
    signer = RecordingSigner(BasicCredentials(AK, SK, PROJECT))
    signed = signer.sign(request)
    path, _, raw_query = signed.uri.partition("?")
    body_bytes = signed.body if isinstance(signed.body, bytes) else (signed.body or "").encode()
    return {
        "name": name,
        "method": method,
        "path": path,
        "query": raw_query,
        # On the wire a header value is the Latin-1 encoding of the signer's string, which the
        # signer made from the value's UTF-8 bytes: the wire bytes are the value's UTF-8. Written
        # here as that UTF-8 text.
        "headers": [
            [k, v.encode("iso-8859-1").decode("utf-8")] for k, v in signed.header_params.items()
        ],
        "body_hex": body_bytes.hex(),
        "canonical_request": signer.canonical_request,
        "string_to_sign": signer.string_to_sign,
    }


def main():
    policies = "/v5/%s/cluster-protect/policy" % path_param(PROJECT)
    policy_json = json.dumps(
        {
            "policy_name": "block critical",
            "policy_id": "p-1",
            "template_id": "t-1",
            "policy_description": "Blocks critical vulnerabilities",
            "content": {
                "enable_image_startup": False,
                "policy_type": "vuls",
                "severity": 4,
                "risky_item": [],
                "action": 1,
            },
            "white_image_list": [],
            "resources": [],
            "parameters": "",
        },
        ensure_ascii=False,
    )
    vectors = [
        sign(
            "get-query-needing-encoding",
            "GET",
            "/v5/%s/cluster-protect/policy-list" % path_param(PROJECT),
            query=[
                ("limit", 10),
                ("offset", 0),
                ("policy_name", "block crit/high + more & more=yes"),
                ("enterprise_project_id", "all_granted_eps"),
                ("tilde~star*", "日本語 ~*'()!"),
                ("ids", ["b", "a c"]),
                ("flag", True),
                ("empty", ""),
            ],
        ),
        sign(
            "post-json-body",
            "POST",
            policies,
            query=[("enterprise_project_id", "0")],
            headers={"Content-Type": "application/json;charset=UTF-8", "X-Project-Id": PROJECT},
            body=policy_json,
        ),
        sign(
            "put-json-body",
            "PUT",
            policies,
            headers={"Content-Type": "application/json", "X-Project-Id": PROJECT},
            body=policy_json.replace("block critical", "block critical (edited)"),
        ),
        sign(
            "delete-with-body",
            "DELETE",
            policies,
            query=[("enterprise_project_id", "all_granted_eps")],
            headers={"Content-Type": "application/json"},
            body=json.dumps({"policy_name": "block critical", "policy_id": "p-1"}),
        ),
        sign(
            "path-with-encoded-segments",
            "GET",
            "/v5/%s/cluster-protect/policy/%s/detail"
            % (path_param(PROJECT), path_param("p 1/ä~x")),
        ),
        sign(
            "header-values-with-spaces",
            "GET",
            "/v5/%s/cluster-protect/overview" % path_param(PROJECT),
            headers={
                "X-Custom-Note": "  two  inner  spaces  ",
                "X-Unicode": " värde ",
                "X_Unsigned_Underscore": "not signed",
            },
        ),
        sign(
            "post-unsigned-payload",
            "POST",
            "/v5/%s/upload" % path_param(PROJECT),
            headers={"Content-Type": "application/octet-stream"},
            body=b"\x00\x01binary\xff",
        ),
        sign("get-root", "GET", "/"),
        sign("get-no-trailing-slash-empty-body", "get", "/v5/%s" % path_param(PROJECT), body=b""),
    ]
    print(
        json.dumps(
            {
                "generator": "huaweicloudsdkcore %s: huaweicloudsdkcore.signer.signer.Signer"
                % version("huaweicloudsdkcore"),
                "access_key_id": AK,
                "secret_access_key": SK,
                "date": DATE,
                "date_unix": DATE_UNIX,
                "vectors": vectors,
            },
            indent=1,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
