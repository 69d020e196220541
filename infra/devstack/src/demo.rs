//! The demo project `make dev` prints: created on first start, reused while its key still
//! works. Its key is kept in clear text in `.dev/demo.json` (git-ignored, local only) because
//! keys are otherwise shown once and never stored.

use crate::Stack;
use mostrador::admin::{self, NewProject};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Serialize, Deserialize)]
pub struct Demo {
    pub project_id: String,
    pub api_key: String,
}

async fn still_works(stack: &Stack, demo: &Demo) -> bool {
    let response = reqwest::Client::new()
        .get(format!("{}/v1/project", stack.api_url))
        .header("x-api-key", &demo.api_key)
        .send()
        .await;
    matches!(response, Ok(r) if r.status() == 200)
}

pub async fn ensure(stack: &Stack, root: &Path) -> Result<Demo, String> {
    let file = root.join(".dev/demo.json");
    if let Some(demo) = std::fs::read_to_string(&file)
        .ok()
        .and_then(|t| serde_json::from_str::<Demo>(&t).ok())
    {
        if still_works(stack, &demo).await {
            return Ok(demo);
        }
    }
    let state = stack
        .state("admin")
        .ok_or("the admin function is not in template.yaml")?;
    let (project, key) = admin::create_project(
        state,
        NewProject {
            name: "Demo shop".into(),
            domain: "demo-shop.example.com".into(),
            plan: Some("pro".into()),
            contact_email: None,
            email_from: Some("Demo shop <no-reply@demo-shop.example.com>".into()),
        },
    )
    .await
    .map_err(|e| format!("creating the demo project: {e}"))?;
    let demo = Demo {
        project_id: project.id.to_string(),
        api_key: key.api_key,
    };
    let text = serde_json::to_string_pretty(&demo).map_err(|e| e.to_string())?;
    write_private(&file, &text).map_err(|e| format!("writing {}: {e}", file.display()))?;
    Ok(demo)
}

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.create(true).write(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(text.as_bytes())
}
