"""Creates the namespace `rep` and a PushImage webhook trigger on it, through the vendor's
SDKs against berth's load balancer (environment: BERTH_URL, AK, SK, HOOK_URL)."""
import json
import os

from kscore.session import get_session
from ksyun.client.kcrs.v20211109 import client as kcrs_client
from ksyun.client.kcrs.v20211109 import models
from ksyun.common import credential
from ksyun.common.profile.client_profile import ClientProfile
from ksyun.common.profile.http_profile import HttpProfile

BASE, AK, SK = os.environ["BERTH_URL"], os.environ["AK"], os.environ["SK"]
kcr = get_session().create_client(
    "kcrs", "cn-beijing-6", use_ssl=False, endpoint_url=BASE,
    ks_access_key_id=AK, ks_secret_access_key=SK)
default = [i for i in kcr.describe_instance()["InstanceSet"] if i["InstanceName"] == "default"][0]
kcr.create_namespace(InstanceId=default["InstanceId"], Namespace="rep", Public=False)

hp = HttpProfile()
hp.endpoint = BASE.split("://", 1)[1]
hp.scheme = "http"
hp.reqMethod = "POST"
ksyun = kcrs_client.KcrsClient(credential.Credential(AK, SK), "cn-beijing-6",
                               ClientProfile(httpProfile=hp))
request = models.CreateWebhookTriggerRequest()
request.InstanceId = default["InstanceId"]
request.Namespace = "rep"
request.Trigger = {"TriggerName": "replicas", "EventType": ["PushImage"],
                   "TriggerUrl": os.environ["HOOK_URL"], "Enabled": True}
out = json.loads(ksyun.CreateWebhookTrigger(request))
assert out.get("TriggerId"), out
