//! The local AWS side of the stack: the emulators, the SDK configuration every client shares,
//! the resources of `template.yaml` provisioned in the emulators, and the parameters a
//! deployment pointed at the sandboxes would be given.

use super::sandboxes::Sandboxes;
use super::{StackError, StackOptions};
use crate::emulators::{free_port, Emulator, Kind, Storage};
use crate::provision::{self, Physical, REGION};
use crate::ses_front::SesFront;
use crate::template::Template;
use aws_config::{BehaviorVersion, SdkConfig};
use mostrador::state::Endpoints;
use mostrador::{AppState, Clock, Config};
use std::sync::Arc;

/// DynamoDB Local and moto, started together.
pub(super) async fn start_emulators(
    options: &StackOptions,
) -> Result<(Emulator, Emulator), StackError> {
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
    Ok((dynamodb, moto))
}

fn port_or_free(port: u16) -> Result<u16, StackError> {
    if port != 0 {
        return Ok(port);
    }
    free_port().map_err(|source| StackError::Listen { port, source })
}

pub(super) async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "devstack",
        ))
        .load()
        .await
}

/// The SES front and where every client sends its requests.
pub(super) async fn endpoints(
    dynamodb: &Emulator,
    moto: &Emulator,
) -> Result<(Arc<SesFront>, Endpoints), StackError> {
    // The functions reach SES through the front, which can throttle and cut like SES.
    let ses_front = SesFront::start(moto.endpoint())
        .await
        .map_err(|source| StackError::Listen { port: 0, source })?;
    let endpoints = Endpoints {
        dynamodb: Some(dynamodb.endpoint()),
        sqs: Some(moto.endpoint()),
        ses: Some(ses_front.url.clone()),
        secrets_manager: Some(moto.endpoint()),
        interceptor: None,
    };
    Ok((ses_front, endpoints))
}

/// The provisioned resources and the admin clients that created them (they stand in for
/// CloudFormation and Lambda's event source mappings, which have their own roles).
pub(super) struct Provisioned {
    pub admin: AppState,
    pub admin_sns: aws_sdk_sns::Client,
    pub admin_ses: aws_sdk_sesv2::Client,
    pub physical: Physical,
}

/// Creates `template.yaml`'s tables, queues, secrets and SES resources in the emulators.
pub(super) async fn provision(
    template: &Template,
    stack_name: &str,
    sdk: &SdkConfig,
    endpoints: &Endpoints,
    moto: &Emulator,
) -> Result<Provisioned, StackError> {
    let admin = AppState::new(placeholder_config(), sdk, endpoints, Clock::system());
    let mut physical = provision::provision(
        template,
        stack_name,
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
    crate::email_events::provision(template, stack_name, &admin_sns, &admin_ses, &mut physical)
        .await?;
    Ok(Provisioned {
        admin,
        admin_sns,
        admin_ses,
        physical,
    })
}

/// What `sam deploy --parameter-overrides` would set for a deployment pointed at the
/// sandboxes: the providers' base URLs, the public URL, loopback allowed for webhooks.
pub(super) fn point_at_sandboxes(
    physical: &mut Physical,
    options: &StackOptions,
    api_url: &str,
    sandboxes: &Sandboxes,
) {
    for (name, value) in [
        (
            "PublicApiUrl",
            options
                .public_api_url
                .clone()
                .unwrap_or_else(|| api_url.to_owned()),
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
