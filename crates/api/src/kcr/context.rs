//! What every management action handler shares: the request context, the reply type, and the
//! seed's formats for times and paged lists.
use berth_store::{Instance, Namespace};
use serde_json::{Map, Value, json};

use super::error::{KcrError, KcrResult};
use crate::state::App;
use berth_kcr::params::{self, Params};

pub const API_VERSION: &str = "2021-11-09";
/// The service name in SigV4 credential scopes.
pub const SERVICE: &str = "kcrs";

/// What a handler returns: the response fields besides `RequestId`.
pub type Reply = Map<String, Value>;

/// One management request, authenticated and parsed.
pub struct Ctx {
    pub app: App,
    pub params: Params,
    /// The access key id that signed the request.
    pub caller: String,
    pub request_id: String,
}

impl Ctx {
    /// The instance named by the required `InstanceId`.
    pub async fn instance(&self) -> KcrResult<Instance> {
        let id = self.params.required("InstanceId")?;
        match self.app.meta.get_instance(id).await? {
            Some(i) if i.status != berth_store::InstanceStatus::Deleting => Ok(i),
            _ => Err(KcrError::not_found("InstanceId", "The instance")),
        }
    }

    /// The namespace named by the required `Namespace`, in `instance`.
    pub async fn namespace(&self, instance: &Instance) -> KcrResult<Namespace> {
        let name = self.params.required("Namespace")?;
        self.app
            .meta
            .get_namespace(&instance.id, name)
            .await?
            .ok_or_else(|| KcrError::not_found("Namespace", "The namespace"))
    }
}

/// Times as the seed writes them: `2022-06-20 16:02:09` (UTC).
pub fn time(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

pub fn opt_time(millis: Option<i64>) -> Value {
    millis.map_or(Value::Null, |m| Value::String(time(m)))
}

/// A paged list reply: `TotalCount`, `MaxResults`, `Marker` and the items under `set`.
pub fn page(paging: params::Paging, total: u64, set: &str, items: Vec<Value>) -> Reply {
    let mut reply = Reply::new();
    reply.insert("TotalCount".into(), json!(total));
    reply.insert("MaxResults".into(), json!(paging.max_results));
    reply.insert("Marker".into(), json!(paging.next_marker(total)));
    reply.insert(set.into(), Value::Array(items));
    reply
}
