//! What `make dev` prints once the stack is up. A function of the stack (not `println!`s in
//! `main`) so the README's transcript of it can be checked against a real stack
//! (`tests/tests/readme.rs`).

use crate::demo::Demo;
use crate::Stack;

/// The banner, one line per `\n`.
pub fn render(stack: &Stack, demo: &Demo) -> String {
    let api = &stack.api_url;
    let key = &demo.api_key;
    [
        "Mostrador local stack is up".to_owned(),
        format!("  API gateway       {api}   try: curl {api}/health"),
        format!("  DynamoDB Local    {}", stack.dynamodb_endpoint),
        format!("  moto (SQS/SES/SM) {}", stack.moto_endpoint),
        format!(
            "  Mercado Pago      {}   (sandbox; control API under /_sandbox)",
            stack.mercadopago.base_url
        ),
        format!(
            "  WhatsApp Cloud    {}   (sandbox; control API under /_sandbox)",
            stack.whatsapp.base_url
        ),
        format!(
            "  webhook receiver  {}   (a shop's endpoint; /_receiver/requests lists what arrived)",
            stack.receiver.base_url
        ),
        "  emulator logs     .dev/logs/   function env: .dev/env".to_owned(),
        format!(
            "Demo project {} (plan pro). Its API key, shown here because this is your machine:",
            demo.project_id
        ),
        format!("  {key}"),
        "Try it:".to_owned(),
        format!("  curl -s {api}/v1/project -H 'X-API-KEY: {key}'"),
        "Operator API (/admin/*): IAM in AWS; locally send the token in .dev/operator-token:"
            .to_owned(),
        format!(
            "  curl -s {api}/admin/projects -H \"Authorization: Bearer $(cat .dev/operator-token)\""
        ),
        "Press Ctrl-C to stop everything.".to_owned(),
    ]
    .iter()
    .map(|line| format!("{line}\n"))
    .collect()
}
