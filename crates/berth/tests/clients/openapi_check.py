"""Fetches berth's /openapi.json and validates it with openapi-spec-validator; prints a summary.

usage: openapi_check.py BASE_URL
"""
import json
import sys
import urllib.request

from openapi_spec_validator import validate

doc = json.load(urllib.request.urlopen(sys.argv[1] + "/openapi.json"))
validate(doc)
actions = doc["paths"]["/"]["get"]["parameters"][0]["schema"]["enum"]
print(json.dumps({"openapi": doc["openapi"], "actions": len(actions), "schemas": len(doc["components"]["schemas"])}))
