//! `docs/api.html`: the document as a static, offline reference page (no scripts).

use serde_json::Value;
use std::fmt::Write;

const CSS: &str = "
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1b1f24;background:#fff}
nav{position:fixed;top:0;bottom:0;left:0;width:270px;overflow:auto;background:#f6f8fa;border-right:1px solid #d0d7de;padding:16px;box-sizing:border-box}
nav a{display:block;color:#1b1f24;text-decoration:none;font-size:13px;padding:2px 0;overflow-wrap:anywhere}
nav h3{font-size:12px;text-transform:uppercase;color:#57606a;margin:14px 0 4px}
main{margin-left:270px;padding:24px 40px;max-width:1000px}
.op{border:1px solid #d0d7de;border-radius:6px;margin:18px 0;padding:12px 16px}
.m{display:inline-block;min-width:60px;text-align:center;font-weight:700;color:#fff;border-radius:4px;padding:1px 6px;margin-right:8px;font-size:13px}
.GET{background:#1f6feb}.POST{background:#1a7f37}.PUT{background:#9a6700}.PATCH{background:#8250df}.DELETE{background:#cf222e}
code,pre{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa;border-radius:4px}
code{padding:1px 4px}pre{padding:10px;overflow:auto}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left;font-size:13px;vertical-align:top}
.lock{color:#57606a;font-size:13px}h2{border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:36px}
";

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Just enough Markdown for our descriptions: `code`.
fn md(text: &str) -> String {
    esc(text)
        .split('`')
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 1 {
                format!("<code>{p}</code>")
            } else {
                p.to_owned()
            }
        })
        .collect()
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn resolve<'a>(doc: &'a Value, mut node: &'a Value) -> &'a Value {
    while let Some(r) = node.get("$ref").and_then(Value::as_str) {
        let mut cur = doc;
        for part in r.trim_start_matches("#/").split('/') {
            cur = &cur[part];
        }
        node = cur;
    }
    node
}

fn schema_html(schema: &Value) -> String {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or(r);
            format!("<a href=\"#schema-{name}\">{name}</a>")
        }
        None => format!("<code>{}</code>", esc(&schema.to_string())),
    }
}

fn pretty(v: &Value) -> String {
    esc(&serde_json::to_string_pretty(v).unwrap_or_default())
}

/// The page; `tags` in the order they are shown.
pub fn render(doc: &Value, tags: &[(&str, &str)]) -> String {
    let mut nav = String::new();
    let mut body = String::new();
    let info = &doc["info"];
    let _ = write!(
        body,
        "<h1>{} <small>{}</small></h1><p>{}</p>",
        esc(text(info, "title")),
        esc(text(info, "version")),
        md(text(info, "description"))
    );
    body.push_str("<p>Machine-readable: <a href=\"/openapi.json\"><code>/openapi.json</code></a> (OpenAPI 3.1).</p>");
    let empty = serde_json::Map::new();
    let paths = doc["paths"].as_object().unwrap_or(&empty);
    for (tag, description) in tags.iter().filter(|(t, _)| *t != "webhooks") {
        let _ = write!(nav, "<h3>{}</h3>", esc(tag));
        let _ = write!(
            body,
            "<h2 id=\"tag-{tag}\">{}</h2><p>{}</p>",
            esc(tag),
            md(description)
        );
        for (path, item) in paths {
            for (method, o) in item.as_object().unwrap_or(&empty) {
                if o["tags"][0] != *tag {
                    continue;
                }
                operation(doc, &mut nav, &mut body, &method.to_uppercase(), path, o);
            }
        }
    }
    nav.push_str("<h3>webhooks (outgoing)</h3>");
    body.push_str("<h2 id=\"tag-webhooks\">Outgoing webhooks</h2>");
    for (name, item) in doc["webhooks"].as_object().unwrap_or(&empty) {
        let o = &item["post"];
        let id = text(o, "operationId");
        let _ = write!(nav, "<a href=\"#{id}\">{}</a>", esc(name));
        let _ = write!(
            body,
            "<div class=\"op\" id=\"{id}\"><div><span class=\"m POST\">POST</span><code>{}</code></div>\
             <p><b>{}</b></p><p>{}</p><table><tr><th>header</th><th>description</th></tr>",
            esc(name),
            md(text(o, "summary")),
            md(text(o, "description"))
        );
        for p in o["parameters"].as_array().into_iter().flatten() {
            let _ = write!(
                body,
                "<tr><td><code>{}</code></td><td>{}</td></tr>",
                esc(text(p, "name")),
                md(text(p, "description"))
            );
        }
        body.push_str(
            "</table><p>Body: <a href=\"#schema-WebhookPayload\">WebhookPayload</a></p></div>",
        );
    }
    nav.push_str("<h3>schemas</h3>");
    body.push_str("<h2 id=\"schemas\">Schemas</h2>");
    for (name, s) in doc["components"]["schemas"].as_object().unwrap_or(&empty) {
        schema(&mut nav, &mut body, name, s);
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Mostrador API reference</title><style>{CSS}</style></head><body>\
         <nav><b>Mostrador API</b>{nav}</nav><main>{body}</main></body></html>\n"
    )
}

fn operation(
    doc: &Value,
    nav: &mut String,
    body: &mut String,
    method: &str,
    path: &str,
    o: &Value,
) {
    let id = text(o, "operationId");
    let _ = write!(nav, "<a href=\"#{id}\"><b>{method}</b> {}</a>", esc(path));
    let security: Vec<&str> = o["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            s.as_object()
                .and_then(|m| m.keys().next())
                .map(String::as_str)
        })
        .collect();
    let lock = if security.is_empty() {
        "public".to_owned()
    } else {
        security.join(", ")
    };
    let _ = write!(
        body,
        "<div class=\"op\" id=\"{id}\"><div><span class=\"m {method}\">{method}</span>\
         <code>{}</code> <span class=\"lock\">— {lock} · {id}</span></div><p><b>{}</b></p>",
        esc(path),
        md(text(o, "summary"))
    );
    if let Some(d) = o.get("description").and_then(Value::as_str) {
        let _ = write!(body, "<p>{}</p>", md(d));
    }
    let params: Vec<&Value> = o["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| resolve(doc, p))
        .collect();
    if !params.is_empty() {
        body.push_str(
            "<table><tr><th>parameter</th><th>in</th><th>required</th><th>description</th></tr>",
        );
        for p in params {
            let _ = write!(
                body,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(text(p, "name")),
                esc(text(p, "in")),
                if p["required"] == true { "yes" } else { "no" },
                md(text(p, "description"))
            );
        }
        body.push_str("</table>");
    }
    if let Some(rb) = o.get("requestBody") {
        for (ctype, c) in rb["content"].as_object().into_iter().flatten() {
            let optional = if rb["required"] == true {
                ""
            } else {
                ", optional"
            };
            let _ = write!(
                body,
                "<p>Request body ({}{optional}): {}</p>",
                esc(ctype),
                schema_html(&c["schema"])
            );
            if let Some(example) = resolve(doc, &c["schema"]).get("example") {
                let _ = write!(body, "<pre>{}</pre>", pretty(example));
            }
        }
    }
    body.push_str("<table><tr><th>status</th><th>description</th><th>body</th></tr>");
    for (status, r) in o["responses"].as_object().into_iter().flatten() {
        let r = resolve(doc, r);
        let shown: Vec<String> = r["content"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(ct, c)| format!("{} {}", esc(ct), schema_html(&c["schema"])))
            .collect();
        let _ = write!(
            body,
            "<tr><td>{status}</td><td>{}</td><td>{}</td></tr>",
            md(text(r, "description")),
            shown.join(", ")
        );
    }
    body.push_str("</table></div>");
}

fn schema(nav: &mut String, body: &mut String, name: &str, s: &Value) {
    let _ = write!(nav, "<a href=\"#schema-{name}\">{name}</a>");
    let _ = write!(body, "<h3 id=\"schema-{name}\">{name}</h3>");
    if let Some(d) = s.get("description").and_then(Value::as_str) {
        let _ = write!(body, "<p>{}</p>", md(d));
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        let required: Vec<&str> = s["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        body.push_str(
            "<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>",
        );
        for (field, p) in props {
            let mut kind = if p.get("$ref").is_some() {
                schema_html(p)
            } else {
                let t = p
                    .get("type")
                    .or_else(|| p.get("enum"))
                    .or_else(|| p.get("const"))
                    .map(Value::to_string)
                    .unwrap_or_else(|| "\"any\"".into());
                esc(&t)
            };
            if let Some(values) = p.get("enum").and_then(Value::as_array) {
                let names: Vec<String> = values
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect();
                let _ = write!(kind, " {}", esc(&names.join(" | ")));
            }
            let _ = write!(
                body,
                "<tr><td><code>{field}</code></td><td>{kind}</td><td>{}</td><td>{}</td></tr>",
                if required.contains(&field.as_str()) {
                    "yes"
                } else {
                    ""
                },
                md(text(p, "description"))
            );
        }
        body.push_str("</table>");
    } else if let Some(one_of) = s.get("oneOf").and_then(Value::as_array) {
        let names: Vec<String> = one_of.iter().map(schema_html).collect();
        let _ = write!(body, "<p>One of: {}</p>", names.join(", "));
    } else if let Some(values) = s.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = values
            .iter()
            .map(|v| format!("<code>{}</code>", esc(v.as_str().unwrap_or_default())))
            .collect();
        let _ = write!(body, "<p>{}</p>", names.join(" | "));
    }
    if let Some(example) = s.get("example").or_else(|| s["examples"].get(0)) {
        let _ = write!(body, "<pre>{}</pre>", pretty(example));
    }
}
