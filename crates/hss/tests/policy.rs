//! Every rule of the combination rule (`policy::evaluate`), scopes, white lists, exceptions,
//! templates, and the refusal of unknown enum values.
use std::collections::BTreeMap;
use std::error::Error;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_hss::policy::{
    self, Action, Allowed, BaselineFinding, Decision, Exception, ExceptionScope, Finding,
    ImageFindings, ImageRef, MAX_REASONS, Malware, Policy, PolicyContent, PolicyType, ProtectScope,
    Reason, RiskLevel, Severity, Subject, Verdict, Vuln, WhiteImage,
};
use serde_json::json;

type TestResult = Result<(), Box<dyn Error>>;

const NOW: u64 = 1_704_164_645;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn subject() -> Subject {
    Subject {
        cluster_id: "c1".into(),
        namespace: "prod".into(),
        labels: BTreeMap::from([
            ("app".into(), "web".into()),
            ("tier".into(), "front".into()),
        ]),
        image: ImageRef {
            registry: "reg.example:5000".into(),
            repository: "team/web".into(),
            tag: Some("1.2".into()),
            digest: Some("sha256:abc".into()),
        },
        kind: "Deployment".into(),
        name: "web".into(),
    }
}

fn vuln(id: &str, severity: Severity, fixed: Option<&str>) -> Vuln {
    Vuln {
        id: id.into(),
        severity,
        package: "openssl".into(),
        installed_version: "1.0".into(),
        fixed_version: fixed.map(str::to_string),
    }
}

fn malware(name: &str, family: Option<&str>) -> Malware {
    Malware {
        name: name.into(),
        family: family.map(str::to_string),
        severity: Severity::High,
        path: None,
    }
}

fn baseline(check_id: &str, severity: Severity) -> BaselineFinding {
    BaselineFinding {
        check_id: check_id.into(),
        severity,
        title: format!("check {check_id}"),
    }
}

fn findings() -> ImageFindings {
    ImageFindings {
        scanned: true,
        vulns: vec![
            vuln("CVE-2024-0001", Severity::Critical, Some("1.1")),
            vuln("CVE-2024-0002", Severity::Medium, None),
        ],
        malware: vec![],
        baseline: vec![baseline("run-as-root", Severity::High)],
    }
}

fn policy(id: &str, policy_type: PolicyType, severity: RiskLevel, action: Action) -> Policy {
    Policy {
        policy_id: id.into(),
        policy_name: format!("policy {id}"),
        template_id: String::new(),
        policy_description: String::new(),
        content: PolicyContent {
            enable_image_startup: true,
            policy_type,
            severity,
            risky_item: vec![],
            action,
            fixable_only: false,
        },
        white_image_list: vec![],
        resources: vec![],
        parameters: String::new(),
    }
}

fn block_critical() -> Policy {
    policy(
        "block",
        PolicyType::Vuls,
        RiskLevel::CRITICAL,
        Action::Block,
    )
}

fn eval(policies: &[Policy], findings: &ImageFindings) -> Decision {
    policy::evaluate(policies, &[], &subject(), findings, now())
}

fn scoped(scope: ProtectScope) -> Policy {
    let mut p = block_critical();
    p.resources = vec![scope];
    p
}

#[test]
fn no_policy_allows() {
    let d = eval(&[], &findings());
    assert_eq!(d.verdict, Verdict::Allow(Allowed::NoPolicyApplies));
}

#[test]
fn block_names_the_finding_with_its_fix() {
    let d = eval(&[block_critical()], &findings());
    assert_eq!(
        d.verdict,
        Verdict::Block(vec![Reason::Vulnerability {
            id: "CVE-2024-0001".into(),
            severity: Severity::Critical,
            package: "openssl".into(),
            fixed_version: Some("1.1".into()),
        }])
    );
    assert_eq!(d.matched_policies, ["block"]);
}

#[test]
fn scope_by_cluster_namespace_label_and_image() {
    let cases = [
        (
            ProtectScope {
                cluster_id: "c1".into(),
                ..Default::default()
            },
            true,
        ),
        (
            ProtectScope {
                cluster_id: "c2".into(),
                ..Default::default()
            },
            false,
        ),
        (
            ProtectScope {
                namespaces: vec!["dev".into(), "prod".into()],
                ..Default::default()
            },
            true,
        ),
        (
            ProtectScope {
                namespaces: vec!["dev".into()],
                ..Default::default()
            },
            false,
        ),
        (
            ProtectScope {
                labels: vec!["app=web".into()],
                ..Default::default()
            },
            true,
        ),
        (
            ProtectScope {
                labels: vec!["tier".into()],
                ..Default::default()
            },
            true,
        ),
        (
            ProtectScope {
                labels: vec!["app=db".into(), "x".into()],
                ..Default::default()
            },
            false,
        ),
        (
            ProtectScope {
                images: vec!["team/web".into()],
                ..Default::default()
            },
            true,
        ),
        (
            ProtectScope {
                images: vec!["reg.example:5000/team/web:1.2".into()],
                ..Default::default()
            },
            true,
        ),
        (
            ProtectScope {
                images: vec!["team/web@sha256:abc".into()],
                ..Default::default()
            },
            true,
        ),
        (
            ProtectScope {
                images: vec!["team/web:1.3".into()],
                ..Default::default()
            },
            false,
        ),
        (
            ProtectScope {
                images: vec!["other.example/team/web".into()],
                ..Default::default()
            },
            false,
        ),
        (
            ProtectScope {
                images: vec!["team".into()],
                ..Default::default()
            },
            false,
        ),
        // Every criterion of an entry must hold.
        (
            ProtectScope {
                cluster_id: "c1".into(),
                namespaces: vec!["dev".into()],
                ..Default::default()
            },
            false,
        ),
    ];
    for (scope, applies) in cases {
        let d = eval(&[scoped(scope.clone())], &findings());
        assert_eq!(d.is_blocked(), applies, "{scope:?}");
        if !applies {
            assert_eq!(
                d.verdict,
                Verdict::Allow(Allowed::NoPolicyApplies),
                "{scope:?}"
            );
        }
    }
    // Any entry of `resources` is enough.
    let mut p = block_critical();
    p.resources = vec![
        ProtectScope {
            cluster_id: "c2".into(),
            ..Default::default()
        },
        ProtectScope {
            namespaces: vec!["prod".into()],
            ..Default::default()
        },
    ];
    assert!(eval(&[p], &findings()).is_blocked());
}

#[test]
fn white_list_allows_in_its_cluster_and_version() {
    let cases = [
        (
            WhiteImage {
                cluster_id: "c1".into(),
                image_name: "team/web".into(),
                image_version: "1.2".into(),
            },
            true,
        ),
        (
            WhiteImage {
                cluster_id: String::new(),
                image_name: "reg.example:5000/team/web".into(),
                image_version: String::new(),
            },
            true,
        ),
        (
            WhiteImage {
                cluster_id: String::new(),
                image_name: "team/web".into(),
                image_version: "sha256:abc".into(),
            },
            true,
        ),
        (
            WhiteImage {
                cluster_id: "c2".into(),
                image_name: "team/web".into(),
                image_version: "1.2".into(),
            },
            false,
        ),
        (
            WhiteImage {
                cluster_id: "c1".into(),
                image_name: "team/web".into(),
                image_version: "1.3".into(),
            },
            false,
        ),
        (
            WhiteImage {
                cluster_id: "c1".into(),
                image_name: "team/api".into(),
                image_version: String::new(),
            },
            false,
        ),
    ];
    for (entry, listed) in cases {
        let mut p = block_critical();
        p.white_image_list = vec![entry.clone()];
        let d = eval(&[p], &findings());
        if listed {
            assert_eq!(d.verdict, Verdict::Allow(Allowed::WhiteListed), "{entry:?}");
            assert_eq!(d.matched_policies, ["block"]);
        } else {
            assert!(d.is_blocked(), "{entry:?}");
        }
    }
    // Another applicable policy's white list allows too.
    let mut other = policy(
        "alarm",
        PolicyType::Malwares,
        RiskLevel::SECURITY,
        Action::Alarm,
    );
    other.white_image_list = vec![WhiteImage {
        image_name: "team/web".into(),
        ..Default::default()
    }];
    let d = eval(&[block_critical(), other], &findings());
    assert_eq!(d.verdict, Verdict::Allow(Allowed::WhiteListed));
    // ... but not a policy that does not apply.
    let mut elsewhere = policy(
        "x",
        PolicyType::Malwares,
        RiskLevel::SECURITY,
        Action::Alarm,
    );
    elsewhere.resources = vec![ProtectScope {
        cluster_id: "c9".into(),
        ..Default::default()
    }];
    elsewhere.white_image_list = vec![WhiteImage {
        image_name: "team/web".into(),
        ..Default::default()
    }];
    assert!(eval(&[block_critical(), elsewhere], &findings()).is_blocked());
}

#[test]
fn allow_action_that_triggers_wins() {
    let mut allow = policy(
        "allow",
        PolicyType::Baselines,
        RiskLevel::SECURITY,
        Action::Allow,
    );
    allow.content.risky_item = vec!["run-as-root".into()];
    let d = eval(&[block_critical(), allow.clone()], &findings());
    assert_eq!(d.verdict, Verdict::Allow(Allowed::AllowPolicy));
    assert_eq!(d.matched_policies, ["allow"]);
    // An allow policy that does not trigger allows nothing.
    allow.content.risky_item = vec!["no-healthcheck".into()];
    assert!(eval(&[block_critical(), allow], &findings()).is_blocked());
}

#[test]
fn block_beats_alarm_and_alarm_alone_alarms() {
    let alarm = policy("alarm", PolicyType::Vuls, RiskLevel::MEDIUM, Action::Alarm);
    let d = eval(&[alarm.clone(), block_critical()], &findings());
    assert!(d.is_blocked());
    assert_eq!(d.matched_policies, ["block"]);
    let d = eval(&[alarm], &findings());
    assert_eq!(d.matched_policies, ["alarm"]);
    let Verdict::Alarm(reasons) = d.verdict else {
        panic!("not an alarm: {:?}", d.verdict);
    };
    let ids: Vec<_> = reasons
        .iter()
        .map(|r| match r {
            Reason::Vulnerability { id, .. } => id.as_str(),
            _ => "",
        })
        .collect();
    assert_eq!(ids, ["CVE-2024-0001", "CVE-2024-0002"]);
}

#[test]
fn unscanned_images_follow_enable_image_startup() {
    let unscanned = ImageFindings {
        scanned: false,
        ..findings()
    };
    let mut p = block_critical();
    let d = eval(&[p.clone()], &unscanned);
    assert_eq!(d.verdict, Verdict::Allow(Allowed::UnscannedAllowed));
    p.content.enable_image_startup = false;
    // Even an alarm policy blocks an unscanned image when it asks for a scan.
    let mut alarm = policy("alarm", PolicyType::Vuls, RiskLevel::LOW, Action::Alarm);
    alarm.content.enable_image_startup = false;
    for policies in [vec![p.clone()], vec![alarm]] {
        let d = eval(&policies, &unscanned);
        assert_eq!(d.verdict, Verdict::Block(vec![Reason::NotScanned]));
        assert_eq!(d.matched_policies.len(), 1);
    }
    // A white list still wins.
    p.white_image_list = vec![WhiteImage {
        image_name: "team/web".into(),
        ..Default::default()
    }];
    assert_eq!(
        eval(&[p], &unscanned).verdict,
        Verdict::Allow(Allowed::WhiteListed)
    );
}

#[test]
fn severity_threshold_and_risky_items() {
    let mut p = policy("p", PolicyType::Vuls, RiskLevel::HIGH, Action::Block);
    let only_medium = ImageFindings {
        vulns: vec![vuln("CVE-2024-0002", Severity::Medium, None)],
        ..findings()
    };
    assert_eq!(
        eval(&[p.clone()], &only_medium).verdict,
        Verdict::Allow(Allowed::NothingTriggered)
    );
    p.content.severity = RiskLevel::MEDIUM;
    assert!(eval(&[p.clone()], &only_medium).is_blocked());
    // Level 0 counts unknown and negligible findings too.
    let unknown = ImageFindings {
        vulns: vec![vuln("CVE-X", Severity::Unknown, None)],
        ..findings()
    };
    p.content.severity = RiskLevel::SECURITY;
    assert!(eval(&[p.clone()], &unknown).is_blocked());
    p.content.severity = RiskLevel::LOW;
    assert!(!eval(&[p.clone()], &unknown).is_blocked());
    // Named items count whatever their severity, and only they do.
    p.content.severity = RiskLevel::CRITICAL;
    p.content.risky_item = vec!["cve-2024-0002".into()];
    let d = eval(&[p.clone()], &findings());
    assert_eq!(d.reasons().len(), 1);
    p.content.risky_item = vec!["CVE-2099-9999".into()];
    assert!(!eval(&[p], &findings()).is_blocked());
}

#[test]
fn policy_types_read_their_own_findings() {
    let with_malware = ImageFindings {
        malware: vec![malware("eicar", Some("test-file"))],
        ..findings()
    };
    let mut p = policy(
        "m",
        PolicyType::Malwares,
        RiskLevel::SECURITY,
        Action::Block,
    );
    assert!(!eval(&[p.clone()], &findings()).is_blocked());
    assert!(eval(&[p.clone()], &with_malware).is_blocked());
    p.content.risky_item = vec!["TEST-FILE".into()];
    assert!(eval(&[p], &with_malware).is_blocked());
    let b = policy("b", PolicyType::Baselines, RiskLevel::HIGH, Action::Block);
    let d = eval(&[b], &findings());
    assert_eq!(d.reasons().len(), 1);
    assert!(
        matches!(&d.reasons()[0], Reason::Baseline { check_id, .. } if check_id == "run-as-root")
    );
}

#[test]
fn fixable_only_counts_vulnerabilities_with_a_fix() {
    let mut p = policy("p", PolicyType::Vuls, RiskLevel::MEDIUM, Action::Block);
    p.content.fixable_only = true;
    let d = eval(&[p], &findings());
    assert_eq!(d.reasons().len(), 1);
    let no_fix = ImageFindings {
        vulns: vec![vuln("CVE-1", Severity::Critical, Some(""))],
        ..findings()
    };
    let mut p = block_critical();
    p.content.fixable_only = true;
    assert!(!eval(&[p], &no_fix).is_blocked());
}

fn exception(scope: ExceptionScope, expires_at: i64) -> Exception {
    Exception {
        id: "e1".into(),
        scope,
        reason: "not reachable".into(),
        author: "alice".into(),
        expires_at,
    }
}

#[test]
fn exceptions_apply_in_scope_until_they_expire() {
    let later = i64::try_from(NOW).unwrap_or_default() + 60;
    let cve = || ExceptionScope {
        vulnerability_or_check: Some("CVE-2024-0001".into()),
        ..Default::default()
    };
    let in_force = exception(cve(), later);
    let d = policy::evaluate(
        &[block_critical()],
        &[in_force],
        &subject(),
        &findings(),
        now(),
    );
    assert_eq!(d.verdict, Verdict::Allow(Allowed::NothingTriggered));
    assert_eq!(d.exceptions_applied, ["e1"]);

    let expired = exception(cve(), later - 60);
    let d = policy::evaluate(
        &[block_critical()],
        &[expired],
        &subject(),
        &findings(),
        now(),
    );
    assert!(d.is_blocked());
    assert!(d.exceptions_applied.is_empty());

    let scopes = [
        (
            ExceptionScope {
                namespace: Some("dev".into()),
                ..cve()
            },
            false,
        ),
        (
            ExceptionScope {
                cluster_id: Some("c1".into()),
                namespace: Some("prod".into()),
                ..cve()
            },
            true,
        ),
        (
            ExceptionScope {
                image_or_repository: Some("team/web:1.2".into()),
                ..cve()
            },
            true,
        ),
        (
            ExceptionScope {
                image_or_repository: Some("team/web:1.3".into()),
                ..cve()
            },
            false,
        ),
        (
            ExceptionScope {
                package: Some("openssl".into()),
                ..cve()
            },
            true,
        ),
        (
            ExceptionScope {
                package: Some("zlib".into()),
                ..cve()
            },
            false,
        ),
        (
            ExceptionScope {
                vulnerability_or_check: Some("CVE-2024-9".into()),
                ..Default::default()
            },
            false,
        ),
        // An empty scope never applies.
        (ExceptionScope::default(), false),
    ];
    let s = subject();
    let f = findings();
    let finding = Finding::Vuln(&f.vulns[0]);
    for (scope, applies) in scopes {
        let e = exception(scope.clone(), later);
        assert_eq!(
            policy::applies(&e, &s, finding, now()),
            applies,
            "{scope:?}"
        );
    }
    // A package-scoped exception covers no baseline finding.
    let e = exception(
        ExceptionScope {
            package: Some("openssl".into()),
            ..Default::default()
        },
        later,
    );
    assert!(!e.applies(&s, Finding::Baseline(&f.baseline[0]), now()));
    let e = exception(
        ExceptionScope {
            vulnerability_or_check: Some("run-as-root".into()),
            ..Default::default()
        },
        later,
    );
    assert!(e.applies(&s, Finding::Baseline(&f.baseline[0]), now()));
}

#[test]
fn reasons_are_ordered_by_severity_and_capped() {
    let many = ImageFindings {
        scanned: true,
        vulns: vec![
            vuln("CVE-3", Severity::Low, None),
            vuln("CVE-1", Severity::High, Some("2")),
            vuln("CVE-2", Severity::Critical, None),
            vuln("CVE-0", Severity::High, None),
            vuln("CVE-4", Severity::Medium, None),
        ],
        malware: vec![malware("miner", None)],
        baseline: vec![
            baseline("run-as-root", Severity::High),
            baseline("a", Severity::Low),
        ],
    };
    let policies = [
        policy("v", PolicyType::Vuls, RiskLevel::SECURITY, Action::Block),
        policy("v2", PolicyType::Vuls, RiskLevel::SECURITY, Action::Block),
        policy(
            "m",
            PolicyType::Malwares,
            RiskLevel::SECURITY,
            Action::Block,
        ),
        policy(
            "b",
            PolicyType::Baselines,
            RiskLevel::SECURITY,
            Action::Block,
        ),
    ];
    let d = eval(&policies, &many);
    let keys: Vec<String> = d
        .reasons()
        .iter()
        .map(|r| match r {
            Reason::Vulnerability { id, .. } => id.clone(),
            Reason::Malware { name, .. } => name.clone(),
            Reason::Baseline { check_id, .. } => check_id.clone(),
            Reason::NotScanned => "not scanned".into(),
        })
        .collect();
    assert_eq!(keys, ["CVE-2", "miner", "CVE-0", "CVE-1", "run-as-root"]);
    assert_eq!(d.reasons().len(), MAX_REASONS);
    // Eight findings, each once although two policies named the vulnerabilities.
    assert_eq!(d.omitted_reasons, 3);
    assert_eq!(d.matched_policies, ["b", "m", "v", "v2"]);
    // The same inputs in another order decide the same way.
    let mut reversed = policies.to_vec();
    reversed.reverse();
    let mut shuffled = many.clone();
    shuffled.vulns.reverse();
    assert_eq!(eval(&reversed, &shuffled), d);
}

#[test]
fn reads_the_vendors_json_and_refuses_unknown_values() -> TestResult {
    let body = json!({
        "policy_name": "string",
        "policy_id": "p1",
        "template_id": "t1",
        "policy_description": "d",
        "content": {
            "enable_image_startup": true,
            "policy_type": "vuls",
            "severity": 3,
            "risky_item": ["CVE-2021-44228"],
            "action": 1
        },
        "white_image_list": [{"cluster_id": "c", "image_name": "n", "image_version": "v"}],
        "resources": [{
            "cluster_name": "n", "cluster_id": "c", "images": ["i"],
            "namespaces": ["ns"], "labels": ["a=b"]
        }],
        "parameters": ""
    });
    let p = Policy::from_json(body.to_string().as_bytes())?;
    assert_eq!(p.content.policy_type, PolicyType::Vuls);
    assert_eq!(p.content.action, Action::Block);
    assert_eq!(p.content.severity, RiskLevel::HIGH);
    // It writes back what it read (fixable_only, false, is left out).
    assert_eq!(serde_json::to_value(&p)?, body);

    let cases = [
        ("/content/policy_type", json!("vulns"), "policy_type"),
        ("/content/policy_type", json!(1), "policy_type"),
        ("/content/action", json!(3), "action"),
        ("/content/action", json!("block"), "action"),
        ("/content/action", json!(-1), "action"),
        ("/content/severity", json!(5), "severity"),
        ("/content/severity", json!("High"), "severity"),
    ];
    for (pointer, value, field) in cases {
        let mut bad = body.clone();
        *bad.pointer_mut(pointer).ok_or("no such field")? = value.clone();
        let err = Policy::from_json(bad.to_string().as_bytes())
            .err()
            .ok_or_else(|| format!("{pointer} = {value} accepted"))?;
        let message = err.to_string();
        assert!(message.contains(field), "{message}");
    }
    let mut empty_id = body.clone();
    empty_id["policy_id"] = json!(" ");
    assert_eq!(
        Policy::from_json(empty_id.to_string().as_bytes()),
        Err(policy::PolicyError::Empty("policy_id"))
    );
    Ok(())
}

#[test]
fn templates_do_what_they_say() -> TestResult {
    let templates = policy::templates();
    assert_eq!(templates.len(), 4);
    let mut ids: Vec<_> = templates.iter().map(|t| t.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 4);
    let instantiate = |id: &str| -> Result<Policy, String> {
        Ok(policy::template(id)
            .ok_or(format!("no template {id}"))?
            .instantiate(id, id))
    };
    let critical = instantiate("berth-block-critical-fixable-vulns")?;
    let d = eval(std::slice::from_ref(&critical), &findings());
    assert!(d.is_blocked());
    let unfixed = ImageFindings {
        vulns: vec![vuln("CVE-9", Severity::Critical, None)],
        baseline: vec![],
        ..findings()
    };
    assert!(!eval(&[critical], &unfixed).is_blocked());

    let malware_policy = instantiate("berth-block-malware")?;
    let infected = ImageFindings {
        malware: vec![malware("x", None)],
        ..findings()
    };
    assert!(eval(&[malware_policy], &infected).is_blocked());

    let root = instantiate("berth-block-run-as-root")?;
    assert!(eval(&[root], &findings()).is_blocked());

    let secrets = instantiate("berth-alarm-secrets-in-layers")?;
    let with_secret = ImageFindings {
        baseline: vec![baseline(policy::SECRET_IN_LAYER, Severity::High)],
        ..findings()
    };
    assert!(matches!(
        eval(&[secrets], &with_secret).verdict,
        Verdict::Alarm(_)
    ));
    for t in policy::templates() {
        t.instantiate("id", "name").validate()?;
    }
    Ok(())
}
