"""Drives berth's image-risk surface with Alibaba Cloud's own Python SDKs.

alibabacloud-sas20181203 (tea-openapi) in its default ACS3-HMAC-SHA256 signing and with
signature_algorithm='v2', each with the endpoint given as host:port and as http://host:port
(the SDK then sends `Host: http://host:port` and signs it so), and aliyun-python-sdk-core's
CommonRequest (GET, Format=JSON, RegionId), call ListImageRisk and
DescribeClusterImageSecuritySummary for every filter and paging case. The expected figures are
computed here from each image's findings (passed in by the Rust test, which read them from
`berth scan` reports of the same images), with the counting rule written down in
berth-inventory: Critical/High -> asap/high, Medium -> nntf/medium, the rest -> later/low, each
image counted once. Then the refusals: a wrong secret, an unknown key, a replayed nonce, an
expired timestamp, an unknown action, bad parameters; and a read-only key reads.

usage: sas_sdks.py CONFIG.json   (see the Rust test for its fields)
Prints one JSON line with what it checked.
"""
import json
import sys
import uuid

from alibabacloud_sas20181203 import models
from alibabacloud_sas20181203.client import Client
from alibabacloud_tea_openapi import utils_models
from darabonba.runtime import RuntimeOptions
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest

CONFIG = json.load(open(sys.argv[1]))
HOSTPORT = CONFIG["base"].split("://", 1)[1]
AK, SK = CONFIG["key"]
RO_AK, RO_SK = CONFIG["read_only_key"]
CLUSTER = CONFIG["cluster"]
OTHER = CONFIG["other_cluster"]
IMAGES = CONFIG["images"]  # name -> {digest, reference, repo_namespace, repo_name, tag, public, tag_immutable, stored, risk}
VERSION = "2018-12-03"
RUNTIME = RuntimeOptions(autoretry=False, max_attempts=1)
checked = {"list_cases": 0, "summary_cases": 0, "clients": [], "errors": []}

SEVERITIES = ["critical", "high", "medium", "low", "negligible", "unknown"]
LEVEL = {"critical": 0, "high": 0, "medium": 1, "low": 2, "negligible": 2, "unknown": 2}
VUL_NAMES = ["asap", "nntf", "later"]
OTHER_NAMES = ["high", "medium", "low"]


def levels(counts):
    out = [0, 0, 0]
    for sev, n in counts.items():
        out[LEVEL[sev]] += n
    return out


def expected_summary(names):
    """The four arrays for the images `names` (each counted once; unscanned ones count 0)."""
    totals = {k: [0, 0, 0] for k in ("os", "lang", "malware", "baseline")}
    for name in set(names):
        risk = IMAGES[name].get("risk")
        if not risk:
            continue
        for kind in totals:
            for i, n in enumerate(levels(risk[kind])):
                totals[kind][i] += n
    arr = lambda t, names_: [{"RiskLevel": n, "Count": c} for n, c in zip(names_, t)]
    return {
        "ImageCveVul": arr(totals["os"], VUL_NAMES),
        "ImageScaVul": arr(totals["lang"], VUL_NAMES),
        "ImageMaliciousFile": arr(totals["malware"], OTHER_NAMES),
        "ImageBaseline": arr(totals["baseline"], OTHER_NAMES),
    }


def statistics(name):
    risk = IMAGES[name].get("risk")
    if not risk:
        return {"baselineNum": 0, "newSuspicious": 0, "vul": 0}
    total = lambda c: sum(c.values())
    return {"baselineNum": total(risk["baseline"]), "newSuspicious": total(risk["malware"]),
            "vul": total(risk["os"]) + total(risk["lang"])}


def highest_level(name):
    risk = IMAGES[name].get("risk")
    if risk is None:
        return None
    found = [0, 0, 0]
    for kind in ("os", "lang", "malware", "baseline"):
        for i, n in enumerate(levels(risk[kind])):
            found[i] += n
    for i, n in enumerate(found):
        if n:
            return OTHER_NAMES[i]
    return "none"


def has(name, kinds):
    risk = IMAGES[name].get("risk")
    return risk is not None and any(sum(risk[k].values()) for k in kinds)


SCANNED = [n for n in IMAGES if IMAGES[n].get("risk") is not None]
ALL = ["alpine", "pyapp", "clean", "nginx"]


# --- clients ------------------------------------------------------------------------------

class Tea:
    def __init__(self, endpoint, algorithm, ak=AK, sk=SK):
        self.name = "tea-%s %s" % (algorithm or "acs3", endpoint)
        config = utils_models.Config(access_key_id=ak, access_key_secret=sk, endpoint=endpoint,
                                     protocol="http", region_id="cn-hangzhou",
                                     signature_algorithm=algorithm)
        self.client = Client(config)

    def list(self, **params):
        r = self.client.list_image_risk_with_options(models.ListImageRiskRequest(**params), RUNTIME)
        assert r.status_code == 200, r.status_code
        return r.body.to_map()

    def summary(self, **params):
        r = self.client.describe_cluster_image_security_summary_with_options(
            models.DescribeClusterImageSecuritySummaryRequest(**params), RUNTIME)
        assert r.status_code == 200, r.status_code
        return r.body.to_map()


SNAKE = {"ClusterId": "cluster_id", "Namespace": "namespace", "AppName": "app_name",
         "ImageName": "image_name", "CurrentPage": "current_page", "PageSize": "page_size",
         "ContainerFieldName": "container_field_name", "ContainerFieldValue": "container_field_value",
         "ImageRepoName": "image_repo_name", "ImageRepoNamespace": "image_repo_namespace",
         "ImageTag": "image_tag", "ImageDigest": "image_digest", "SourceIp": "source_ip",
         "ResourceOwnerId": "resource_owner_id"}


class Core:
    name = "aliyun-python-sdk-core CommonRequest"

    def __init__(self, ak=AK, sk=SK):
        self.client = AcsClient(ak, sk, "cn-hangzhou", auto_retry=False)

    def call(self, action, params):
        request = CommonRequest()
        request.set_domain(HOSTPORT)
        request.set_version(VERSION)
        request.set_action_name(action)
        request.set_method("GET")
        request.set_protocol_type("http")
        request.set_accept_format("json")
        for k, v in params.items():
            request.add_query_param(k, v)
        self.last = request
        return json.loads(self.client.do_action_with_exception(request))

    def list(self, **params):
        return self.call("ListImageRisk", wire(params))

    def summary(self, **params):
        return self.call("DescribeClusterImageSecuritySummary", wire(params))


def wire(params):
    back = {v: k for k, v in SNAKE.items()}
    return {back[k]: v for k, v in params.items()}


def snake(params):
    return {SNAKE[k]: v for k, v in params.items()}


# --- the cases ----------------------------------------------------------------------------

def list_cases():
    return [
        ({}, ALL),
        ({"ClusterId": CLUSTER}, ALL),
        ({"ClusterId": OTHER}, []),
        ({"Namespace": "monitoring"}, ["clean"]),
        ({"Namespace": "shop"}, ["alpine", "pyapp", "nginx"]),
        ({"Namespace": "kube-system"}, []),
        ({"AppName": "web"}, ["alpine", "pyapp"]),
        ({"AppName": "node-agent"}, ["clean"]),
        ({"AppName": "debug"}, ["nginx", "pyapp"]),
        ({"ImageName": "nginx"}, ["nginx"]),
        ({"ImageName": "team/alpine"}, ["alpine"]),
        ({"ImageName": "registry.berth.test/team/pyapp:1.0"}, ["pyapp"]),
        ({"ImageName": "pyapp:2.0"}, []),
        ({"ClusterId": CLUSTER, "Namespace": "shop", "AppName": "web", "ImageName": "alpine"},
         ["alpine"]),
    ]


def summary_cases():
    alpine, clean = IMAGES["alpine"]["digest"], IMAGES["clean"]["digest"]
    field = lambda n, v: {"ContainerFieldName": n, "ContainerFieldValue": v}
    cases = [
        ({}, SCANNED),
        ({"ClusterId": CLUSTER}, SCANNED),
        ({"ClusterId": OTHER}, []),
        (field("clusterId", CLUSTER), SCANNED),
        (field("clusterName", "prod"), SCANNED),
        (field("clusterType", "ManagedKubernetes"), SCANNED),
        (field("regionId", "eu-west-1"), SCANNED),
        (field("regionId", "cn-hangzhou"), []),
        (field("containerScope", "init"), ["pyapp"]),
        (field("containerScope", "regular"), ["alpine", "clean", "pyapp"]),
        (field("pod", "debug"), ["pyapp"]),
        (field("podIp", "10.244.1.21"), ["alpine", "pyapp"]),
        (field("hostIp", "192.168.60.12"), ["alpine", "pyapp", "clean"]),
        (field("instanceId", "worker-2"), ["alpine", "pyapp", "clean"]),
        (field("image", "registry.berth.test/ops/clean:1"), ["clean"]),
        (field("image", "nginx:1.27"), []),
        (field("imageRepoName", "alpine"), ["alpine"]),
        (field("imageRepoNamespace", "team"), ["alpine", "pyapp"]),
        (field("imageRepoTag", "1.0"), ["pyapp"]),
        (field("imageDigest", clean), ["clean"]),
        (field("imageDigest", "sha256:" + alpine), ["alpine"]),
        (field("containerId", "containerd://" + "4d" * 32), ["clean"]),
        (field("containerId", "5e" * 32), ["clean"]),
        (field("vulStatus", "true"), [n for n in SCANNED if has(n, ["os", "lang"])]),
        (field("vulStatus", "false"), [n for n in SCANNED if not has(n, ["os", "lang"])]),
        (field("alarmStatus", "true"), [n for n in SCANNED if has(n, ["malware"])]),
        (field("riskStatus", "true"),
         [n for n in SCANNED if has(n, ["os", "lang", "malware", "baseline"])]),
        ({"ImageRepoName": "pyapp"}, ["pyapp"]),
        ({"ImageRepoNamespace": "ops"}, ["clean"]),
        ({"ImageTag": "3.10"}, ["alpine"]),
        ({"ImageDigest": alpine}, ["alpine"]),
        ({"ImageRepoNamespace": "team", "ImageTag": "1.0", "SourceIp": "60.190.1.2"}, ["pyapp"]),
        ({"ClusterId": CLUSTER, "ImageRepoName": "nginx"}, []),
    ]
    for lvl in ("high", "medium", "low", "none"):
        cases.append((field("riskLevel", lvl), [n for n in SCANNED if highest_level(n) == lvl]))
    return cases


def check_item(item, name):
    img = IMAGES[name]
    where = "%s: %s" % (name, json.dumps(item))
    assert item["Image"] == img["reference"], where
    assert item["Digest"] == img["digest"], where
    # The stored repository's setting (ModifyRepoTagImmutability); 0 for images berth lacks.
    want_immutable = 1 if img["stored"] and img.get("tag_immutable") else 0
    assert isinstance(item["TagImmutable"], int) and item["TagImmutable"] == want_immutable, where
    assert json.loads(item["Statistics"]) == statistics(name), where
    assert len(item["Uuid"]) == 36 and str(uuid.UUID(item["Uuid"])) == item["Uuid"], where
    assert item["RepoNamespace"] == img["repo_namespace"], where
    assert item["RepoName"] == img["repo_name"], where
    assert item["Tag"] == img["tag"], where
    if img["stored"]:
        assert item["ImageAccessType"] == "IN_SAS", where
        assert item["RepoType"] == ("PUBLIC" if img["public"] else "PRIVATE"), where
        assert item["RegistryType"] == "berth", where
        assert item["RegionId"] == "cn-beijing-6", where
        assert item["RepoId"].isdigit(), where
        assert item["EndPointList"] == [{"Domains": [HOSTPORT], "Type": "internet"}], where
        assert item["Endpoints"] == "http://" + HOSTPORT, where
        assert item["InternetURLs"] == "%s/%s/%s" % (HOSTPORT, img["repo_namespace"], img["repo_name"]), where
        assert item["VpcURLs"] == "", where
        assert item["ImageId"] == img["config_digest"], where
    else:
        assert item["ImageAccessType"] == "NOT_IN_SAS", where
        assert item["EndPointList"] == [] and item["RepoType"] == "" and item["RepoId"] == "", where


def run_list_cases(client):
    by_digest = {IMAGES[n]["digest"]: n for n in IMAGES}
    for params, names in list_cases():
        body = client.list(**snake(params))
        page = body["PageInfo"]
        where = "%s ListImageRisk %s: %s" % (client.name, params, json.dumps(body))
        assert page == {"TotalCount": len(names), "Count": len(names), "PageSize": 20,
                        "CurrentPage": 1}, where
        seen = sorted(by_digest[i["Digest"]] for i in body["ImageRiskList"])
        assert seen == sorted(names), where
        for item in body["ImageRiskList"]:
            check_item(item, by_digest[item["Digest"]])
        checked["list_cases"] += 1
    # Paging, past the end too.
    pages = []
    for current in (1, 2, 3):
        body = client.list(page_size=3, current_page=current)
        where = "%s page %d: %s" % (client.name, current, json.dumps(body))
        count = {1: 3, 2: 1, 3: 0}[current]
        assert body["PageInfo"] == {"TotalCount": 4, "Count": count, "PageSize": 3,
                                    "CurrentPage": current}, where
        assert len(body["ImageRiskList"]) == count, where
        pages += [i["Digest"] for i in body["ImageRiskList"]]
    assert sorted(pages) == sorted(IMAGES[n]["digest"] for n in ALL), pages
    checked["list_cases"] += 3


def run_summary_cases(client):
    for params, names in summary_cases():
        body = client.summary(**snake(params))
        where = "%s DescribeClusterImageSecuritySummary %s" % (client.name, params)
        assert body["ClusterImageEvent"] == expected_summary(names), \
            "%s: got %s, expected %s" % (where, json.dumps(body), json.dumps(expected_summary(names)))
        checked["summary_cases"] += 1


def expect_error(call, code, status):
    try:
        call()
    except ServerException as e:
        got = (e.get_error_code(), e.get_http_status())
        assert got == (code, status), "expected %s %s, got %s %s" % (code, status, got, e)
        assert e.get_request_id(), e
    except Exception as e:  # tea's ClientException / ServerException
        got = (getattr(e, "code", None), getattr(e, "status_code", None))
        assert got == (code, status), "expected %s %s, got %s: %s" % (code, status, got, e)
        assert getattr(e, "request_id", None), e
    else:
        raise AssertionError("expected %s" % code)
    checked["errors"].append(code)


def refusals():
    tea = Tea(HOSTPORT, None)
    core = Core()
    # Parameters.
    expect_error(lambda: tea.summary(container_field_name="InstanceId", container_field_value="x"),
                 "InvalidParameter", 400)
    expect_error(lambda: core.summary(container_field_name="vulStatus", container_field_value="maybe"),
                 "InvalidParameter", 400)
    expect_error(lambda: tea.summary(container_field_name="pod"), "MissingParameter", 400)
    expect_error(lambda: tea.list(page_size=0), "InvalidParameter", 400)
    expect_error(lambda: core.call("ListImageRisk", {"ClusterID": CLUSTER}), "InvalidParameter", 400)
    expect_error(lambda: core.call("DescribeImageRiskEverything", {}), "InvalidAction.NotFound", 404)
    # Signatures: a wrong secret, in both schemes.
    expect_error(lambda: Tea(HOSTPORT, None, sk="wrong").list(), "SignatureDoesNotMatch", 400)
    expect_error(lambda: Tea("http://" + HOSTPORT, "v2", sk="wrong").summary(),
                 "SignatureDoesNotMatch", 400)
    # aliyun-python-sdk-core turns this into InvalidAccessKeySecret when the string to sign the
    # server quotes (after the message's first ':') is its own; CommonRequest keeps its string
    # to sign on the inner request it builds, so the comparison (with '') never holds there and
    # the code stays SignatureDoesNotMatch. The quoted string is the SDK's own all the same.
    wrong = Core(sk="wrong")
    try:
        wrong.list()
        raise AssertionError("a wrong secret was accepted")
    except ServerException as e:
        assert (e.get_error_code(), e.get_http_status()) == ("SignatureDoesNotMatch", 400), e
        quoted = e.get_error_msg().split(":")[1]
        assert quoted == wrong.last.request.string_to_sign, (quoted, wrong.last.request.string_to_sign)
        checked["errors"].append("SignatureDoesNotMatch (string to sign quoted as the SDK's)")
    expect_error(lambda: Tea(HOSTPORT, None, ak="LTAInobodyknowsthiskey").list(),
                 "InvalidAccessKeyId.NotFound", 404)
    # A replayed nonce, with each SDK's nonce generator made to repeat itself.
    import alibabacloud_tea_openapi.utils as tea_utils
    import aliyunsdkcore.utils.parameter_helper as helper
    original_nonce, original_uuid = tea_utils.Utils.get_nonce, helper.get_uuid
    fixed = uuid.uuid4().hex
    tea_utils.Utils.get_nonce = staticmethod(lambda: fixed)
    try:
        tea.list()
        expect_error(lambda: tea.list(), "SignatureNonceUsed", 400)
        # The same key and nonce in the other scheme is a replay too.
        expect_error(lambda: Tea(HOSTPORT, "v2").summary(), "SignatureNonceUsed", 400)
    finally:
        tea_utils.Utils.get_nonce = original_nonce
    fixed_core = str(uuid.uuid4())
    helper.get_uuid = lambda: fixed_core
    try:
        core.list()
        expect_error(lambda: core.list(), "SignatureNonceUsed", 400)
    finally:
        helper.get_uuid = original_uuid
    # A timestamp 20 minutes old.
    original_date = helper.get_iso_8061_date
    import datetime
    old = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20))
    helper.get_iso_8061_date = lambda: old.strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        expect_error(lambda: core.list(), "InvalidTimeStamp.Expired", 400)
    finally:
        helper.get_iso_8061_date = original_date


def main():
    clients = [Tea(HOSTPORT, None), Tea("http://" + HOSTPORT, None), Tea(HOSTPORT, "v2"),
               Tea("http://" + HOSTPORT, "v2"), Core()]
    for client in clients:
        run_list_cases(client)
        run_summary_cases(client)
        checked["clients"].append(client.name)
    # Figures pinned by the fixtures alone (tests/fixtures/sas/osv and the EICAR file), not
    # derived from the scan reports: berthdemo's Critical and High are asap, its Medium nntf,
    # parso's unrated advisory later; EICAR is one high malicious file.
    event = Tea(HOSTPORT, None).summary()["ClusterImageEvent"]
    assert event["ImageScaVul"] == [{"RiskLevel": "asap", "Count": 2},
                                    {"RiskLevel": "nntf", "Count": 1},
                                    {"RiskLevel": "later", "Count": 1}], event
    assert event["ImageMaliciousFile"] == [{"RiskLevel": "high", "Count": 1},
                                           {"RiskLevel": "medium", "Count": 0},
                                           {"RiskLevel": "low", "Count": 0}], event
    # A read-only key reads both.
    for client in (Tea(HOSTPORT, None, RO_AK, RO_SK), Core(RO_AK, RO_SK)):
        assert client.list()["PageInfo"]["TotalCount"] == 4
        assert client.summary()["ClusterImageEvent"] == expected_summary(SCANNED)
        checked["clients"].append(client.name + " (read-only key)")
    refusals()
    print(json.dumps(checked))


if __name__ == "__main__":
    main()
