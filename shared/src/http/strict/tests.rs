use super::*;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Order {
    amount: u64,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    items: Vec<Item>,
    #[serde(default)]
    payer: Option<Payer>,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Item {
    title: String,
    quantity: u32,
}

// No `deny_unknown_fields` on purpose: the extractor refuses unknown fields regardless.
#[derive(Debug, Deserialize, PartialEq)]
struct Payer {
    email: String,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Mode {
    Checkout,
    Direct,
}

#[derive(Debug, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
struct Patch {
    #[serde(default, deserialize_with = "nullable")]
    flags: BTreeMap<String, Option<bool>>,
    #[serde(default)]
    grace_seconds: Option<u32>,
    #[serde(default)]
    limits: Option<Limits>,
}

#[derive(Debug, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
struct Limits {
    #[serde(default)]
    per_second: Option<u32>,
}

/// The single field error of a refused body, as (status, code, field, field code).
fn refusal<T: DeserializeOwned + fmt::Debug>(text: &str) -> (u16, String, String, String) {
    let err = body::<T>(text).expect_err(text);
    let [one] = err.field_errors() else {
        panic!(
            "{text}: expected one field error, got {:?}",
            err.field_errors()
        );
    };
    for word in [
        "u64", "u32", "i64", "Option", "String", "struct", "Vec", "Value", "`", "::",
    ] {
        assert!(
            !one.message.contains(word) && !err.detail().contains(word),
            "{text}: {word} in {:?} / {}",
            one.message,
            err.detail()
        );
    }
    (
        err.status().as_u16(),
        err.code().to_owned(),
        one.field.clone(),
        one.code.clone(),
    )
}

fn expect<T: DeserializeOwned + fmt::Debug>(text: &str, status: u16, field: &str, code: &str) {
    let (s, _, f, c) = refusal::<T>(text);
    assert_eq!((s, f.as_str(), c.as_str()), (status, field, code), "{text}");
}

#[test]
fn a_well_formed_body_is_read() {
    let order: Order = body(
        r#"{"amount": 5, "items": [{"title": "t", "quantity": 2}], "payer": {"email": "a@b.c"},
            "mode": "direct", "data": {"x": null, "y": [1, {"z": 2}]}}"#,
    )
    .unwrap();
    assert_eq!(order.amount, 5);
    assert_eq!(order.items[0].quantity, 2);
    assert_eq!(order.mode, Some(Mode::Direct));
    assert_eq!(order.data.unwrap()["y"][1]["z"], 2);
}

#[test]
fn duplicate_keys_are_refused_at_any_depth() {
    expect::<Order>(
        r#"{"amount": "x", "amount": 1}"#,
        400,
        "/amount",
        "duplicate_key",
    );
    expect::<Order>(
        r#"{"amount": 1, "items": [{"title": "a", "quantity": 1}, {"title": "b", "title": "c", "quantity": 1}]}"#,
        400,
        "/items/1/title",
        "duplicate_key",
    );
    expect::<Order>(
        r#"{"amount": 1, "data": {"a/b": {"k": 1, "k": 2}}}"#,
        400,
        "/data/a~1b/k",
        "duplicate_key",
    );
    let (_, code, _, _) = refusal::<Order>(r#"{"amount":1,"amount":1}"#);
    assert_eq!(code, "invalid_json");
}

#[test]
fn the_body_must_be_an_object() {
    for text in ["[]", "[5]", "null", "5", "\"x\"", "true"] {
        expect::<Order>(text, 422, "", "invalid_type");
    }
    // Even a type that would take a map of anything.
    expect::<BTreeMap<String, serde_json::Value>>("[]", 422, "", "invalid_type");
}

#[test]
fn arrays_are_refused_where_objects_are_expected() {
    expect::<Order>(
        r#"{"amount": 1, "payer": ["a@b.c"]}"#,
        422,
        "/payer",
        "invalid_type",
    );
    expect::<Order>(
        r#"{"amount": 1, "items": [["t", 1]]}"#,
        422,
        "/items/0",
        "invalid_type",
    );
    expect::<Patch>(r#"{"limits": []}"#, 422, "/limits", "invalid_type");
    expect::<Order>(
        r#"{"amount": 1, "items": {}}"#,
        422,
        "/items",
        "invalid_type",
    );
}

#[test]
fn null_is_refused_unless_the_field_allows_it() {
    expect::<Order>(r#"{"amount": null}"#, 422, "/amount", "null_not_allowed");
    expect::<Order>(
        r#"{"amount": 1, "note": null}"#,
        422,
        "/note",
        "null_not_allowed",
    );
    expect::<Order>(
        r#"{"amount": 1, "data": null}"#,
        422,
        "/data",
        "null_not_allowed",
    );
    expect::<Patch>(
        r#"{"grace_seconds": null}"#,
        422,
        "/grace_seconds",
        "null_not_allowed",
    );
    expect::<Patch>(
        r#"{"limits": {"per_second": null}}"#,
        422,
        "/limits/per_second",
        "null_not_allowed",
    );
    expect::<Order>(
        r#"{"amount": 1, "items": [null]}"#,
        422,
        "/items/0",
        "null_not_allowed",
    );
    // Documented as "clear": allowed.
    let patch: Patch = body(r#"{"flags": {"a": null, "b": true}}"#).unwrap();
    assert_eq!(patch.flags["a"], None);
    assert_eq!(patch.flags["b"], Some(true));
    // Absent is still absent.
    assert_eq!(body::<Patch>("{}").unwrap(), Patch::default());
    // `null` inside free-form JSON data is data.
    assert!(body::<Order>(r#"{"amount": 1, "data": {"a": null}}"#).is_ok());
}

#[test]
fn unknown_fields_are_refused_even_without_the_attribute() {
    expect::<Order>(
        r#"{"amount": 1, "amout": 2}"#,
        422,
        "/amout",
        "unknown_field",
    );
    expect::<Order>(
        r#"{"amount": 1, "payer": {"email": "a@b.c", "name": "x"}}"#,
        422,
        "/payer/name",
        "unknown_field",
    );
}

#[test]
fn types_and_ranges_name_the_pointer_and_a_stable_code() {
    expect::<Order>("{}", 422, "/amount", "required");
    expect::<Order>(r#"{"amount": 1.5}"#, 422, "/amount", "invalid_type");
    expect::<Order>(r#"{"amount": 1.0}"#, 422, "/amount", "invalid_type");
    expect::<Order>(r#"{"amount": "100"}"#, 422, "/amount", "invalid_type");
    expect::<Order>(r#"{"amount": -1}"#, 422, "/amount", "out_of_range");
    expect::<Order>(r#"{"amount": 1e30}"#, 422, "/amount", "invalid_type");
    expect::<Order>(
        r#"{"amount": 1, "items": [{"title": "t", "quantity": 1}, {"title": "t", "quantity": 4294967296}]}"#,
        422,
        "/items/1/quantity",
        "out_of_range",
    );
    expect::<Order>(
        r#"{"amount": 1, "items": [{"title": "t"}]}"#,
        422,
        "/items/0/quantity",
        "required",
    );
    expect::<Order>(
        r#"{"amount": 1, "mode": "cash"}"#,
        422,
        "/mode",
        "invalid_value",
    );
    expect::<Order>(r#"{"amount": 1, "mode": 1}"#, 422, "/mode", "invalid_type");
    expect::<Order>(r#"{"amount": 1, "note": 5}"#, 422, "/note", "invalid_type");
}

#[test]
fn syntax_errors_are_400_invalid_json() {
    for text in ["", "{", "{\"amount\": 1,}", "{\"amount\": 1} x", "{'a': 1}"] {
        let err = body::<Order>(text).expect_err(text);
        assert_eq!(
            (err.status().as_u16(), err.code()),
            (400, "invalid_json"),
            "{text}"
        );
    }
}

#[test]
fn other_deserializers_are_unaffected_by_nullable() {
    let patch: Patch = serde_json::from_str(r#"{"flags": {"a": null}}"#).unwrap();
    assert_eq!(patch.flags["a"], None);
}

/// The crate's own request types, through the extractor.
mod request_types {
    use super::expect;
    use crate::admin::ProjectPatch;
    use crate::payments::model::CreatePayment;
    use crate::templates::TemplateContent;

    #[test]
    fn templates_refuse_arrays_unknown_fields_and_null() {
        expect::<TemplateContent>(r#"["email", "S", "T"]"#, 422, "", "invalid_type");
        expect::<TemplateContent>(
            r#"{"kind": "email", "subject": "S", "text": "T", "bcc": "x@y.z"}"#,
            422,
            "/bcc",
            "unknown_field",
        );
        expect::<TemplateContent>(
            r#"{"kind": "email", "subject": "S", "html": null, "text": "T"}"#,
            422,
            "/html",
            "null_not_allowed",
        );
        expect::<TemplateContent>(
            r#"{"kind": "email", "subject": 5, "text": "T"}"#,
            422,
            "/subject",
            "invalid_type",
        );
        expect::<TemplateContent>(
            r#"{"kind": "whatsapp_text", "body": "b", "subject": "S"}"#,
            422,
            "/subject",
            "unknown_field",
        );
        expect::<TemplateContent>(
            r#"{"kind": "sms", "body": "b"}"#,
            422,
            "/kind",
            "invalid_value",
        );
        expect::<TemplateContent>(r#"{"body": "b"}"#, 422, "/kind", "required");
        expect::<TemplateContent>(
            r#"{"kind": "email", "text": "T"}"#,
            422,
            "/subject",
            "required",
        );
        expect::<TemplateContent>(
            r#"{"kind": "email", "subject": "S", "subject": "T"}"#,
            400,
            "/subject",
            "duplicate_key",
        );
        let ok: TemplateContent =
            super::body(r#"{"kind": "whatsapp_text", "body": "hola {{ name }}"}"#).unwrap();
        assert!(matches!(ok, TemplateContent::WhatsAppText(_)));
    }

    #[test]
    fn project_patch_keeps_overrides_strict_and_flags_nullable() {
        expect::<ProjectPatch>(
            r#"{"limit_overrides": []}"#,
            422,
            "/limit_overrides",
            "invalid_type",
        );
        expect::<ProjectPatch>(
            r#"{"limit_overrides": null}"#,
            422,
            "/limit_overrides",
            "null_not_allowed",
        );
        expect::<ProjectPatch>(
            r#"{"limit_overrides": {"emails_per_month": -5}}"#,
            422,
            "/limit_overrides/emails_per_month",
            "out_of_range",
        );
        let patch: ProjectPatch = super::body(r#"{"flags": {"whatsapp": null}}"#).unwrap();
        assert_eq!(patch.flags.get("whatsapp"), Some(&None));
    }

    #[test]
    fn payments_refuse_guesses() {
        let base = r#""order_id": "o-1", "currency": "ARS", "mode": "checkout""#;
        expect::<CreatePayment>(
            &format!("{{{base}, \"amount\": 1.5}}"),
            422,
            "/amount",
            "invalid_type",
        );
        expect::<CreatePayment>(
            &format!("{{{base}, \"amount\": null}}"),
            422,
            "/amount",
            "null_not_allowed",
        );
        expect::<CreatePayment>(
            &format!("{{{base}, \"amount\": 1, \"items\": [{{\"title\": \"t\", \"quantity\": \"2\", \"unit_amount\": 1}}]}}"),
            422,
            "/items/0/quantity",
            "invalid_type",
        );
        expect::<CreatePayment>(
            &format!("{{{base}, \"amount\": 1, \"payer\": [\"a@b.c\"]}}"),
            422,
            "/payer",
            "invalid_type",
        );
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Preview {
    #[serde(default)]
    variables: serde_json::Value,
}

#[test]
fn a_free_form_field_may_not_be_null_but_may_hold_null() {
    expect::<Preview>(
        r#"{"variables": null}"#,
        422,
        "/variables",
        "null_not_allowed",
    );
    let ok: Preview = body(r#"{"variables": {"a": null, "b": [null]}}"#).unwrap();
    assert!(ok.variables["a"].is_null());
}
