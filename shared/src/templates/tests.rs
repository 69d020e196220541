use std::sync::Arc;

use proptest::prelude::*;
use serde_json::json;

use super::sandbox::{environment, Budget};
use super::*;

fn email(subject: &str, html: Option<&str>, text: Option<&str>) -> TemplateContent {
    TemplateContent::Email(EmailContent {
        subject: subject.to_owned(),
        html: html.map(str::to_owned),
        text: text.map(str::to_owned),
    })
}

fn html(source: &str) -> TemplateContent {
    email("Hola", Some(source), None)
}

fn wa_text(body: &str) -> TemplateContent {
    TemplateContent::WhatsAppText(WhatsAppTextContent {
        body: body.to_owned(),
    })
}

fn wa_template(name: &str, language: &str, parameters: &[&str]) -> TemplateContent {
    TemplateContent::WhatsAppTemplate(WhatsAppTemplateRef {
        name: name.to_owned(),
        language: language.to_owned(),
        parameters: parameters.iter().map(|p| (*p).to_owned()).collect(),
    })
}

fn codes(content: &TemplateContent) -> Vec<(String, String)> {
    validate(content)
        .unwrap_err()
        .into_iter()
        .map(|e| (e.field, e.code))
        .collect()
}

fn render_code(content: &TemplateContent, vars: serde_json::Value) -> &'static str {
    render(content, &vars).unwrap_err().code()
}

fn pair(field: &str, code: &str) -> (String, String) {
    (field.to_owned(), code.to_owned())
}

#[test]
fn validate_lists_the_sorted_top_level_variables() {
    let content = email(
        "Pedido {{ order.number }}",
        Some("{% for item in order.items %}{{ item.name }} {{ loop.index }}{% endfor %}{{ customer.name }}"),
        Some("{% macro row(x) %}{{ x }}{% endmacro %}{% for i in range(3) %}{{ row(i) }}{% endfor %}{{ shop }}"),
    );
    let vars: Vec<String> = validate(&content).unwrap().into_iter().collect();
    assert_eq!(vars, ["customer", "order", "shop"]);
}

#[test]
fn validate_reports_fields_codes_and_lines() {
    let errors = validate(&html("<p>ok</p>\n{% if %}")).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].field.as_str(), errors[0].code.as_str()),
        ("html", "syntax_error")
    );
    assert!(
        errors[0].message.starts_with("line 2:"),
        "{}",
        errors[0].message
    );

    assert_eq!(
        codes(&email(" ", None, Some(""))),
        [pair("subject", "required"), pair("html", "required")]
    );
    let big = "a".repeat(limits::MAX_SOURCE_BYTES + 1);
    assert_eq!(
        codes(&email("Hola", None, Some(&big))),
        [pair("text", "too_large")]
    );
    assert_eq!(
        codes(&wa_template(
            "Order Shipped",
            "spanish",
            &["{{ a }}", " ", "{{ b ~ c }}"]
        )),
        [
            pair("name", "invalid_format"),
            pair("language", "invalid_format"),
            pair("parameters[1]", "required"),
            pair("parameters[2]", "forbidden_operator"),
        ]
    );
    assert_eq!(
        codes(&html(
            "{{ name|indent(10**9) }}{% if x is callable %}{% endif %}"
        )),
        [pair("html", "unknown_filter"), pair("html", "unknown_test")]
    );
}

#[test]
fn renders_email_with_escaping_only_in_html() {
    let content = email(
        "Hola {{ name }}",
        Some("<p>Hola {{ name }}</p>"),
        Some("Hola {{ name }}"),
    );
    let vars = json!({"name": "<script>alert(1)</script> & co"});
    let Rendered::Email(out) = render(&content, &vars).unwrap() else {
        panic!("email expected")
    };
    assert_eq!(
        out.html.as_deref(),
        Some("<p>Hola &lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; co</p>")
    );
    assert_eq!(
        out.text.as_deref(),
        Some("Hola <script>alert(1)</script> & co")
    );
    assert_eq!(out.subject, "Hola <script>alert(1)</script> & co");
}

#[test]
fn subject_newlines_cannot_inject_headers() {
    let content = email("Pedido {{ n }}\r\n", None, Some("x"));
    let vars = json!({"n": "12\r\nBcc: victim@example.com\nX-Evil: 1"});
    let Rendered::Email(out) = render(&content, &vars).unwrap() else {
        panic!("email expected")
    };
    assert_eq!(out.subject, "Pedido 12 Bcc: victim@example.com X-Evil: 1");
    assert!(!out.subject.contains(['\r', '\n']));
}

#[test]
fn whatsapp_text_is_not_escaped_and_parameters_are_single_line() {
    let out = render(
        &wa_text("*{{ name }}* <3 & más"),
        &json!({"name": "Ana & Luis"}),
    )
    .unwrap();
    assert_eq!(
        out,
        Rendered::WhatsAppText {
            body: "*Ana & Luis* <3 & más".to_owned()
        }
    );

    let content = wa_template(
        "order_shipped",
        "es_AR",
        &["{{ customer.name }}", "#{{ order }}"],
    );
    let vars = json!({"customer": {"name": "Ana\n\tPérez      <b>"}, "order": 42});
    let Rendered::WhatsAppTemplate(out) = render(&content, &vars).unwrap() else {
        panic!("template expected")
    };
    assert_eq!(out.parameters, ["Ana Pérez <b>", "#42"]);
    assert_eq!(
        (out.name.as_str(), out.language.as_str()),
        ("order_shipped", "es_AR")
    );
}

#[test]
fn missing_and_misspelt_variables_fail() {
    let content = html("{{ customer.name }} {{ custmer.name }} {{ order }}");
    match render(&content, &json!({"customer": {"name": "Ana"}})).unwrap_err() {
        RenderError::MissingVariable { names } => assert_eq!(names, ["custmer", "order"]),
        other => panic!("unexpected {other:?}"),
    }
    let typo = html("{{ order.totl }}");
    assert_eq!(
        render_code(&typo, json!({"order": {"total": 1}})),
        "missing_variable"
    );
    assert_eq!(render_code(&html("x"), json!([1])), "invalid_variables");
}

#[test]
fn guarded_variables_are_optional() {
    let content = html(
        "{% if coupon is defined %}{{ coupon }}{% endif %}|{{ note|default('-') }}|{{ gift | d('no') }}",
    );
    let Rendered::Email(out) = render(&content, &json!({})).unwrap() else {
        panic!("email expected")
    };
    assert_eq!(out.html.as_deref(), Some("|-|no"));
    assert_eq!(
        validate(&content).unwrap().into_iter().collect::<Vec<_>>(),
        ["coupon", "gift", "note"]
    );
}

#[test]
fn lexical_checks_ignore_strings_comments_and_raw_blocks() {
    let content = html(
        "{# a ~ b * c #}{{ \"}} ~ + *\" }}{% raw %}{{ a ~ b }}{% include 'x' %}{% endraw %}{{ {'k': 1}['k'] - 1 }}",
    );
    assert!(validate(&content).is_ok(), "{:?}", validate(&content));
    let Rendered::Email(out) = render(&content, &json!({})).unwrap() else {
        panic!("email expected")
    };
    assert_eq!(
        out.html.as_deref(),
        Some("}} ~ + *{{ a ~ b }}{% include 'x' %}0")
    );
}

/// Every hostile template must fail with its code, quickly (a hang would hang the test).
#[test]
fn hostile_templates_fail_safely() {
    let kb = "k".repeat(1024);
    let vars = json!({"s": kb, "items": [1, 2, 3], "name": "x"});
    let nested = {
        let mut source = "{% set l0 = [1, 1] %}".to_owned();
        for i in 1..40 {
            source.push_str(&format!("{{% set l{i} = [l{p}, l{p}] %}}", p = i - 1));
        }
        source + "{{ l39 }}"
    };
    let joined = {
        let mut source = "{% set j0 = s %}".to_owned();
        for i in 1..30 {
            let p = format!("j{}", i - 1);
            source.push_str(&format!("{{% set j{i} = [{p}, {p}, {p}, {p}]|join %}}"));
        }
        source + "{{ j29|length }}"
    };
    let capture = format!(
        "{{% macro m() %}}{{% for i in range(10000) %}}{}{{% endfor %}}{{% endmacro %}}{{% set x = m() %}}",
        "y".repeat(limits::MAX_CAPTURED_TEXT_BYTES + 1)
    );
    let raw_loop = format!(
        "{{% for i in range(10000) %}}{}{{% endfor %}}",
        "y".repeat(1000)
    );
    let cases: Vec<(&str, String, &str)> = vec![
        ("huge range", "{% for i in range(10**9) %}x{% endfor %}".into(), "render_budget_exceeded"),
        ("nested loops", "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}".into(), "render_budget_exceeded"),
        ("recursive loop", "{% for i in [[1]] recursive %}{{ loop([[i]]) }}{% endfor %}".into(), "recursion_limit"),
        ("self-recursive macro", "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}".into(), "recursion_limit"),
        ("string repetition", "{{ \"x\" * 10**9 }}".into(), "invalid_template"),
        ("concatenation", "{% set a = s ~ s %}{{ a }}".into(), "invalid_template"),
        ("plus on strings", "{{ s + s }}".into(), "invalid_template"),
        ("huge output", "{% for i in range(1000) %}{{ s }}{% endfor %}".into(), "output_too_large"),
        ("huge raw output", raw_loop, "output_too_large"),
        ("huge captured output", "{% macro m() %}{% for i in range(5000) %}{{ s }}{% endfor %}{% endmacro %}{% set x = m() %}".into(), "output_too_large"),
        ("captured raw text", capture, "invalid_template"),
        ("exponential nesting", nested, "output_too_large"),
        ("exponential join", joined, "output_too_large"),
        ("replace bomb", "{{ s|replace('', s) }}".into(), "output_too_large"),
        ("slice preallocation", "{{ items|slice(10**9) }}".into(), "render_budget_exceeded"),
        ("batch preallocation", "{{ items|batch(10**9) }}".into(), "render_budget_exceeded"),
        ("indent width", "{{ s|indent(10**9) }}".into(), "invalid_template"),
        ("include", "{% include 'html.html' %}".into(), "invalid_template"),
        ("import", "{% import 'x.html' as x %}".into(), "invalid_template"),
        ("extends", "{% extends 'x.html' %}".into(), "invalid_template"),
        ("autoescape off", "{% autoescape false %}{{ name }}{% endautoescape %}".into(), "invalid_template"),
        ("safe filter", "{{ name|safe }}".into(), "invalid_template"),
        ("namespace accumulator", "{% set ns = namespace(a='x') %}{{ ns.a }}".into(), "missing_variable"),
        ("unknown function", "{{ lipsum(10**9) }}".into(), "missing_variable"),
    ];
    for (what, source, expected) in cases {
        let result = render(&html(&source), &vars);
        assert_eq!(
            result.map(|_| ()).map_err(|e| e.code()),
            Err(expected),
            "{what}"
        );
    }
}

#[test]
fn per_channel_output_limits() {
    let long = "x".repeat(limits::MAX_WHATSAPP_TEXT_CHARS + 1);
    assert_eq!(
        render_code(&wa_text("{{ t }}"), json!({"t": long})),
        "output_too_large"
    );
    let long = "x".repeat(limits::MAX_SUBJECT_BYTES + 1);
    assert_eq!(
        render_code(&email("{{ t }}", None, Some("x")), json!({"t": long})),
        "output_too_large"
    );
}

#[test]
fn rendered_debug_hides_personal_data() {
    let out = render(&wa_text("Hola {{ n }}"), &json!({"n": "Ana Pérez"})).unwrap();
    assert!(!format!("{out:?}").contains("Ana"));
}

#[test]
fn content_serde_shape() {
    let content: TemplateContent = serde_json::from_value(json!({
        "kind": "whatsapp_template", "name": "order_shipped", "language": "es_AR",
        "parameters": ["{{ customer.name }}"]
    }))
    .unwrap();
    assert_eq!(
        content,
        wa_template("order_shipped", "es_AR", &["{{ customer.name }}"])
    );
    let email: TemplateContent =
        serde_json::from_value(json!({"kind": "email", "subject": "s", "text": "t"})).unwrap();
    assert_eq!(email, super::tests::email("s", None, Some("t")));
}

#[test]
fn a_loop_step_costs_at_least_three_fuel() {
    // MAX_CAPTURED_TEXT_BYTES relies on this: captured text ≤ FUEL / 3 × that limit.
    let env = environment(&Arc::new(Budget::default()));
    let template = env
        .template_from_str("{% for i in range(1000) %}x{% endfor %}")
        .unwrap();
    let captured = template.render_captured(()).unwrap();
    let (consumed, _) = captured.state().fuel_levels().unwrap();
    assert!(consumed >= 3000, "{consumed}");
}

proptest! {
    #[test]
    fn validation_never_panics(source in "(\\PC|[{}%#~*+|'\"\\\\-]){0,200}") {
        let _ = validate(&wa_text(&source));
        let _ = render(&wa_text(&source), &json!({}));
    }
}

#[test]
fn a_realistic_order_email_fits_the_budgets() {
    let html = r#"{% macro row(item) %}<tr><td style="padding:4px">{{ item.name|title }}</td><td>{{ item.quantity }}</td><td>{{ item.price }}</td></tr>{% endmacro %}
<h1>¡Gracias, {{ customer.first_name }}!</h1>
{% set greeting %}<p>Tu pedido <b>#{{ order.number }}</b></p>{% endset %}{{ greeting }}
<table>{% for item in order.items|sort(attribute="name") %}{{ row(item) }}{% endfor %}</table>
{% if order.items|length > 10 %}<p>{{ order.items|length }} productos</p>{% endif %}
<p>Total: {{ order.total }}</p>{% if coupon is defined %}<p>Cupón {{ coupon|upper }}</p>{% endif %}"#;
    let items: Vec<_> = (0..200)
        .map(|i| json!({"name": format!("producto {i}"), "quantity": i % 3 + 1, "price": "$ 1.234,50"}))
        .collect();
    let vars = json!({"customer": {"first_name": "Ana"}, "order": {"number": 1042, "items": items, "total": "$ 99.000"}});
    let content = email("Pedido #{{ order.number }}", Some(html), None);
    let Rendered::Email(out) = render(&content, &vars).unwrap() else {
        panic!("email expected")
    };
    let html = out.html.unwrap();
    assert!(
        html.contains("<p>Tu pedido <b>#1042</b></p>"),
        "captured html stays unescaped"
    );
    assert!(html.contains("<td style=\"padding:4px\">Producto 199</td>"));
    assert!(html.contains("200 productos"));
}
