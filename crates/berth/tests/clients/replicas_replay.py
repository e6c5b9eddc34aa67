"""A signed image-risk call (aliyun-python-sdk-core, RPC v2 signing) sent to one replica, then the
same access key and nonce sent to another: the second must be refused as a replay.

usage: replicas_replay.py HOSTPORT_A HOSTPORT_B ACCESS_KEY SECRET_KEY; prints the two outcomes."""
import json
import sys
import uuid

import aliyunsdkcore.utils.parameter_helper as helper
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest

first, second, ak, sk = sys.argv[1:5]
client = AcsClient(ak, sk, "cn-hangzhou", auto_retry=False)
fixed = str(uuid.uuid4())
helper.get_uuid = lambda: fixed


def call(hostport):
    request = CommonRequest()
    request.set_domain(hostport)
    request.set_version("2018-12-03")
    request.set_action_name("DescribeClusterImageSecuritySummary")
    request.set_method("GET")
    request.set_protocol_type("http")
    request.set_accept_format("json")
    try:
        client.do_action_with_exception(request)
        return "ok"
    except ServerException as e:
        return e.get_error_code()


print(json.dumps([call(first), call(second)]))
