//! Cluster-protection policies: the vendor's model ([`model`]), what a decision is about
//! ([`subject`]), exceptions, berth's templates, and the evaluation ([`evaluate`], whose module
//! states the one combination rule). The severity scale is in [`severity`].
pub mod evaluate;
pub mod exception;
pub mod matching;
pub mod model;
pub mod openvex;
pub mod severity;
pub mod subject;
pub mod templates;

pub use evaluate::{Allowed, Decision, MAX_REASONS, Reason, Verdict, evaluate};
pub use exception::{Exception, ExceptionScope, applies};
pub use model::{Action, Policy, PolicyContent, PolicyError, PolicyType, ProtectScope, WhiteImage};
pub use severity::{RiskLevel, Severity};
pub use subject::{BaselineFinding, Finding, ImageFindings, ImageRef, Malware, Subject, Vuln};
pub use templates::{RUN_AS_ROOT, SECRET_IN_LAYER, Template, template, templates};
