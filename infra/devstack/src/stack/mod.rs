//! The whole local stack in one value: emulators, provisioned resources, one `AppState` per
//! function (each from its own resolved environment), the gateway and the SQS pollers.

mod aws;
mod deployment;
mod sandboxes;

use crate::emulators::EmulatorError;
use crate::gateway::RouteTable;
use crate::provision::ProvisionError;
use crate::running::Running;
use crate::template::{Template, TemplateError};
use deployment::Deployment;
use mostrador::{AppState, Clock};
use sandboxes::Sandboxes;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    #[error("function {function}: {message}")]
    Function { function: String, message: String },
    #[error(transparent)]
    Policy(#[from] crate::iam::PolicyError),
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Listen { port: u16, source: std::io::Error },
}

#[derive(Clone, Debug)]
pub struct StackOptions {
    /// The repository root: `template.yaml` and `.tools/` live there.
    pub root: PathBuf,
    /// 0 picks a free port.
    pub gateway_port: u16,
    pub dynamodb_port: u16,
    pub moto_port: u16,
    pub mercadopago_port: u16,
    pub whatsapp_port: u16,
    pub receiver_port: u16,
    /// Prefix of every local resource name.
    pub stack_name: String,
    /// Keep DynamoDB data in `.dev/dynamodb` across restarts (`make dev`); tests use memory.
    pub persistent: bool,
    /// Where emulator output goes; `None` discards it.
    pub logs_dir: Option<PathBuf>,
    /// The `PublicApiUrl` parameter; `None` sets the gateway's own URL, `Some("")` is a first
    /// deploy that has none.
    pub public_api_url: Option<String>,
}

impl StackOptions {
    /// Free ports, in-memory data: what black-box tests use.
    pub fn ephemeral(root: PathBuf) -> Self {
        Self {
            root,
            gateway_port: 0,
            dynamodb_port: 0,
            moto_port: 0,
            mercadopago_port: 0,
            whatsapp_port: 0,
            receiver_port: 0,
            stack_name: format!("test{}", std::process::id()),
            persistent: false,
            logs_dir: None,
            public_api_url: None,
        }
    }
}

pub struct Stack {
    pub api_url: String,
    /// Local Mercado Pago (point `MERCADOPAGO_API_BASE_URL` here; control API under `/_sandbox`).
    pub mercadopago: mostrador_sandboxes::mercadopago::Handle,
    /// Local WhatsApp Cloud API.
    pub whatsapp: mostrador_sandboxes::whatsapp::Handle,
    /// A shop's webhook receiver, scriptable (`/_receiver`).
    pub receiver: mostrador_sandboxes::receiver::Handle,
    pub dynamodb_endpoint: String,
    pub moto_endpoint: String,
    /// Each function's resolved environment, as CloudFormation would set it.
    pub env: BTreeMap<String, BTreeMap<String, String>>,
    states: BTreeMap<String, &'static AppState>,
    operator: &'static AppState,
    inner: Arc<Running>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

async fn bind(port: u16) -> Result<tokio::net::TcpListener, StackError> {
    tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| StackError::Listen { port, source })
}

/// The gateway's listener and its URL.
async fn gateway_listener(
    gateway_port: u16,
) -> Result<(tokio::net::TcpListener, String), StackError> {
    let listener = bind(gateway_port).await?;
    let port = listener
        .local_addr()
        .map_err(|source| StackError::Listen {
            port: gateway_port,
            source,
        })?
        .port();
    Ok((listener, format!("http://127.0.0.1:{port}")))
}

impl Stack {
    /// Starts the emulators and provisions `template.yaml` in them, opens the gateway's port,
    /// starts the sandboxes, builds every function, then runs the pollers, the schedules and
    /// the gateway.
    pub async fn start(options: StackOptions) -> Result<Self, StackError> {
        let template = Template::load(&options.root.join("template.yaml"))?;
        let (dynamodb, moto) = aws::start_emulators(&options).await?;
        let sdk = aws::sdk_config().await;
        let (ses_front, endpoints) = aws::endpoints(&dynamodb, &moto).await?;
        let aws::Provisioned {
            admin,
            admin_sns,
            admin_ses,
            mut physical,
        } = aws::provision(&template, &options.stack_name, &sdk, &endpoints, &moto).await?;
        let (listener, api_url) = gateway_listener(options.gateway_port).await?;
        let mut sandboxes = Sandboxes::start(&options).await?;
        aws::point_at_sandboxes(&mut physical, &options, &api_url, &sandboxes);

        let clock = Clock::adjustable();
        let deployment = Deployment::build(&template, &physical, &sdk, &endpoints, &clock)?;
        let operator = deployment.operator_state(&sdk, &endpoints, &clock)?;
        let inner = Arc::new(Running {
            template,
            stack_name: options.stack_name.clone(),
            dynamodb: Mutex::new(dynamodb),
            moto: Mutex::new(moto),
            admin_dynamodb: admin.dynamodb.clone(),
            admin_sqs: admin.sqs.clone(),
            admin_secrets: admin.secrets.clone(),
            admin_sns,
            admin_ses,
            physical: Mutex::new(physical),
            clock,
            schedules: deployment.schedules,
            operator_token: format!(
                "local-operator-{}",
                ulid::Ulid::new().to_string().to_ascii_lowercase()
            ),
            sandboxes: std::mem::take(&mut sandboxes.switches),
            ses_front,
        });

        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks =
            deployment::spawn_event_sources(deployment.pollers, deployment.timers, &shutdown_rx);
        let routes = Arc::new(RouteTable::new(deployment.targets));
        tasks.push(tokio::spawn(crate::server::serve(
            listener,
            routes,
            inner.clone(),
            shutdown_rx,
        )));

        let (dynamodb_endpoint, moto_endpoint) = (
            inner.dynamodb.lock().await.endpoint(),
            inner.moto.lock().await.endpoint(),
        );
        Ok(Self {
            api_url,
            mercadopago: sandboxes.mercadopago,
            whatsapp: sandboxes.whatsapp,
            receiver: sandboxes.receiver,
            dynamodb_endpoint,
            moto_endpoint,
            env: deployment.env,
            states: deployment.states,
            operator,
            inner,
            shutdown,
            tasks,
        })
    }

    /// The state a function's handlers run with (the same one the gateway and pollers use).
    pub fn state(&self, binary: &str) -> Option<&'static AppState> {
        self.states.get(binary).copied()
    }

    /// A state for operator tooling and test set-up (`mostrador-admin`'s role): the admin
    /// function's configuration, but no IAM enforcement, since it is no function's role.
    pub fn operator_state(&self) -> &'static AppState {
        self.operator
    }

    /// The token the local gateway accepts on IAM-protected routes (`/admin/*`).
    pub fn operator_token(&self) -> &str {
        &self.inner.operator_token
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    pub async fn queue_url(&self, logical_id: &str) -> Option<String> {
        self.inner
            .physical
            .lock()
            .await
            .queue_url(logical_id)
            .map(str::to_owned)
    }

    /// Stops every task and emulator.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        }
        self.inner.moto.lock().await.stop().await;
        self.inner.dynamodb.lock().await.stop().await;
    }
}
