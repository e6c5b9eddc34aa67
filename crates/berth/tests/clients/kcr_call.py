"""One management API call through ksc-sdk-python; prints the JSON response.

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
print(json.dumps(getattr(client, method)(**params)))
