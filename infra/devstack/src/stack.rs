//! The whole local stack in one value: emulators, provisioned resources, one `AppState` per
//! function (each from its own resolved environment), the gateway and the SQS pollers.

use crate::emulators::{free_port, Emulator, EmulatorError, Kind, Storage};
use crate::gateway::{RouteTable, RouteTarget};
use crate::outage::Switch;
use crate::pollers::Poller;
use crate::provision::{self, ProvisionError, REGION};
use crate::running::Running;
use crate::template::{Template, TemplateError};
use aws_config::BehaviorVersion;
use mostrador::functions::{self, Entry};
use mostrador::state::Endpoints;
use mostrador::{AppState, Clock, Config};
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

struct Sandboxes {
    mercadopago: mostrador_sandboxes::mercadopago::Handle,
    whatsapp: mostrador_sandboxes::whatsapp::Handle,
    receiver: mostrador_sandboxes::receiver::Handle,
    /// The public port of each sandbox, by name (see `outage.rs`).
    switches: BTreeMap<&'static str, Switch>,
}

/// A sandbox's private listener, and the switch in front of it on `public_port`.
async fn switched(
    public_port: u16,
) -> Result<(tokio::net::TcpListener, Switch, String), StackError> {
    let public = bind(public_port).await?;
    let private = bind(0).await?;
    let io = |source| StackError::Listen {
        port: public_port,
        source,
    };
    let url = format!("http://{}", public.local_addr().map_err(io)?);
    let switch = Switch::start_on(public, private.local_addr().map_err(io)?).map_err(io)?;
    Ok((private, switch, url))
}

impl Sandboxes {
    async fn start(options: &StackOptions) -> Result<Self, StackError> {
        use mostrador_sandboxes::{mercadopago, receiver, whatsapp};
        let mp_config = mercadopago::Config {
            // Mercado Pago retries a failed notification after ~15 min; locally after 5 s.
            retry_interval: std::time::Duration::from_secs(5),
            ..Default::default()
        };
        let (mp, mp_switch, mp_url) = switched(options.mercadopago_port).await?;
        let (wa, wa_switch, wa_url) = switched(options.whatsapp_port).await?;
        let (rc, rc_switch, rc_url) = switched(options.receiver_port).await?;
        let mut mercadopago = mercadopago::start(mp, mp_config).await;
        let mut whatsapp = whatsapp::start(wa, whatsapp::Config::default()).await;
        let mut receiver = receiver::start(rc).await;
        mercadopago.base_url = mp_url;
        whatsapp.base_url = wa_url;
        receiver.base_url = rc_url;
        let switches = [
            ("mercadopago", mp_switch),
            ("whatsapp", wa_switch),
            ("receiver", rc_switch),
        ];
        Ok(Self {
            mercadopago,
            whatsapp,
            receiver,
            switches: switches.into_iter().collect(),
        })
    }
}

fn port_or_free(port: u16) -> Result<u16, StackError> {
    if port != 0 {
        return Ok(port);
    }
    free_port().map_err(|source| StackError::Listen { port, source })
}

impl Stack {
    pub async fn start(options: StackOptions) -> Result<Self, StackError> {
        let template = Template::load(&options.root.join("template.yaml"))?;
        let tools = options.root.join(".tools");
        if let Some(dir) = &options.logs_dir {
            let _ = std::fs::create_dir_all(dir);
        }
        let log = |name: &str| options.logs_dir.as_ref().map(|d| d.join(name));
        let storage = if options.persistent {
            Storage::Dir(options.root.join(".dev/dynamodb"))
        } else {
            Storage::Memory
        };
        let mut dynamodb = Emulator::new(
            Kind::DynamoDbLocal,
            port_or_free(options.dynamodb_port)?,
            &tools,
            storage,
            log("dynamodb.log"),
        );
        let mut moto = Emulator::new(
            Kind::Moto,
            port_or_free(options.moto_port)?,
            &tools,
            Storage::Memory,
            log("moto.log"),
        );
        let (d, m) = tokio::join!(dynamodb.start(), moto.start());
        d?;
        m?;

        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local", "local", None, None, "devstack",
            ))
            .load()
            .await;
        // The functions reach SES through the front, which can throttle and cut like SES.
        let ses_front = crate::ses_front::SesFront::start(moto.endpoint())
            .await
            .map_err(|source| StackError::Listen { port: 0, source })?;
        let endpoints = Endpoints {
            dynamodb: Some(dynamodb.endpoint()),
            sqs: Some(moto.endpoint()),
            ses: Some(ses_front.url.clone()),
            secrets_manager: Some(moto.endpoint()),
            interceptor: None,
        };
        let admin = AppState::new(placeholder_config(), &sdk, &endpoints, Clock::system());
        let mut physical = provision::provision(
            &template,
            &options.stack_name,
            &admin.dynamodb,
            &admin.sqs,
            &admin.secrets,
        )
        .await?;
        let moto_sdk = sdk.to_builder().endpoint_url(moto.endpoint()).build();
        let (admin_sns, admin_ses) = (
            aws_sdk_sns::Client::new(&moto_sdk),
            aws_sdk_sesv2::Client::new(&moto_sdk),
        );
        // What `--parameter-overrides` would set: a sender for Mostrador's own e-mails (its
        // SES identity is created with the other SES resources).
        physical.parameters.insert(
            "AlertEmailFrom".to_owned(),
            Some(crate::email_events::LOCAL_ALERT_FROM.to_owned()),
        );
        crate::email_events::provision(
            &template,
            &options.stack_name,
            &admin_sns,
            &admin_ses,
            &mut physical,
        )
        .await?;

        let gateway_port = options.gateway_port;
        let listener = bind(gateway_port).await?;
        let port = listener
            .local_addr()
            .map_err(|source| StackError::Listen {
                port: gateway_port,
                source,
            })?
            .port();
        let api_url = format!("http://127.0.0.1:{port}");
        let mut sandboxes = Sandboxes::start(&options).await?;
        // What `sam deploy --parameter-overrides` would set for a deployment pointed at the
        // sandboxes: the providers' base URLs, the public URL, loopback allowed for webhooks.
        for (name, value) in [
            (
                "PublicApiUrl",
                options
                    .public_api_url
                    .clone()
                    .unwrap_or_else(|| api_url.clone()),
            ),
            ("WhatsAppApiBaseUrl", sandboxes.whatsapp.base_url.clone()),
            (
                "MercadoPagoApiBaseUrl",
                sandboxes.mercadopago.base_url.clone(),
            ),
            ("OutboundAllowCidrs", "127.0.0.0/8,::1/128".to_owned()),
            ("OutboundAllowHttp", "true".to_owned()),
        ] {
            physical.parameters.insert(name.to_owned(), Some(value));
        }

        // Each function's clients enforce its IAM policy (the admin clients above stand in for
        // CloudFormation and Lambda's event source mappings, which have their own roles).
        let mut enforcers =
            crate::iam::Enforcer::for_template(&template, &physical, REGION, provision::ACCOUNT)?;
        let clock = Clock::adjustable();
        let mut states = BTreeMap::new();
        let mut env = BTreeMap::new();
        let mut targets = Vec::new();
        let mut pollers = Vec::new();
        let mut schedules = BTreeMap::new();
        let mut timers = Vec::new();
        for function in &template.functions {
            let fail = |message: String| StackError::Function {
                function: function.binary.clone(),
                message,
            };
            let mut raw = template.global_env.clone();
            raw.extend(function.env.clone());
            let mut resolved = BTreeMap::new();
            for (name, value) in &raw {
                resolved.insert(name.clone(), physical.resolve(value)?);
            }
            let config = Config::from_lookup(|k| resolved.get(k).cloned())
                .map_err(|e| fail(e.to_string()))?;
            let endpoints = Endpoints {
                interceptor: enforcers.remove(&function.binary),
                ..endpoints.clone()
            };
            let state: &'static AppState = Box::leak(Box::new(AppState::new(
                config,
                &sdk,
                &endpoints,
                clock.clone(),
            )));
            let entry = functions::lookup(&function.binary).ok_or_else(|| {
                fail("template.yaml declares it but mostrador::functions has no entry".into())
            })?;
            match entry {
                Entry::Http { handler, .. } => {
                    for route in &function.routes {
                        targets.push(RouteTarget {
                            route: route.clone(),
                            function: function.binary.clone(),
                            state,
                            handler,
                        });
                    }
                }
                Entry::Schedule(handler) => {
                    for schedule in &function.schedules {
                        let every =
                            crate::template::rate(&schedule.expression).ok_or_else(|| {
                                fail(format!("unsupported schedule {}", schedule.expression))
                            })?;
                        timers.push((function.binary.clone(), every, state, handler));
                    }
                    schedules.insert(function.binary.clone(), (state, handler));
                }
                Entry::Sqs(handler) => {
                    for source in &function.sqs_sources {
                        let (url, arn, _) = physical
                            .queues
                            .get(&source.queue_logical_id)
                            .cloned()
                            .ok_or_else(|| {
                                fail(format!("unknown queue {}", source.queue_logical_id))
                            })?;
                        pollers.push(Poller {
                            function: function.binary.clone(),
                            source: source.clone(),
                            queue_url: url,
                            queue_arn: arn,
                            state,
                            handler,
                        });
                    }
                }
            }
            states.insert(function.binary.clone(), state);
            env.insert(function.binary.clone(), resolved);
        }

        // The operator's own tools (`mostrador-admin`: export/import, direct fixes) run with the
        // operator's credentials, not a function's role: the same configuration as the admin
        // function, no IAM enforcement.
        let operator_env = env.get("admin").cloned().unwrap_or_default();
        let operator_config =
            Config::from_lookup(|k| operator_env.get(k).cloned()).map_err(|e| {
                StackError::Function {
                    function: "admin".into(),
                    message: e.to_string(),
                }
            })?;
        let operator: &'static AppState = Box::leak(Box::new(AppState::new(
            operator_config,
            &sdk,
            &endpoints,
            clock.clone(),
        )));
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
            schedules,
            operator_token: format!(
                "local-operator-{}",
                ulid::Ulid::new().to_string().to_ascii_lowercase()
            ),
            sandboxes: std::mem::take(&mut sandboxes.switches),
            ses_front,
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        for poller in pollers {
            for _ in 0..poller.concurrency() {
                tasks.push(tokio::spawn(poller.clone().run(shutdown_rx.clone())));
            }
        }
        for (binary, every, state, handler) in timers {
            let mut stop = shutdown_rx.clone();
            tasks.push(tokio::spawn(async move {
                let mut interval = tokio::time::interval(every);
                interval.tick().await;
                loop {
                    tokio::select! {
                        _ = interval.tick() => {
                            if let Err(e) = handler(state).await {
                                tracing::warn!(function = %binary, error = %e, "scheduled run failed");
                            }
                        }
                        _ = stop.changed() => return,
                    }
                }
            }));
        }
        let routes = Arc::new(RouteTable::new(targets));
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
            env,
            states,
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

/// The admin clients never read function configuration; this only satisfies `AppState::new`.
fn placeholder_config() -> Config {
    Config {
        table_name: String::new(),
        notifications_queue_url: String::new(),
        deliveries_queue_url: String::new(),
        payments_queue_url: String::new(),
        secrets_prefix: String::new(),
        public_api_url: String::new(),
        whatsapp_api_base_url: String::new(),
        mercadopago_api_base_url: String::new(),
        outbound_allow: Vec::new(),
        outbound_allow_http: false,
        ses_configuration_set: None,
        alert_email_from: None,
        log_level: "info".into(),
        health_timeout: std::time::Duration::from_secs(2),
        ses_max_send_rate: 0,
    }
}
