//! What a running stack shares between its [`Stack`](crate::Stack) handle and the local
//! gateway's `/_local/*` control endpoints: the emulators (stopped and started again for fault
//! injection), the admin clients, the provisioned resources, the clock, the scheduled functions,
//! the sandboxes' switches and the SES front. `stack.rs` builds it; `server.rs` acts on it.

use crate::emulators::{Emulator, EmulatorError, Kind};
use crate::outage::Switch;
use crate::provision::{self, Physical, ProvisionError};
use crate::template::Template;
use mostrador::{AppState, Clock};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Why an emulator could not be brought back (`POST /_local/emulators/{name}/start`).
#[derive(Debug, thiserror::Error)]
pub enum RestartError {
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    #[error(transparent)]
    Provision(#[from] ProvisionError),
}

/// Built once by `Stack::start`, held by the [`Stack`](crate::Stack) and by the local gateway.
pub(crate) struct Running {
    pub template: Template,
    pub stack_name: String,
    pub dynamodb: Mutex<Emulator>,
    pub moto: Mutex<Emulator>,
    pub admin_dynamodb: aws_sdk_dynamodb::Client,
    pub admin_sqs: aws_sdk_sqs::Client,
    pub admin_secrets: aws_sdk_secretsmanager::Client,
    pub admin_sns: aws_sdk_sns::Client,
    pub admin_ses: aws_sdk_sesv2::Client,
    pub physical: Mutex<Physical>,
    pub clock: Clock,
    /// Scheduled functions by binary, for `POST /_local/schedules/{binary}/run`.
    pub schedules: BTreeMap<String, (&'static AppState, mostrador::runtime::ScheduleHandler)>,
    /// Stands in for IAM on `AWS_IAM` routes: `Authorization: Bearer <token>` (local only).
    pub operator_token: String,
    /// The sandboxes' public ports, for `POST /_local/sandboxes/{name}/{stop,start}`.
    pub sandboxes: BTreeMap<&'static str, Switch>,
    /// The SES front the functions send e-mail through (`/_local/ses`).
    pub ses_front: Arc<crate::ses_front::SesFront>,
}

impl Running {
    /// Stops an emulator (fault injection; `POST /_local/emulators/{name}/stop`).
    pub async fn stop_emulator(&self, kind: Kind) {
        self.emulator(kind).lock().await.stop().await;
    }

    /// Starts an emulator again and re-creates what lived in its memory.
    pub async fn start_emulator(&self, kind: Kind) -> Result<(), RestartError> {
        self.emulator(kind).lock().await.start().await?;
        match kind {
            Kind::Moto => {
                let mut physical = self.physical.lock().await;
                provision::provision_queues(
                    &self.template,
                    &self.stack_name,
                    &self.admin_sqs,
                    &mut physical,
                )
                .await?;
                crate::email_events::provision(
                    &self.template,
                    &self.stack_name,
                    &self.admin_sns,
                    &self.admin_ses,
                    &mut physical,
                )
                .await?;
            }
            Kind::DynamoDbLocal => {
                provision::provision(
                    &self.template,
                    &self.stack_name,
                    &self.admin_dynamodb,
                    &self.admin_sqs,
                    &self.admin_secrets,
                )
                .await?;
            }
        }
        Ok(())
    }

    fn emulator(&self, kind: Kind) -> &Mutex<Emulator> {
        match kind {
            Kind::DynamoDbLocal => &self.dynamodb,
            Kind::Moto => &self.moto,
        }
    }
}
