"""One management API call through ksc-sdk-python; prints the JSON response.

An action the SDK's service model lacks (a berth extension such as ModifyRepoTagImmutability)
goes through kingsoftcloud-sdk-python's generic signed call instead.

usage: kcr_call.py BASE_URL ACCESS_KEY SECRET_KEY ACTION [Name=Value ...]
"""
import json
import sys

from kscore.session import get_session

base, ak, sk, action = sys.argv[1:5]
params = dict(arg.split("=", 1) for arg in sys.argv[5:])
client = get_session().create_client(
    "kcrs", "cn-beijing-6", use_ssl=False, endpoint_url=base, ks_access_key_id=ak, ks_secret_access_key=sk
)
method = "".join("_" + c.lower() if c.isupper() else c for c in action).lstrip("_")
if hasattr(client, method):
    print(json.dumps(getattr(client, method)(**params)))
else:
    from ksyun.client.kcrs.v20211109 import client as kcrs_client
    from ksyun.common import credential
    from ksyun.common.profile.client_profile import ClientProfile
    from ksyun.common.profile.http_profile import HttpProfile

    hp = HttpProfile()
    hp.endpoint = base.split("://", 1)[1]
    hp.scheme = "http"
    hp.reqMethod = "POST"
    ks = kcrs_client.KcrsClient(credential.Credential(ak, sk), "cn-beijing-6", ClientProfile(httpProfile=hp))
    out = json.loads(ks.call_judge(action, params, "application/x-www-form-urlencoded"))
    assert "Error" not in out, out
    print(json.dumps(out))
