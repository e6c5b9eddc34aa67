//! The fields a query may name: a label (matched case-insensitively) and a kind, which decides
//! how a value is parsed and what the document must give for it.

/// How a field's query values are parsed and which [`crate::Value`] the document gives for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text: prefix, `"exact"`, `r/regex`, `!` negation. Values: [`crate::Value::Str`].
    String,
    /// A number: comparators and exclusive ranges. Values: [`crate::Value::Num`].
    Number,
    /// A point in time: dates, day durations, comparators, ranges. Values: [`crate::Value::Time`].
    Time,
    /// A proto enum: the variant names in ordinal order (index = ordinal). Values:
    /// [`crate::Value::Enum`] with that index.
    Enum(&'static [&'static str]),
    /// A boolean. Values: [`crate::Value::Bool`].
    Bool,
    /// A string→string map (labels, annotations): `key=value` forms. Values:
    /// [`crate::Value::Map`], one per map.
    Map,
    /// A UUID (StackRox's uuid columns: exact match, not prefix). Values: [`crate::Value::Str`].
    Uuid,
}

/// A field's position in its [`Schema`]; what [`crate::Fields::values`] is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u16);

/// One known field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub label: &'static str,
    pub kind: Kind,
}

/// The set of known fields. Labels are matched ASCII-case-insensitively after trimming, as
/// StackRox lowercases labels; a label the schema does not know is ignored by the parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    fields: Vec<Field>,
}

impl Schema {
    /// A schema of these fields; the `n`th gets `FieldId(n)`. Fields past `u16::MAX` are dropped
    /// (no real schema comes near).
    pub fn new(fields: impl IntoIterator<Item = Field>) -> Self {
        Schema {
            fields: fields.into_iter().take(usize::from(u16::MAX)).collect(),
        }
    }

    /// The field with this label, case-insensitively.
    pub fn lookup(&self, label: &str) -> Option<FieldId> {
        let label = label.trim();
        self.fields
            .iter()
            .position(|f| f.label.eq_ignore_ascii_case(label))
            .and_then(|i| u16::try_from(i).ok())
            .map(FieldId)
    }

    pub fn field(&self, id: FieldId) -> Option<&Field> {
        self.fields.get(usize::from(id.0))
    }

    pub fn fields(&self) -> impl Iterator<Item = (FieldId, &Field)> {
        self.fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| u16::try_from(i).ok().map(|i| (FieldId(i), f)))
    }
}

/// storage.VulnerabilitySeverity, in proto number order.
pub const SEVERITIES: &[&str] = &[
    "UNKNOWN_VULNERABILITY_SEVERITY",
    "LOW_VULNERABILITY_SEVERITY",
    "MODERATE_VULNERABILITY_SEVERITY",
    "IMPORTANT_VULNERABILITY_SEVERITY",
    "CRITICAL_VULNERABILITY_SEVERITY",
];

/// storage.SourceType (an image component's source), in proto number order.
pub const SOURCE_TYPES: &[&str] = &[
    "OS",
    "PYTHON",
    "JAVA",
    "RUBY",
    "NODEJS",
    "GO",
    "DOTNETCORERUNTIME",
    "INFRASTRUCTURE",
];

/// The field ids of [`stackrox_workload_schema`], for a [`crate::Fields`] implementation to
/// `match` on.
pub mod workload {
    use super::FieldId;

    pub const DEPLOYMENT: FieldId = FieldId(0);
    pub const NAMESPACE: FieldId = FieldId(1);
    pub const NAMESPACE_ID: FieldId = FieldId(2);
    pub const CLUSTER: FieldId = FieldId(3);
    pub const CLUSTER_ID: FieldId = FieldId(4);
    pub const DEPLOYMENT_LABEL: FieldId = FieldId(5);
    pub const DEPLOYMENT_ANNOTATION: FieldId = FieldId(6);
    pub const POD_LABEL: FieldId = FieldId(7);
    pub const DEPLOYMENT_TYPE: FieldId = FieldId(8);
    pub const SERVICE_ACCOUNT: FieldId = FieldId(9);
    pub const IMAGE: FieldId = FieldId(10);
    pub const IMAGE_REGISTRY: FieldId = FieldId(11);
    pub const IMAGE_REMOTE: FieldId = FieldId(12);
    pub const IMAGE_TAG: FieldId = FieldId(13);
    pub const IMAGE_SHA: FieldId = FieldId(14);
    pub const IMAGE_OS: FieldId = FieldId(15);
    pub const IMAGE_SCAN_TIME: FieldId = FieldId(16);
    pub const IMAGE_TOP_CVSS: FieldId = FieldId(17);
    pub const IMAGE_CREATED_TIME: FieldId = FieldId(18);
    pub const IMAGE_LABEL: FieldId = FieldId(19);
    pub const IMAGE_USER: FieldId = FieldId(20);
    pub const COMPONENT: FieldId = FieldId(21);
    pub const COMPONENT_VERSION: FieldId = FieldId(22);
    pub const COMPONENT_SOURCE: FieldId = FieldId(23);
    pub const OPERATING_SYSTEM: FieldId = FieldId(24);
    pub const CVE: FieldId = FieldId(25);
    pub const CVSS: FieldId = FieldId(26);
    pub const SEVERITY: FieldId = FieldId(27);
    pub const FIXABLE: FieldId = FieldId(28);
    pub const CVE_PUBLISHED_ON: FieldId = FieldId(29);
}

/// The fields of StackRox's deployment/image/component/CVE search that the vuln-mgmt workload
/// export (`GET /v1/export/vuln-mgmt/workloads?query=`) filters on, with the kinds StackRox's
/// Postgres schema gives them (`Cluster ID`/`Namespace ID` are uuid columns there). The order
/// is that of the [`workload`] ids.
pub fn stackrox_workload_schema() -> Schema {
    use Kind::*;
    let fields: [(&'static str, Kind); 30] = [
        ("Deployment", String),
        ("Namespace", String),
        ("Namespace ID", Uuid),
        ("Cluster", String),
        ("Cluster ID", Uuid),
        ("Deployment Label", Map),
        ("Deployment Annotation", Map),
        ("Pod Label", Map),
        ("Deployment Type", String),
        ("Service Account", String),
        ("Image", String),
        ("Image Registry", String),
        ("Image Remote", String),
        ("Image Tag", String),
        ("Image Sha", String),
        ("Image OS", String),
        ("Image Scan Time", Time),
        ("Image Top CVSS", Number),
        ("Image Created Time", Time),
        ("Image Label", Map),
        ("Image User", String),
        ("Component", String),
        ("Component Version", String),
        ("Component Source", Enum(SOURCE_TYPES)),
        ("Operating System", String),
        ("CVE", String),
        ("CVSS", Number),
        ("Severity", Enum(SEVERITIES)),
        ("Fixable", Bool),
        ("CVE Published On", Time),
    ];
    Schema::new(
        fields
            .into_iter()
            .map(|(label, kind)| Field { label, kind }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_ids_name_their_labels() {
        let s = stackrox_workload_schema();
        let pairs = [
            (workload::DEPLOYMENT, "Deployment"),
            (workload::NAMESPACE_ID, "Namespace ID"),
            (workload::CLUSTER_ID, "Cluster ID"),
            (workload::POD_LABEL, "Pod Label"),
            (workload::IMAGE_SHA, "Image Sha"),
            (workload::IMAGE_LABEL, "Image Label"),
            (workload::COMPONENT_SOURCE, "Component Source"),
            (workload::OPERATING_SYSTEM, "Operating System"),
            (workload::SEVERITY, "Severity"),
            (workload::CVE_PUBLISHED_ON, "CVE Published On"),
        ];
        for (id, label) in pairs {
            assert_eq!(s.lookup(label), Some(id), "{label}");
        }
        assert_eq!(s.fields().count(), 30);
    }

    #[test]
    fn labels_are_case_insensitive() {
        let s = stackrox_workload_schema();
        assert_eq!(s.lookup("image top cvss"), Some(workload::IMAGE_TOP_CVSS));
        assert_eq!(s.lookup(" CVE "), Some(workload::CVE));
        assert_eq!(s.lookup("Deployments"), None);
    }
}
