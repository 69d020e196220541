//! Feature flags switch modules on or off per project. A disabled module answers 403
//! `feature_disabled` naming the flag.

use super::{Plan, Project};
use crate::error::ApiError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    NotificationsEmail,
    NotificationsWhatsapp,
    Webhooks,
    PaymentsMercadopago,
}

impl Flag {
    pub const ALL: [Flag; 4] = [
        Self::NotificationsEmail,
        Self::NotificationsWhatsapp,
        Self::Webhooks,
        Self::PaymentsMercadopago,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::NotificationsEmail => "notifications.email",
            Self::NotificationsWhatsapp => "notifications.whatsapp",
            Self::Webhooks => "webhooks",
            Self::PaymentsMercadopago => "payments.mercadopago",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// On unless the project says otherwise; every plan starts with every module on.
    pub fn default_for(self, _plan: Plan) -> bool {
        true
    }
}

/// 403 `feature_disabled` unless `flag` is on for `project`.
pub fn require(project: &Project, flag: Flag) -> Result<(), ApiError> {
    if project.flag(flag) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "feature_disabled",
            format!("the {} module is disabled for this project", flag.name()),
        )
        .with_member("flag", flag.name()))
    }
}
