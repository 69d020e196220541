//! The enforcement applied to the real `template.yaml`, without emulators: what each function
//! may read in Secrets Manager, and that every policy resolves.

use super::requests::Arns;
use super::Enforcer;
use crate::provision::{Physical, ACCOUNT, REGION};
use crate::template::Template;
use std::collections::BTreeMap;

fn resolved() -> (BTreeMap<String, super::Policy>, Arns) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let template = Template::load(&path).unwrap();
    let mut physical = Physical {
        stack_name: "t".into(),
        parameters: template.parameters.clone(),
        ..Default::default()
    };
    for t in &template.tables {
        physical
            .tables
            .insert(t.logical_id.clone(), format!("t-{}", t.logical_id));
    }
    for q in &template.queues {
        let name = format!("t-{}", q.logical_id);
        let url = format!("http://127.0.0.1:1/{ACCOUNT}/{name}");
        let arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}");
        physical
            .queues
            .insert(q.logical_id.clone(), (url, arn, name));
    }
    let arns = Arns {
        region: REGION.into(),
        account: ACCOUNT.into(),
        secrets: Default::default(),
    };
    let policies = template
        .functions
        .iter()
        .map(|f| {
            let p = super::Policy::from_template(&f.logical_id, &f.policies, &physical).unwrap();
            (f.binary.clone(), p)
        })
        .collect();
    // Every function's enforcer builds from the same template (no unsupported policy form).
    Enforcer::for_template(&template, &physical, REGION, ACCOUNT).unwrap();
    (policies, arns)
}

fn secret(project: &str, provider: &str, suffix: Option<&str>) -> String {
    let name = format!("mostrador/prod/projects/{project}/{provider}");
    match suffix {
        Some(s) => format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-{s}"),
        None => format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}"),
    }
}

#[test]
fn each_function_reads_only_its_providers_credentials() {
    let (policies, _) = resolved();
    let read = |binary: &str, provider: &str, suffix: Option<&str>| {
        policies[binary].allows(
            "secretsmanager:GetSecretValue",
            &secret("prj_01ABC", provider, suffix),
        )
    };
    for binary in ["payments", "mp-intake", "payment-sync"] {
        assert!(read(binary, "mercadopago", Some("Ab12Cd")), "{binary}");
        // Not configured yet: no secret, the suffix-less ARN (answers ResourceNotFound).
        assert!(read(binary, "mercadopago", None), "{binary}");
        assert!(
            !read(binary, "whatsapp", Some("Ab12Cd")),
            "{binary} reads WhatsApp's"
        );
        assert!(!read(binary, "whatsapp", None), "{binary} reads WhatsApp's");
    }
    for binary in ["sender", "provider-feedback"] {
        assert!(read(binary, "whatsapp", Some("Ab12Cd")), "{binary}");
        assert!(read(binary, "whatsapp", None), "{binary}");
        assert!(
            !read(binary, "mercadopago", Some("Ab12Cd")),
            "{binary} reads MP's"
        );
        assert!(!read(binary, "mercadopago", None), "{binary} reads MP's");
    }
    for binary in [
        "health",
        "project",
        "notifications",
        "webhooks",
        "dispatcher",
        "reconciler",
    ] {
        assert!(!read(binary, "whatsapp", Some("Ab12Cd")), "{binary}");
        assert!(!read(binary, "mercadopago", Some("Ab12Cd")), "{binary}");
    }
    // Another stage's secrets are out of reach too.
    let other_stage = format!(
        "arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:mostrador/staging/projects/p/mercadopago-Ab12Cd"
    );
    assert!(!policies["payments"].allows("secretsmanager:GetSecretValue", &other_stage));
}

#[test]
fn transactions_and_indexes_are_authorized_like_aws() {
    let (policies, arns) = resolved();
    let table = arns.table("t-Table");
    // The sweeper claims due deliveries (UpdateItem) and queries only the due index.
    let sweeper = &policies["retry-sweeper"];
    assert!(sweeper.allows("dynamodb:UpdateItem", &table));
    assert!(sweeper.allows("dynamodb:Query", &format!("{table}/index/due")));
    assert!(!sweeper.allows("dynamodb:Query", &format!("{table}/index/gsi1")));
    assert!(!sweeper.allows("dynamodb:Query", &table));
    // No policy names an action AWS does not have.
    for (binary, p) in &policies {
        for s in &p.statements {
            for a in &s.actions {
                assert!(
                    !a.eq_ignore_ascii_case("dynamodb:TransactWriteItems")
                        && !a.eq_ignore_ascii_case("dynamodb:TransactGetItems"),
                    "{binary}: {a} is not an IAM action"
                );
            }
        }
    }
}
