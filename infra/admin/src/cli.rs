use clap::{Parser, Subcommand};
use mostrador::admin::{self, archive, NewProject, ProjectPatch};
use mostrador::ids::ProjectId;
use mostrador::tenancy::project;
use mostrador::AppState;
use serde_json::{json, Value};
use std::io::Read;
use std::process::ExitCode;

/// Manage Mostrador projects, API keys, plans, flags, provider credentials and usage.
///
/// Reads the same environment as the functions (TABLE_NAME, SECRETS_PREFIX, … and the AWS
/// credentials/region). Against the local stack: `source .dev/env` first.
#[derive(Parser)]
#[command(name = "mostrador-admin", version)]
struct Cli {
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Projects (shops).
    #[command(subcommand)]
    Projects(Projects),
    /// API keys of a project.
    #[command(subcommand)]
    Keys(Keys),
    /// Provider credentials, stored in Secrets Manager.
    #[command(subcommand)]
    Credentials(Credentials),
    /// Write one project's data to standard output as JSON Lines (`> file.jsonl`). Secrets are
    /// references, never values (see `mostrador::admin::archive`).
    Export {
        #[arg(long)]
        project: String,
    },
    /// Write an archive made by `export` into this environment's table (standard input, or
    /// --file); items already present are left as they are.
    Import {
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// A project's usage for a month.
    Usage {
        project_id: String,
        /// YYYY-MM (default: the current month).
        #[arg(long)]
        month: Option<String>,
    },
}

#[derive(Subcommand)]
enum Projects {
    /// Create a project and print its first API key (shown once).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        domain: String,
        /// free or pro.
        #[arg(long, default_value = "free")]
        plan: String,
        #[arg(long)]
        contact_email: Option<String>,
        /// SES sender identity, e.g. "Shop <no-reply@shop.example>".
        #[arg(long)]
        email_from: Option<String>,
    },
    /// List projects.
    List {
        #[arg(long, default_value_t = 50)]
        limit: i32,
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show one project.
    Show { project_id: String },
    /// Let the project's keys work again.
    Activate { project_id: String },
    /// Refuse every request of the project (403 project_inactive) from the next request on.
    Deactivate { project_id: String },
    /// Change the plan (free, pro).
    SetPlan { project_id: String, plan: String },
    /// Turn a feature flag on or off (notifications.email, notifications.whatsapp, webhooks, payments.mercadopago).
    SetFlag {
        project_id: String,
        flag: String,
        #[arg(value_parser = ["on", "off"])]
        value: String,
    },
    /// Return a flag to its default.
    ClearFlag { project_id: String, flag: String },
}

#[derive(Subcommand)]
enum Keys {
    /// Create an extra key (shown once).
    Create {
        project_id: String,
        #[arg(long)]
        label: Option<String>,
    },
    /// List keys (never the keys themselves).
    List { project_id: String },
    /// Issue a new key and end the old one, at once or after a grace period.
    Rotate {
        project_id: String,
        key_id: String,
        /// Seconds the old key keeps working (default: 0, immediately revoked).
        #[arg(long)]
        grace_seconds: Option<u32>,
    },
    /// Revoke a key immediately.
    Revoke { project_id: String, key_id: String },
}

#[derive(Subcommand)]
enum Credentials {
    /// Store a provider's credentials; reads a JSON object from standard input so secrets stay
    /// out of shell history. mercadopago: {"access_token","webhook_secret"};
    /// whatsapp: {"access_token","phone_number_id","api_version"?}.
    Set {
        project_id: String,
        provider: String,
    },
}

fn project_id(raw: &str) -> Result<ProjectId, String> {
    raw.parse().map_err(|e| format!("{raw}: {e}"))
}

pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    let state = match AppState::from_env().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mostrador-admin: {e} (against the local stack: source .dev/env)");
            return ExitCode::from(2);
        }
    };
    if let Command::Export { project } = &cli.command {
        return export(&state, project).await;
    }
    match execute(&state, cli.command).await {
        Ok(value) => {
            if cli.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&value).unwrap_or_default()
                );
            } else {
                print_text(&value, 0);
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("mostrador-admin: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(state: &AppState, command: Command) -> Result<Value, String> {
    fn e(err: impl Into<mostrador::ApiError>) -> String {
        let err = err.into();
        let fields: Vec<String> = err
            .field_errors()
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect();
        if fields.is_empty() {
            format!("{} ({})", err.detail(), err.code())
        } else {
            format!("{} ({}): {}", err.detail(), err.code(), fields.join("; "))
        }
    }
    Ok(match command {
        Command::Projects(Projects::Create {
            name,
            domain,
            plan,
            contact_email,
            email_from,
        }) => {
            let new = NewProject {
                name,
                domain,
                plan: Some(plan),
                contact_email,
                email_from,
            };
            let (project, key) = admin::create_project(state, new).await.map_err(e)?;
            json!({"project": admin::view(&project), "api_key": key, "note": "store the API key now: it is not shown again"})
        }
        Command::Projects(Projects::List { limit, cursor }) => {
            let after = cursor.as_deref().map(project_id).transpose()?;
            let page = mostrador::paging::PageRequest {
                limit: limit.clamp(1, 100),
                cursor: after.map(|id| id.to_string()),
            };
            let found = project::list(state, &page).await.map_err(e)?;
            json!({"data": found.items.iter().map(admin::view).collect::<Vec<_>>(), "next_cursor": found.next_cursor})
        }
        Command::Projects(Projects::Show { project_id: id }) => {
            let id = project_id(&id)?;
            let project = project::require(state, &id).await.map_err(e)?;
            let configured = admin::sync_provider_records(state, &project)
                .await
                .map_err(e)?;
            let mut view = admin::view(&project);
            view.credentials = Some(configured);
            json!(view)
        }
        Command::Projects(Projects::Activate { project_id: id }) => {
            patch(
                state,
                &id,
                ProjectPatch {
                    active: Some(true),
                    ..Default::default()
                },
            )
            .await?
        }
        Command::Projects(Projects::Deactivate { project_id: id }) => {
            patch(
                state,
                &id,
                ProjectPatch {
                    active: Some(false),
                    ..Default::default()
                },
            )
            .await?
        }
        Command::Projects(Projects::SetPlan {
            project_id: id,
            plan,
        }) => {
            patch(
                state,
                &id,
                ProjectPatch {
                    plan: Some(plan),
                    ..Default::default()
                },
            )
            .await?
        }
        Command::Projects(Projects::SetFlag {
            project_id: id,
            flag,
            value,
        }) => {
            let flags = [(flag, Some(value == "on"))].into_iter().collect();
            patch(
                state,
                &id,
                ProjectPatch {
                    flags,
                    ..Default::default()
                },
            )
            .await?
        }
        Command::Projects(Projects::ClearFlag {
            project_id: id,
            flag,
        }) => {
            let flags = [(flag, None)].into_iter().collect();
            patch(
                state,
                &id,
                ProjectPatch {
                    flags,
                    ..Default::default()
                },
            )
            .await?
        }
        Command::Keys(Keys::Create {
            project_id: id,
            label,
        }) => {
            let id = project_id(&id)?;
            project::require(state, &id).await.map_err(e)?;
            json!(admin::create_key(state, &id, label).await.map_err(e)?)
        }
        Command::Keys(Keys::List { project_id: id }) => {
            json!({"data": admin::list_keys(state, &project_id(&id)?).await.map_err(e)?})
        }
        Command::Keys(Keys::Rotate {
            project_id: id,
            key_id,
            grace_seconds,
        }) => {
            json!(
                admin::rotate_key(state, &project_id(&id)?, &key_id, grace_seconds)
                    .await
                    .map_err(e)?
            )
        }
        Command::Keys(Keys::Revoke {
            project_id: id,
            key_id,
        }) => {
            admin::revoke_key(state, &project_id(&id)?, &key_id)
                .await
                .map_err(e)?;
            json!({"key_id": key_id, "status": "revoked"})
        }
        Command::Credentials(Credentials::Set {
            project_id: id,
            provider,
        }) => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map_err(|err| format!("reading standard input: {err}"))?;
            let values: serde_json::Map<String, Value> = serde_json::from_str(&input)
                .map_err(|err| format!("standard input is not a JSON object: {err}"))?;
            admin::put_credentials(state, &project_id(&id)?, &provider, &values)
                .await
                .map_err(e)?;
            json!({"provider": provider, "stored": true})
        }
        Command::Import { file } => {
            let imported = match file {
                Some(path) => {
                    let f = std::fs::File::open(&path)
                        .map_err(|err| format!("{}: {err}", path.display()))?;
                    archive::import(state, std::io::BufReader::new(f)).await
                }
                None => archive::import(state, std::io::stdin().lock()).await,
            };
            json!(imported.map_err(e)?)
        }
        Command::Export { .. } => Value::Null,
        Command::Usage {
            project_id: id,
            month,
        } => json!(admin::usage(state, &project_id(&id)?, month.as_deref())
            .await
            .map_err(e)?),
    })
}

/// The archive goes to standard output, the summary to standard error.
async fn export(state: &AppState, project: &str) -> ExitCode {
    let id = match project_id(project) {
        Ok(id) => id,
        Err(message) => {
            eprintln!("mostrador-admin: {message}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let exported = archive::export(state, &id, &mut out).await;
    let flushed = std::io::Write::flush(&mut out);
    match (exported, flushed) {
        (Ok(done), Ok(())) => {
            eprintln!(
                "mostrador-admin: exported {} items of {id} ({} endpoint secrets withheld, secret references: {:?})",
                done.items, done.withheld_endpoint_secrets, done.secret_refs
            );
            ExitCode::SUCCESS
        }
        (Err(err), _) => {
            eprintln!("mostrador-admin: {} ({})", err.detail(), err.code());
            ExitCode::FAILURE
        }
        (_, Err(err)) => {
            eprintln!("mostrador-admin: writing the archive: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn patch(state: &AppState, id: &str, patch: ProjectPatch) -> Result<Value, String> {
    let project = admin::update_project(state, &project_id(id)?, patch)
        .await
        .map_err(|err| format!("{} ({})", err.detail(), err.code()))?;
    Ok(json!(admin::view(&project)))
}

/// Indented `key: value` text for humans.
fn print_text(value: &Value, depth: usize) {
    let pad = "  ".repeat(depth);
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::Object(_) | Value::Array(_) => {
                        println!("{pad}{k}:");
                        print_text(v, depth + 1);
                    }
                    _ => println!("{pad}{k}: {}", scalar(v)),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                println!("{pad}- [{i}]");
                print_text(item, depth + 1);
            }
        }
        other => println!("{pad}{}", scalar(other)),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}
