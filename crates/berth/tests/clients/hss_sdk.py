"""Drives berth's cluster-protection surface with Huawei Cloud's own SDK, huaweicloudsdkhss.

Every operation of the SDK's cluster-protect family, over real HTTP, signed by huaweicloudsdkcore
with SDK-HMAC-SHA256 (BasicCredentials(ak, sk, project_id): the project id is the berth instance
id DescribeInstance reports), through the SDK's request and response models; then the refusals
as the SDK reports them (ClientRequestException with status_code, error_code, request_id): a
wrong secret, an unknown key, a read-only key writing, an unknown enum value and a missing field
in a policy (nothing written), an unknown policy, template, cluster or event, an unknown project,
a limit out of range.

Events are written by admission, which is not built yet: the Rust test inserts two into the
store before running this (CONFIG["events"]).

usage: hss_sdk.py CONFIG.json   (see crates/berth/tests/it/hss.rs for its fields)
Prints one JSON line with what it checked.
"""
import json
import sys

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkhss.v5 import HssClient
from huaweicloudsdkhss.v5 import model as m

CONFIG = json.load(open(sys.argv[1]))
BASE = CONFIG["base"]
AK, SK = CONFIG["key"]
RO_AK, RO_SK = CONFIG["read_only_key"]
PROJECT = CONFIG["project_id"]
C1, C2 = CONFIG["clusters"]  # [[id, name], [id, name]]
EVENTS = CONFIG["events"]  # event ids stored for the project, newest first
checked = {"operations": set(), "errors": []}


def client(ak=AK, sk=SK, project=PROJECT):
    config = HttpConfig.get_default_config()
    config.retry_times = 0
    config.timeout = (10, 30)
    return (
        HssClient.new_builder()
        .with_http_config(config)
        .with_credentials(BasicCredentials(ak, sk, project))
        .with_endpoints([BASE])
        .build()
    )


HSS = client()


def call(name, request, c=None):
    checked["operations"].add(name)
    method = "".join("_" + ch.lower() if ch.isupper() else ch for ch in name).lstrip("_")
    return getattr(c or HSS, method)(request)


def refused(name, request, status, code, c=None, contains=None):
    try:
        call(name, request, c)
    except ClientRequestException as e:
        assert e.status_code == status, (name, e.status_code, e.error_code, e.error_msg)
        assert e.error_code == code, (name, e.error_code, e.error_msg)
        assert e.request_id, (name, "no X-Request-Id")
        if contains:
            assert contains in e.error_msg, (name, e.error_msg)
        checked["errors"].append(f"{name}:{code}")
        return e
    raise AssertionError(f"{name} was not refused with {code}")


def policy_body(policy_id, name, policy_type="vuls", action=1, severity=3, cluster=C1):
    return m.ModPolicyRequestInfo(
        policy_name=name,
        policy_id=policy_id,
        template_id="berth-block-critical-fixable-vulns",
        policy_description="from the SDK test",
        content=m.PolicyContent(
            enable_image_startup=True,
            policy_type=policy_type,
            severity=severity,
            risky_item=["CVE-2024-0001"],
            action=action,
        ),
        white_image_list=[m.WhiteImageInfo(cluster_id=cluster[0], image_name="library/nginx", image_version="1.27")],
        resources=[
            m.PolicyProtectScope(
                cluster_name=cluster[1],
                cluster_id=cluster[0],
                images=["library/app"],
                namespaces=["prod", "web"],
                labels=["app=web"],
            )
        ],
        parameters="{}",
    )


def eps(cls, **kw):
    """Every request with enterprise_project_id, as console users send it."""
    return cls(enterprise_project_id="all_granted_eps", **kw)


# --- policies -----------------------------------------------------------------------------
assert call("ListClusterProtectionPolicy", eps(m.ListClusterProtectionPolicyRequest)).total_num == 0
call("CreateClusterProtectionPolicy", eps(m.CreateClusterProtectionPolicyRequest, body=policy_body("p-vuls", "block vulns")))
call(
    "CreateClusterProtectionPolicy",
    m.CreateClusterProtectionPolicyRequest(body=policy_body("p-mal", "malware", "malwares", 0, 0, C2)),
)
call(
    "CreateClusterProtectionPolicy",
    m.CreateClusterProtectionPolicyRequest(body=policy_body("p-base", "root", "baselines", 1, 0, C2)),
)
refused(
    "CreateClusterProtectionPolicy",
    m.CreateClusterProtectionPolicyRequest(body=policy_body("p-vuls", "again")),
    409,
    "HSS.1005",
)
listed = call("ListClusterProtectionPolicy", eps(m.ListClusterProtectionPolicyRequest, offset=0, limit=10))
assert listed.total_num == 3, listed
assert [p.policy_id for p in listed.data_list] == ["p-vuls", "p-mal", "p-base"], listed
assert (listed.general_policy_num, listed.malicious_image_policy_num, listed.security_policy_num) == (1, 1, 1)
assert listed.project_id == PROJECT
first = listed.data_list[0]
assert first.content["policy_type"] == "vuls" and first.content["action"] == 1 and first.content["severity"] == 3
assert first.content["risky_item"] == ["CVE-2024-0001"]
assert first.resources[0].cluster_id == C1[0] and first.resources[0].namespace == "prod,web"
assert first.resources[0].labels == ["app=web"] and first.image_num == 1 and first.labels_num == 1
assert first.white_images[0].image_name == "library/nginx" and first.white_images[0].cluster_id == C1[0]
assert first.template_id == "berth-block-critical-fixable-vulns" and first.template_name
assert first.description == "from the SDK test" and first.create_time > 0
page = call("ListClusterProtectionPolicy", m.ListClusterProtectionPolicyRequest(offset=1, limit=1))
assert page.total_num == 3 and [p.policy_id for p in page.data_list] == ["p-mal"], page
past = call("ListClusterProtectionPolicy", m.ListClusterProtectionPolicyRequest(offset=10, limit=5))
assert past.total_num == 3 and past.data_list == [], past
of_c2 = call("ListClusterProtectionPolicy", m.ListClusterProtectionPolicyRequest(cluster_id=C2[0]))
assert sorted(p.policy_id for p in of_c2.data_list) == ["p-base", "p-mal"], of_c2
refused("ListClusterProtectionPolicy", m.ListClusterProtectionPolicyRequest(limit=0), 400, "HSS.1001")
refused("ListClusterProtectionPolicy", m.ListClusterProtectionPolicyRequest(limit=201), 400, "HSS.1001")

detail = call("ListClusterProtectionPolicyDetail", eps(m.ListClusterProtectionPolicyDetailRequest, policy_id="p-mal"))
assert detail.total_num == 1 and detail.data_list[0].policy_name == "malware", detail
refused("ListClusterProtectionPolicyDetail", m.ListClusterProtectionPolicyDetailRequest(policy_id="nope"), 404, "HSS.1004")

changed = policy_body("p-mal", "malware, renamed", "malwares", 1, 0, C2)
call("ChangeClusterProtectionPolicy", eps(m.ChangeClusterProtectionPolicyRequest, body=changed))
detail = call("ListClusterProtectionPolicyDetail", m.ListClusterProtectionPolicyDetailRequest(policy_id="p-mal"))
assert detail.data_list[0].policy_name == "malware, renamed" and detail.data_list[0].content["action"] == 1
refused(
    "ChangeClusterProtectionPolicy",
    m.ChangeClusterProtectionPolicyRequest(body=policy_body("nope", "x")),
    404,
    "HSS.1004",
)

# Bad policies: unknown enum values and missing fields are refused, naming the field, and
# nothing is written (the stored policy is unchanged, no new one appears).
for body, field in [
    (policy_body("p-bad", "bad", policy_type="rootkits"), "policy_type"),
    (policy_body("p-bad", "bad", action=7), "action"),
    (policy_body("p-bad", "bad", severity=9), "severity"),
    (m.ModPolicyRequestInfo(policy_name="no content", policy_id="p-bad"), "content"),
    (m.ModPolicyRequestInfo(policy_id="p-bad", content=policy_body("x", "x").content), "policy_name"),
]:
    refused("CreateClusterProtectionPolicy", m.CreateClusterProtectionPolicyRequest(body=body), 400, "HSS.1002", contains=field)
bad_change = policy_body("p-mal", "half", policy_type="rootkits")
refused("ChangeClusterProtectionPolicy", m.ChangeClusterProtectionPolicyRequest(body=bad_change), 400, "HSS.1002", contains="policy_type")
detail = call("ListClusterProtectionPolicyDetail", m.ListClusterProtectionPolicyDetailRequest(policy_id="p-mal"))
assert detail.data_list[0].policy_name == "malware, renamed", "nothing half-written"
assert call("ListClusterProtectionPolicy", m.ListClusterProtectionPolicyRequest()).total_num == 3

call(
    "DeleteClusterProtectionPolicy",
    eps(m.DeleteClusterProtectionPolicyRequest, body=m.DeletePolicyRequestInfo(policy_name="root", policy_id="p-base")),
)
refused(
    "DeleteClusterProtectionPolicy",
    m.DeleteClusterProtectionPolicyRequest(body=m.DeletePolicyRequestInfo(policy_name="root", policy_id="p-base")),
    404,
    "HSS.1004",
)
assert call("ListClusterProtectionPolicy", m.ListClusterProtectionPolicyRequest()).total_num == 2

defaults = call("ListClusterProtectionDefaultPolicy", eps(m.ListClusterProtectionDefaultPolicyRequest, offset=0, limit=10))
assert defaults.total_num == 4 and len(defaults.data_list) == 4, defaults
assert {p.policy_id for p in defaults.data_list} >= {"berth-block-malware", "berth-block-run-as-root"}
assert len(call("ListClusterProtectionDefaultPolicy", m.ListClusterProtectionDefaultPolicyRequest(offset=1, limit=2)).data_list) == 2

# --- templates ------------------------------------------------------------------------------
templates = call("ListClusterProtectPolicyTemplates", eps(m.ListClusterProtectPolicyTemplatesRequest, limit=10, offset=0))
assert templates.total_num == 4, templates
ids = [t.id for t in templates.data_list]
assert "berth-block-malware" in ids
t = next(t for t in templates.data_list if t.id == "berth-block-malware")
assert (t.template_type, t.target_kind, t.level) == ("malwares", "Pod", "high"), t
assert json.loads(t.constraint_template)["policy_type"] == "malwares"
only = call("ListClusterProtectPolicyTemplates", m.ListClusterProtectPolicyTemplatesRequest(template_type="baselines"))
assert only.total_num == 2 and all(x.template_type == "baselines" for x in only.data_list), only
named = call("ListClusterProtectPolicyTemplates", m.ListClusterProtectPolicyTemplatesRequest(template_name="malware", level="high"))
assert [x.id for x in named.data_list] == ["berth-block-malware"], named
shown = call("ShowClusterProtectPolicyTemplate", eps(m.ShowClusterProtectPolicyTemplateRequest, policy_template_id="berth-block-run-as-root"))
assert shown.id == "berth-block-run-as-root" and shown.template_type == "baselines", shown
refused("ShowClusterProtectPolicyTemplate", m.ShowClusterProtectPolicyTemplateRequest(policy_template_id="nope"), 404, "HSS.1007")

# --- clusters -------------------------------------------------------------------------------
clusters = call("ListClusterProtectionInfo", eps(m.ListClusterProtectionInfoRequest, offset=0, limit=10))
assert clusters.total_num == 2, clusters
by_id = {c.cluster_id: c for c in clusters.data_list}
assert by_id[C1[0]].cluster_name == C1[1] and by_id[C1[0]].protect_status == "unprotected", clusters
assert by_id[C1[0]].policy_num == 1 and by_id[C2[0]].policy_num == 1, clusters
assert by_id[C1[0]].cluster_type == "k8s" and by_id[C1[0]].cluster_status == "Available"
call("SwitchClusterProtectionMode", eps(m.SwitchClusterProtectionModeRequest, body=m.SwitchClusterProtectionModeRequestBody(cluster_ids=[C1[0]], opr=1)))
refused(
    "SwitchClusterProtectionMode",
    m.SwitchClusterProtectionModeRequest(body=m.SwitchClusterProtectionModeRequestBody(cluster_ids=[C2[0], "c-none"], opr=1)),
    404,
    "HSS.1006",
)
refused(
    "SwitchClusterProtectionMode",
    m.SwitchClusterProtectionModeRequest(body=m.SwitchClusterProtectionModeRequestBody(cluster_ids=[C2[0]], opr=5)),
    400,
    "HSS.1002",
)
clusters = call("ListClusterProtectionInfo", m.ListClusterProtectionInfoRequest(offset=0, limit=1))
assert clusters.total_num == 2 and len(clusters.data_list) == 1
by_id = {c.cluster_id: c for c in call("ListClusterProtectionInfo", m.ListClusterProtectionInfoRequest()).data_list}
assert by_id[C1[0]].protect_status == "protected with policy", by_id
assert by_id[C2[0]].protect_status == "unprotected", "nothing half-written"

overview = call("ListClusterProtectOverview", eps(m.ListClusterProtectOverviewRequest))
assert (overview.cluster_num, overview.under_protect_num, overview.policy_num) == (2, 1, 2), overview
assert (overview.event_num, overview.block_num) == (2, 1), overview

items = call("ListClusterProtectionItem", eps(m.ListClusterProtectionItemRequest))
assert {b.baseline_index for b in items.baselines} == {"run-as-root", "secret-in-layer"}, items
assert {c.cluster_id for c in items.clusters} == {C1[0], C2[0]}, items
assert items.vuls == [] and items.malwares == []

# --- events ---------------------------------------------------------------------------------
events = call("ListClusterEvents", eps(m.ListClusterEventsRequest, offset=0, limit=10))
assert events.total_num == 2 and [e.event_id for e in events.data_list] == EVENTS, events
e0 = events.data_list[0]
assert e0.handle_status == "unhandled" and e0.resource_info.kind == "Deployment" and e0.project_id == PROJECT, e0
assert events.last_update_time > 0
of_c1 = call("ListClusterEvents", m.ListClusterEventsRequest(cluster_id=C1[0]))
assert of_c1.total_num == 1, of_c1
one = call("ListClusterEvents", m.ListClusterEventsRequest(offset=1, limit=1))
assert one.total_num == 2 and [e.event_id for e in one.data_list] == EVENTS[1:], one
refused(
    "ChangeClusterEvents",
    m.ChangeClusterEventsRequest(body=m.ModClusterProtectionEventRequest(total_num=2, opr="handle", data_list=[EVENTS[0], "nope"])),
    404,
    "HSS.1008",
)
assert all(e.handle_status == "unhandled" for e in call("ListClusterEvents", m.ListClusterEventsRequest()).data_list)
refused(
    "ChangeClusterEvents",
    m.ChangeClusterEventsRequest(body=m.ModClusterProtectionEventRequest(total_num=1, opr="burn", data_list=[EVENTS[0]])),
    400,
    "HSS.1002",
)
refused(
    "ChangeClusterEvents",
    m.ChangeClusterEventsRequest(body=m.ModClusterProtectionEventRequest(total_num=1, opr="addWhiteImage", data_list=[EVENTS[0]])),
    400,
    "HSS.1009",
)
done = call(
    "ChangeClusterEvents",
    eps(m.ChangeClusterEventsRequest, body=m.ModClusterProtectionEventRequest(total_num=1, opr="ignore", data_list=[EVENTS[0]])),
)
assert done.total_num == 1 and done.data_list[0].handle_status == "handled", done
synced = call("SyncClusterProtectionEvent", eps(m.SyncClusterProtectionEventRequest, cluster_id=C1[0]))
assert synced.synched is True, synced
refused("SyncClusterProtectionEvent", m.SyncClusterProtectionEventRequest(cluster_id="c-none"), 404, "HSS.1006")

# --- authentication and permission --------------------------------------------------------
refused("ListClusterProtectOverview", m.ListClusterProtectOverviewRequest(), 401, "APIGW.0301", client(sk=SK + "x"), "signature")
refused("ListClusterProtectOverview", m.ListClusterProtectOverviewRequest(), 401, "APIGW.0301", client(ak="AKLTNOSUCHKEY"), "access key")
refused("ListClusterProtectOverview", m.ListClusterProtectOverviewRequest(), 404, "HSS.0404", client(project="no-such-project"))
refused(
    "CreateClusterProtectionPolicy",
    m.CreateClusterProtectionPolicyRequest(body=policy_body("p-sig", "x")),
    401,
    "APIGW.0301",
    client(sk=SK + "x"),
)
ro = client(RO_AK, RO_SK)
assert call("ListClusterProtectionPolicy", m.ListClusterProtectionPolicyRequest(), ro).total_num == 2, "read-only keys read"
for name, req in [
    ("CreateClusterProtectionPolicy", m.CreateClusterProtectionPolicyRequest(body=policy_body("p-ro", "x"))),
    ("DeleteClusterProtectionPolicy", m.DeleteClusterProtectionPolicyRequest(body=m.DeletePolicyRequestInfo(policy_id="p-vuls"))),
    ("SwitchClusterProtectionMode", m.SwitchClusterProtectionModeRequest(body=m.SwitchClusterProtectionModeRequestBody(cluster_ids=[C2[0]], opr=1))),
    ("ChangeClusterEvents", m.ChangeClusterEventsRequest(body=m.ModClusterProtectionEventRequest(total_num=1, opr="handle", data_list=[EVENTS[1]]))),
]:
    refused(name, req, 403, "HSS.0403", ro)
assert call("ListClusterProtectionPolicy", m.ListClusterProtectionPolicyRequest()).total_num == 2
assert {p.policy_id for p in call("ListClusterProtectionPolicy", m.ListClusterProtectionPolicyRequest()).data_list} == {"p-vuls", "p-mal"}

checked["operations"] = sorted(checked["operations"])
print(json.dumps(checked))
