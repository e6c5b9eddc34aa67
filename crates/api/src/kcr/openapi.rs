//! `GET /openapi.json`: an OpenAPI 3.1 document of the management API, generated from the
//! action table ([`super::spec`]) so that it cannot drift from what the dispatcher accepts.
//!
//! Every action shares `/` (the seed's action-style API), so the document has one path whose
//! request schema is a `oneOf` over the actions, discriminated by `Action`; each action has its
//! own `<Action>Request` and `<Action>Response` schemas. Indexed names (`InstanceId.N`) are
//! `patternProperties`.
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::context::API_VERSION;
use super::spec::{ACTIONS, ActionSpec, Type};
use berth_kcr::params::MAX_INDEX;

fn ty(t: Type) -> Value {
    match t {
        Type::String => json!({"type": "string"}),
        Type::Integer => json!({"type": "integer"}),
        // The seed writes True/False; clients also send true/false.
        Type::Boolean => json!({"type": "string", "enum": ["True", "False", "true", "false"]}),
    }
}

/// `Trigger.Header.N.Value.N` -> a regular expression for the wire names.
fn pattern(name: &str) -> String {
    let index = format!("(0|[1-9][0-9]?|{MAX_INDEX})");
    let parts: Vec<String> = name
        .split('.')
        .map(|p| {
            if p == "N" {
                index.clone()
            } else {
                p.to_string()
            }
        })
        .collect();
    format!("^{}$", parts.join("\\."))
}

fn request_schema(a: &ActionSpec) -> Value {
    let mut props = Map::new();
    props.insert("Action".into(), json!({"type": "string", "const": a.name}));
    props.insert(
        "Version".into(),
        json!({"type": "string", "const": API_VERSION}),
    );
    let mut patterns = Map::new();
    let mut required = vec![json!("Action"), json!("Version")];
    for p in a.params {
        let mut schema = ty(p.ty);
        schema["description"] = json!(p.doc);
        if p.name.split('.').any(|s| s == "N") {
            if p.required {
                schema["description"] = json!(format!("{} (at least one required)", p.doc));
            }
            patterns.insert(pattern(p.name), schema);
        } else {
            if p.required {
                required.push(json!(p.name));
            }
            props.insert(p.name.into(), schema);
        }
    }
    let mut schema = json!({
        "type": "object",
        "description": a.summary,
        "properties": props,
        "required": required,
    });
    if !patterns.is_empty() {
        schema["patternProperties"] = Value::Object(patterns);
    }
    schema
}

fn response_schema(a: &ActionSpec) -> Value {
    let mut props = Map::new();
    props.insert(
        "RequestId".into(),
        json!({"type": "string", "description": "The request id"}),
    );
    for f in a.response {
        let mut schema = match f.ty {
            "array" => json!({"type": ["array", "null"], "items": {}}),
            "object" => json!({"type": "object"}),
            "string" => json!({"type": ["string", "null"]}),
            other => json!({"type": other}),
        };
        schema["description"] = json!(f.doc);
        props.insert(f.name.into(), schema);
    }
    json!({"type": "object", "properties": props, "required": ["RequestId"]})
}

pub fn document() -> Value {
    let mut schemas = Map::new();
    let mut mapping = Map::new();
    let mut requests = Vec::new();
    let mut responses = Vec::new();
    for a in ACTIONS {
        let req = format!("{}Request", a.name);
        let resp = format!("{}Response", a.name);
        schemas.insert(req.clone(), request_schema(a));
        schemas.insert(resp.clone(), response_schema(a));
        mapping.insert(a.name.into(), json!(format!("#/components/schemas/{req}")));
        requests.push(json!({"$ref": format!("#/components/schemas/{req}")}));
        responses.push(json!({"$ref": format!("#/components/schemas/{resp}")}));
    }
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["RequestId", "Error"],
            "properties": {
                "RequestId": {"type": "string"},
                "Error": {
                    "type": "object",
                    "required": ["Type", "Code", "Message"],
                    "properties": {
                        "Type": {"type": "string", "enum": ["Sender", "Receiver"]},
                        "Code": {"type": "string", "description": "MissingParameter, InvalidParameterValue, InvalidQueryParameter, InvalidMethod, MissingAuthenticationToken, SignatureDoesNotMatch, IncompleteSignature, InvalidClientTokenId, AccessDenied, ServiceUnavailable; berth adds ResourceAlreadyExists, ResourceInUse, QuotaExceeded (409)"},
                        "Message": {"type": "string"},
                    },
                },
            },
        }),
    );
    let body = json!({
        "schema": {
            "oneOf": requests,
            "discriminator": {"propertyName": "Action", "mapping": mapping},
        }
    });
    let error = |what: &str| json!({"description": what, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let ok = json!({
        "description": "The action's result",
        "content": {"application/json": {"schema": {"oneOf": responses}}},
    });
    let action_names: Vec<&str> = ACTIONS.iter().map(|a| a.name).collect();
    let responses_obj = json!({
        "200": ok,
        "400": error("Invalid parameters or an incomplete signature"),
        "403": error("Authentication or authorisation failed"),
        "409": error("The resource exists, is in use, or a quota is used up"),
        "500": error("The service failed"),
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "berth registry management API",
            "version": API_VERSION,
            "description": "The container registry management API of the seed kcr-container-registry-openapi (instances, access credentials, private network access, namespaces, repositories, images, tags, image scans, webhook triggers). Requests are signed with AWS Signature Version 4 (service `kcrs`). GET takes every parameter from the query string; POST takes them from an application/x-www-form-urlencoded (or JSON) body. Lists use Marker/MaxResults paging.",
        },
        "servers": [{"url": "/"}],
        "security": [{"sigv4": []}],
        "paths": {
            "/": {
                "get": {
                    "operationId": "callActionGet",
                    "summary": "Calls an action with its parameters in the query string",
                    "parameters": [
                        {"name": "Action", "in": "query", "required": true, "schema": {"type": "string", "enum": action_names}},
                        {"name": "Version", "in": "query", "required": true, "schema": {"type": "string", "const": API_VERSION}},
                        {"name": "parameters", "in": "query", "style": "form", "explode": true, "description": "The action's other parameters, as in its <Action>Request schema", "schema": {"type": "object", "additionalProperties": {"type": "string"}}},
                    ],
                    "responses": responses_obj.clone(),
                },
                "post": {
                    "operationId": "callActionPost",
                    "summary": "Calls an action with its parameters in the body",
                    "requestBody": {
                        "required": true,
                        "content": {
                            "application/x-www-form-urlencoded": body.clone(),
                            "application/json": body,
                        },
                    },
                    "responses": responses_obj,
                },
            },
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "sigv4": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "AWS4-HMAC-SHA256 Credential=<AccessKeyId>/<YYYYMMDD>/<region>/kcrs/aws4_request, SignedHeaders=host;..., Signature=...; or the X-Amz-* query parameters. Keys come from `berth admin access-key create`.",
                },
            },
        },
    })
}

pub async fn serve() -> Response {
    axum::Json(document()).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_action_has_its_schemas() {
        let doc = super::document();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for a in super::ACTIONS {
            let req = &schemas[&format!("{}Request", a.name)];
            assert_eq!(req["properties"]["Action"]["const"], a.name);
            assert!(schemas.contains_key(&format!("{}Response", a.name)));
        }
        let create = &schemas["CreateWebhookTriggerRequest"];
        assert!(
            create["patternProperties"]
                .as_object()
                .unwrap()
                .contains_key(
                    "^Trigger\\.Header\\.(0|[1-9][0-9]?|100)\\.Value\\.(0|[1-9][0-9]?|100)$"
                )
        );
        assert_eq!(
            doc["paths"]["/"]["get"]["parameters"][0]["schema"]["enum"]
                .as_array()
                .unwrap()
                .len(),
            37
        );
    }
}
