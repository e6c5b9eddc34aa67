//! The actions of the management API and their parameters, as the seed defines them. One table
//! serves three purposes: refusing parameters an action does not take, documenting the API
//! (`/openapi.json`), and the list of actions the dispatcher knows.
use super::context::{Ctx, Reply};
use super::error::{KcrError, KcrResult};
use super::{api_tokens, endpoints, instances, namespaces, repositories, scans, tokens, webhooks};
use berth_kcr::params::{Params, pattern_of};
use futures::future::BoxFuture;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Integer,
    Boolean,
}

#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// The name with `N` for each index: `InstanceId.N`, `Trigger.Header.N.Value.N`.
    pub name: &'static str,
    pub ty: Type,
    pub required: bool,
    pub doc: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    /// A JSON-schema-ish type: `string`, `integer`, `boolean`, `array`, `object`.
    pub ty: &'static str,
    pub doc: &'static str,
}

/// What runs an action: an async function of the request context. The dispatcher calls it only
/// after the parameters passed [`ActionSpec::check`].
pub type Handler = for<'a> fn(&'a Ctx) -> BoxFuture<'a, KcrResult<Reply>>;

/// `handler!(module::function)`: the function as a [`Handler`].
macro_rules! handler {
    ($f:path) => {
        |ctx| Box::pin($f(ctx))
    };
}

pub struct ActionSpec {
    pub name: &'static str,
    pub group: &'static str,
    pub summary: &'static str,
    pub params: &'static [Param],
    /// Response fields besides `RequestId`.
    pub response: &'static [Field],
    pub handler: Handler,
}

impl std::fmt::Debug for ActionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionSpec")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Parameters every request may carry: the action and version, the kingsoftcloud SDK's extras,
/// and SigV4 query authentication.
pub const COMMON: &[&str] = &[
    "Action",
    "Version",
    "Service",
    "SdkVersion",
    "Region",
    "Accesskey",
    "Language",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

const fn p(name: &'static str, ty: Type, required: bool, doc: &'static str) -> Param {
    Param {
        name,
        ty,
        required,
        doc,
    }
}

const fn f(name: &'static str, ty: &'static str, doc: &'static str) -> Field {
    Field { name, ty, doc }
}

use Type::{Boolean as B, Integer as I, String as S};

const INSTANCE_ID: Param = p("InstanceId", S, true, "Instance id");
const NAMESPACE: Param = p("Namespace", S, true, "Namespace name");
const REPO_NAME: Param = p("RepoName", S, true, "Repository name");
const IMAGE_ID: Param = p("ImageId", S, true, "Image id (manifest digest)");
const MARKER: Param = p("Marker", I, false, "Offset of the first result; default 0");
const MAX_RESULTS: Param = p(
    "MaxResults",
    I,
    false,
    "Results per page; default 20, at most 99",
);
const MAX_RESULTS_10: Param = p(
    "MaxResults",
    I,
    false,
    "Results per page; default 10, at most 99",
);
const PAGE: [Field; 3] = [
    f("TotalCount", "integer", "Number of results in all pages"),
    f("MaxResults", "integer", "Results per page"),
    f(
        "Marker",
        "integer",
        "Offset of the next page; 0 when this page is the last",
    ),
];

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "CreateInstance",
        group: "Instances",
        summary: "Creates an instance (an isolated tenant with its own OCI endpoint)",
        params: &[
            p(
                "InstanceName",
                S,
                true,
                "2-30 lowercase letters and digits, not starting with a digit",
            ),
            p(
                "ChargeType",
                S,
                false,
                "HourlyInstantSettlement (default) or Monthly",
            ),
            p("InstanceType", S, true, "basic or premium"),
            p(
                "PurchaseTime",
                I,
                false,
                "Months; required when ChargeType is Monthly",
            ),
            p("ProjectId", S, false, "Project id; default 0"),
        ],
        response: &[f("InstanceId", "string", "Instance id")],
        handler: handler!(instances::create),
    },
    ActionSpec {
        name: "DescribeInstance",
        group: "Instances",
        summary: "Lists instances",
        params: &[
            p(
                "InstanceId.N",
                S,
                false,
                "Instance ids; all instances when absent",
            ),
            MARKER,
            MAX_RESULTS,
            p("ProjectId.N", S, false, "Project ids"),
            p("InstanceName", S, false, "Exact instance name"),
        ],
        response: &[
            PAGE[0],
            PAGE[1],
            PAGE[2],
            f(
                "InstanceSet",
                "array",
                "Instances: InstanceId, InstanceName, InstanceType, InstanceStatus, InternalEndpoint, CreateTime, ExpiredTime, ChargeType, ProjectId",
            ),
        ],
        handler: handler!(instances::describe),
    },
    ActionSpec {
        name: "DescribeInstanceUsage",
        group: "Instances",
        summary: "Quota usage of an instance",
        params: &[INSTANCE_ID],
        response: &[
            f("NamespaceQuota", "integer", "Namespace quota"),
            f("NamespaceUsage", "integer", "Namespaces created"),
            f("RepoQuota", "integer", "Repository quota"),
            f("RepoUsage", "integer", "Repositories created"),
        ],
        handler: handler!(instances::usage),
    },
    ActionSpec {
        name: "DeleteInstance",
        group: "Instances",
        summary: "Deletes an instance and its content",
        params: &[
            INSTANCE_ID,
            p(
                "DeleteBucket",
                B,
                false,
                "Also delete the instance's blobs at once; default False",
            ),
        ],
        response: &[],
        handler: handler!(instances::delete),
    },
    ActionSpec {
        name: "CreateInstanceToken",
        group: "Access credentials",
        summary: "Creates a registry login (username and token) for an instance",
        params: &[
            INSTANCE_ID,
            p("TokenType", S, true, "Hour, Day or NeverExpire"),
            p(
                "TokenTime",
                I,
                true,
                "Hours or days until expiry (ignored for NeverExpire)",
            ),
            p("Desc", S, false, "Description, at most 256 bytes"),
        ],
        response: &[
            f("Username", "string", "Login user name"),
            f("Token", "string", "Login password; shown once"),
            f("TokenId", "string", "Token id"),
            f("ExpireTime", "string", "Expiry time, or null"),
        ],
        handler: handler!(tokens::create),
    },
    ActionSpec {
        name: "ModifyInstanceTokenStatus",
        group: "Access credentials",
        summary: "Enables or disables a token",
        params: &[
            INSTANCE_ID,
            p("TokenId", S, true, "Token id"),
            p("Enable", B, true, "True or False"),
        ],
        response: &[],
        handler: handler!(tokens::modify_status),
    },
    ActionSpec {
        name: "ModifyInstanceTokenInformation",
        group: "Access credentials",
        summary: "Changes a token's expiry or description",
        params: &[
            INSTANCE_ID,
            p("TokenId", S, true, "Token id"),
            p("TokenType", S, false, "Hour, Day or NeverExpire"),
            p("TokenTime", I, false, "Hours or days from now"),
            p("Desc", S, false, "Description, at most 256 bytes"),
        ],
        response: &[],
        handler: handler!(tokens::modify_information),
    },
    ActionSpec {
        name: "DescribeInstanceToken",
        group: "Access credentials",
        summary: "Lists an instance's tokens",
        params: &[INSTANCE_ID, MARKER, MAX_RESULTS],
        response: &[
            PAGE[0],
            PAGE[1],
            PAGE[2],
            f(
                "TokenSet",
                "array",
                "Tokens: TokenId, Enable, Desc, CreateTime, ExpireTime",
            ),
        ],
        handler: handler!(tokens::describe),
    },
    ActionSpec {
        name: "DeleteInstanceToken",
        group: "Access credentials",
        summary: "Deletes a token",
        params: &[INSTANCE_ID, p("TokenId", S, true, "Token id")],
        response: &[],
        handler: handler!(tokens::delete),
    },
    ActionSpec {
        name: "CreateInternalEndpoint",
        group: "Private network access",
        summary: "Allows a VPC subnet to reach the instance (and restricts the instance to allowed networks)",
        params: &[
            INSTANCE_ID,
            p("VpcId", S, true, "VPC id"),
            p("ReserveSubnetId", S, true, "Subnet id (configured) or CIDR"),
        ],
        response: &[],
        handler: handler!(endpoints::create),
    },
    ActionSpec {
        name: "DescribeInternalEndpoint",
        group: "Private network access",
        summary: "Lists an instance's internal endpoints",
        params: &[INSTANCE_ID],
        response: &[
            f("TotalCount", "integer", "Number of endpoints"),
            f(
                "AccessVpcSet",
                "array",
                "Endpoints: VpcId, SubnetId, Status, EniLBIp",
            ),
        ],
        handler: handler!(endpoints::describe),
    },
    ActionSpec {
        name: "DeleteInternalEndpoint",
        group: "Private network access",
        summary: "Removes an internal endpoint",
        params: &[
            INSTANCE_ID,
            p("VpcId", S, true, "VPC id"),
            p("EniLBIp", S, true, "The endpoint's address"),
        ],
        response: &[],
        handler: handler!(endpoints::delete),
    },
    ActionSpec {
        name: "CreateInternalEndpointDns",
        group: "Private network access",
        summary: "Publishes the instance's private domain for an endpoint (served as a zone file)",
        params: &[
            INSTANCE_ID,
            p("VpcId", S, true, "VPC id"),
            p("EniLBIp", S, true, "The endpoint's address"),
            p("InternalEndpointDns", S, true, "PrivateDomain"),
        ],
        response: &[],
        handler: handler!(endpoints::create_dns),
    },
    ActionSpec {
        name: "DescribeInternalEndpointDns",
        group: "Private network access",
        summary: "Lists an endpoint's private DNS records",
        params: &[
            INSTANCE_ID,
            p("VpcId", S, true, "VPC id"),
            p("EniLBIp", S, true, "The endpoint's address"),
            p(
                "InternalEndpointDns",
                S,
                false,
                "PrivateDomain; all when absent",
            ),
        ],
        response: &[f(
            "InternalEndpointDnsSet",
            "array",
            "Records: InternalEndpointDns, Status (Opening, Running, Error, Closed)",
        )],
        handler: handler!(endpoints::describe_dns),
    },
    ActionSpec {
        name: "DeleteInternalEndpointDns",
        group: "Private network access",
        summary: "Removes an endpoint's private DNS record",
        params: &[
            INSTANCE_ID,
            p("VpcId", S, true, "VPC id"),
            p("EniLBIp", S, true, "The endpoint's address"),
            p("InternalEndpointDns", S, true, "PrivateDomain"),
        ],
        response: &[],
        handler: handler!(endpoints::delete_dns),
    },
    ActionSpec {
        name: "CreateNamespace",
        group: "Namespaces",
        summary: "Creates a namespace",
        params: &[
            INSTANCE_ID,
            p(
                "Namespace",
                S,
                true,
                "2-63 lowercase letters and digits, not starting with a digit",
            ),
            p(
                "Public",
                B,
                true,
                "True: anonymous pull; False: a token is required",
            ),
        ],
        response: &[],
        handler: handler!(namespaces::create),
    },
    ActionSpec {
        name: "DescribeNamespace",
        group: "Namespaces",
        summary: "Lists namespaces",
        params: &[
            INSTANCE_ID,
            p("Namespace", S, false, "Exact namespace name"),
            p(
                "Public",
                B,
                false,
                "Only public (True) or private (False) namespaces",
            ),
            MAX_RESULTS,
            MARKER,
        ],
        response: &[
            PAGE[1],
            PAGE[2],
            PAGE[0],
            f(
                "NamespaceSet",
                "array",
                "Namespaces: Namespace, Public, RepoCount, CreateTime",
            ),
        ],
        handler: handler!(namespaces::describe),
    },
    ActionSpec {
        name: "ModifyNamespaceType",
        group: "Namespaces",
        summary: "Makes a namespace public or private",
        params: &[
            INSTANCE_ID,
            NAMESPACE,
            p("Public", B, true, "True or False"),
        ],
        response: &[],
        handler: handler!(namespaces::modify_type),
    },
    ActionSpec {
        name: "DescribeNamespaceExist",
        group: "Namespaces",
        summary: "Whether a namespace exists",
        params: &[INSTANCE_ID, NAMESPACE],
        response: &[f("Exist", "boolean", "Whether it exists")],
        handler: handler!(namespaces::exist),
    },
    ActionSpec {
        name: "DeleteNamespace",
        group: "Namespaces",
        summary: "Deletes an empty namespace",
        params: &[INSTANCE_ID, NAMESPACE],
        response: &[],
        handler: handler!(namespaces::delete),
    },
    ActionSpec {
        name: "DescribeRepository",
        group: "Repositories",
        summary: "Lists a namespace's repositories",
        params: &[
            INSTANCE_ID,
            NAMESPACE,
            p(
                "RepoName.N",
                S,
                false,
                "Repository names (without the namespace)",
            ),
            MAX_RESULTS,
            MARKER,
        ],
        response: &[
            PAGE[1],
            PAGE[2],
            PAGE[0],
            f(
                "RepoSet",
                "array",
                "Repositories: RepoName, Public, CreateTime, UpdateTime, Desc; berth extension: TagImmutable (boolean)",
            ),
        ],
        handler: handler!(repositories::describe),
    },
    ActionSpec {
        name: "DeleteRepository",
        group: "Repositories",
        summary: "Deletes a repository with its images and tags",
        params: &[INSTANCE_ID, NAMESPACE, REPO_NAME],
        response: &[],
        handler: handler!(repositories::delete),
    },
    ActionSpec {
        name: "ModifyRepoDesc",
        group: "Repositories",
        summary: "Sets a repository's description",
        params: &[
            INSTANCE_ID,
            NAMESPACE,
            REPO_NAME,
            p("Desc", S, true, "Description, at most 256 characters"),
        ],
        response: &[],
        handler: handler!(repositories::modify_desc),
    },
    ActionSpec {
        name: "ModifyRepoTagImmutability",
        group: "Repositories",
        summary: "berth extension: makes a repository's tags immutable (a pushed tag can then be neither moved to another image nor deleted, nor the image it names) or mutable again",
        params: &[
            INSTANCE_ID,
            NAMESPACE,
            REPO_NAME,
            p(
                "TagImmutable",
                B,
                true,
                "True: tags cannot be moved or deleted; False: they can",
            ),
        ],
        response: &[],
        handler: handler!(repositories::modify_tag_immutability),
    },
    ActionSpec {
        name: "DescribeImages",
        group: "Repositories",
        summary: "Lists a repository's images",
        params: &[
            INSTANCE_ID,
            NAMESPACE,
            REPO_NAME,
            p("ImageId", S, false, "Only this image (digest)"),
            MAX_RESULTS,
            MARKER,
        ],
        response: &[
            PAGE[1],
            PAGE[2],
            PAGE[0],
            f(
                "ImageSet",
                "array",
                "Images: ImageId, Size, CreateTime, TagNames",
            ),
        ],
        handler: handler!(repositories::describe_images),
    },
    ActionSpec {
        name: "DeleteImages",
        group: "Repositories",
        summary: "Deletes an image (manifest) and its tags",
        params: &[INSTANCE_ID, NAMESPACE, REPO_NAME, IMAGE_ID],
        response: &[],
        handler: handler!(repositories::delete_image),
    },
    ActionSpec {
        name: "DeleteRepoTag",
        group: "Repositories",
        summary: "Deletes a tag",
        params: &[
            INSTANCE_ID,
            NAMESPACE,
            REPO_NAME,
            p("TagName", S, true, "Tag"),
        ],
        response: &[],
        handler: handler!(repositories::delete_tag),
    },
    ActionSpec {
        name: "StartImageScan",
        group: "Image scans",
        summary: "Queues a security scan of an image",
        params: &[INSTANCE_ID, NAMESPACE, REPO_NAME, IMAGE_ID],
        response: &[],
        handler: handler!(scans::start),
    },
    ActionSpec {
        name: "DescribeImageScan",
        group: "Image scans",
        summary: "The latest scan of an image",
        params: &[INSTANCE_ID, NAMESPACE, REPO_NAME, IMAGE_ID],
        response: &[
            f("Status", "string", "Queued, Scanning, Success or Failed"),
            f("TotalCount", "integer", "Number of vulnerabilities"),
            f("FinishTime", "string", "When the scan finished"),
            f(
                "Summary",
                "object",
                "High, Medium, Low, Negligible, Unknown counts",
            ),
            f(
                "VulnerabilitySet",
                "array",
                "CveName, CveLink, Description, Severity, Feature, CurrentVersion, RepairedVersion",
            ),
        ],
        handler: handler!(scans::describe),
    },
    ActionSpec {
        name: "CreateWebhookTrigger",
        group: "Webhook triggers",
        summary: "Creates a webhook trigger on a namespace",
        params: &[
            INSTANCE_ID,
            NAMESPACE,
            p("Trigger.TriggerName", S, true, "Name"),
            p(
                "Trigger.EventType.N",
                S,
                true,
                "PushImage, DeleteImage, AdmissionBlock, AdmissionAlarm",
            ),
            p("Trigger.TriggerUrl", S, true, "http(s) URL"),
            p("Trigger.Header.N.Key", S, false, "Custom header name"),
            p("Trigger.Header.N.Value.N", S, false, "Custom header values"),
            p("Trigger.Enabled", B, false, "Default True"),
        ],
        response: &[
            f("TriggerId", "integer", "Trigger id"),
            f(
                "Secret",
                "string",
                "berth extension: the HMAC key of X-Berth-Signature, shown only here",
            ),
        ],
        handler: handler!(webhooks::create),
    },
    ActionSpec {
        name: "DescribeWebhookTrigger",
        group: "Webhook triggers",
        summary: "Lists a namespace's triggers",
        params: &[
            INSTANCE_ID,
            NAMESPACE,
            p("TriggerId", I, false, "Only this trigger"),
            MARKER,
            MAX_RESULTS_10,
        ],
        response: &[
            PAGE[1],
            PAGE[2],
            PAGE[0],
            f(
                "TriggerSet",
                "array",
                "TriggerId, TriggerName, EventType, TriggerUrl, Header, Enabled, CreateTime, UpdateTime",
            ),
        ],
        handler: handler!(webhooks::describe),
    },
    ActionSpec {
        name: "ModifyWebhookTrigger",
        group: "Webhook triggers",
        summary: "Changes a trigger",
        params: &[
            INSTANCE_ID,
            NAMESPACE,
            p("Trigger.TriggerId", I, true, "Trigger id"),
            p("Trigger.TriggerName", S, false, "Name"),
            p(
                "Trigger.EventType.N",
                S,
                false,
                "PushImage, DeleteImage, AdmissionBlock, AdmissionAlarm",
            ),
            p("Trigger.TriggerUrl", S, false, "http(s) URL"),
            p("Trigger.Header.N.Key", S, false, "Custom header name"),
            p("Trigger.Header.N.Value.N", S, false, "Custom header values"),
            p("Trigger.Enabled", B, false, "True or False"),
        ],
        response: &[],
        handler: handler!(webhooks::modify),
    },
    ActionSpec {
        name: "DescribeWebhookTriggerLog",
        group: "Webhook triggers",
        summary: "Lists a trigger's delivery attempts",
        params: &[
            INSTANCE_ID,
            NAMESPACE,
            p("TriggerId", I, true, "Trigger id"),
            MARKER,
            MAX_RESULTS_10,
        ],
        response: &[
            PAGE[1],
            PAGE[2],
            PAGE[0],
            f(
                "Logs",
                "array",
                "LogId, TriggerId, EventType, Namespace, TriggerUrl, CreateTime, Status (Success or Failed); berth extensions: Attempt, StatusCode, Response",
            ),
        ],
        handler: handler!(webhooks::describe_log),
    },
    ActionSpec {
        name: "DeleteWebhookTrigger",
        group: "Webhook triggers",
        summary: "Deletes a trigger",
        params: &[
            INSTANCE_ID,
            NAMESPACE,
            p("TriggerId", I, true, "Trigger id"),
        ],
        response: &[],
        handler: handler!(webhooks::delete),
    },
    ActionSpec {
        name: "CreateApiToken",
        group: "API tokens",
        summary: "berth extension: creates an API token (a bearer credential for berth's own APIs, such as the vulnerability export); the token is in this reply only. Admin keys only",
        params: &[
            p("Name", S, true, "Unique name, 1 to 128 bytes"),
            p(
                "Role",
                S,
                false,
                "admin, read-only, continuous-integration or none; default read-only (admin and read-only may export)",
            ),
            p(
                "TtlSeconds",
                I,
                false,
                "Seconds until it expires, 1 to 315360000; default never",
            ),
        ],
        response: &[
            f("TokenId", "string", "Token id (at-...)"),
            f("Name", "string", "Name"),
            f("Role", "string", "Role"),
            f("Token", "string", "The token (bat_...), shown once"),
            f("CreateTime", "string", "Creation time"),
            f("ExpireTime", "string", "Expiry time, null for never"),
            f("RevokeTime", "string", "Always null"),
            f("Status", "string", "Valid"),
        ],
        handler: handler!(api_tokens::create),
    },
    ActionSpec {
        name: "DescribeApiTokens",
        group: "API tokens",
        summary: "berth extension: lists API tokens, revoked and expired ones included (never the tokens themselves). Admin keys only",
        params: &[MAX_RESULTS, MARKER],
        response: &[
            PAGE[1],
            PAGE[2],
            PAGE[0],
            f(
                "TokenSet",
                "array",
                "TokenId, Name, Role, CreateTime, ExpireTime, RevokeTime, Status (Valid, Expired or Revoked)",
            ),
        ],
        handler: handler!(api_tokens::describe),
    },
    ActionSpec {
        name: "DeleteApiToken",
        group: "API tokens",
        summary: "berth extension: revokes an API token at once; its record stays listed as Revoked. Admin keys only",
        params: &[p("TokenId", S, true, "Token id (at-...)")],
        response: &[],
        handler: handler!(api_tokens::delete),
    },
];

/// Describe actions a read-only key may not call: API tokens say which credentials read the
/// whole inventory, which is for administrators to know.
const ADMIN_ONLY_DESCRIBES: &[&str] = &["DescribeApiTokens"];

pub fn find(action: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|a| a.name == action)
}

impl ActionSpec {
    /// Whether the action takes a parameter of this pattern (`pattern_of` form).
    pub fn takes(&self, pattern: &str) -> bool {
        COMMON.contains(&pattern) || self.params.iter().any(|p| p.name == pattern)
    }

    /// The central parameter check, before the handler runs: every parameter is one the action
    /// takes, every required one is present and non-empty (`MissingParameter`), and every
    /// Integer or Boolean one parses (`InvalidParameterValue`), in table order, so handlers read
    /// typed values that are known to be there and well-formed.
    pub fn check(&self, params: &Params) -> KcrResult<()> {
        for key in params.keys() {
            if !self.takes(&pattern_of(key)) {
                return Err(KcrError::invalid_query_parameter(key));
            }
        }
        for param in self
            .params
            .iter()
            .filter(|p| p.required && !p.name.contains(".N"))
        {
            params.required(param.name)?;
        }
        for key in params.keys() {
            let pattern = pattern_of(key);
            match self.params.iter().find(|p| p.name == pattern).map(|p| p.ty) {
                Some(Type::Integer) => {
                    params.int(key)?;
                }
                Some(Type::Boolean) => {
                    params.bool(key)?;
                }
                Some(Type::String) | None => {}
            }
        }
        Ok(())
    }

    /// Read-only actions: the ones an access key limited to reading may call.
    pub fn is_read_only(&self) -> bool {
        self.name.starts_with("Describe") && !ADMIN_ONLY_DESCRIBES.contains(&self.name)
    }
}

#[cfg(test)]
mod tests {
    /// The seed's 33 and berth's four extensions (ModifyRepoTagImmutability, CreateApiToken,
    /// DescribeApiTokens, DeleteApiToken).
    #[test]
    fn thirty_seven_actions_each_once() {
        let mut names: Vec<&str> = super::ACTIONS.iter().map(|a| a.name).collect();
        assert_eq!(names.len(), 37);
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 37);
    }

    #[test]
    fn read_only_keys_may_not_list_api_tokens() {
        let describe = |n| super::find(n).unwrap().is_read_only();
        assert!(describe("DescribeRepository"));
        assert!(!describe("DescribeApiTokens"));
        assert!(!describe("CreateApiToken"));
    }

    /// The central check, on DescribeRepository (InstanceId and Namespace required; Marker an
    /// Integer) and ModifyRepoTagImmutability (TagImmutable a required Boolean).
    #[test]
    fn parameters_are_checked_once_from_the_table() {
        let params = |pairs: &[(&str, &str)]| {
            super::Params::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        };
        let code = |action: &str, pairs: &[(&str, &str)]| -> Option<&'static str> {
            let spec = super::find(action)?;
            let p = params(pairs).ok()?;
            spec.check(&p).err().map(|e| e.code)
        };
        let describe = [("InstanceId", "i"), ("Namespace", "ns")];
        assert_eq!(code("DescribeRepository", &describe), None);
        assert_eq!(
            code("DescribeRepository", &[("InstanceId", "i")]),
            Some("MissingParameter")
        );
        assert_eq!(
            code(
                "DescribeRepository",
                &[("InstanceId", "i"), ("Namespace", "")]
            ),
            Some("MissingParameter"),
            "empty is missing"
        );
        let mut bad_marker = describe.to_vec();
        bad_marker.push(("Marker", "ten"));
        assert_eq!(
            code("DescribeRepository", &bad_marker),
            Some("InvalidParameterValue")
        );
        let mut unknown = describe.to_vec();
        unknown.push(("Bogus", "1"));
        assert_eq!(
            code("DescribeRepository", &unknown),
            Some("InvalidQueryParameter")
        );
        let immutability = |v: &'static str| {
            vec![
                ("InstanceId", "i"),
                ("Namespace", "ns"),
                ("RepoName", "r"),
                ("TagImmutable", v),
            ]
        };
        assert_eq!(
            code("ModifyRepoTagImmutability", &immutability("TRUE")),
            None
        );
        assert_eq!(
            code("ModifyRepoTagImmutability", &immutability("yes")),
            Some("InvalidParameterValue")
        );
    }
}
