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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ProjectId;

    fn project(flags: &[(&str, bool)]) -> Project {
        Project {
            id: ProjectId::new(),
            name: "p".into(),
            domain: "p.example.com".into(),
            plan: Plan::Free,
            active: true,
            flags: flags.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            limit_overrides: Default::default(),
            contact_email: None,
            email_from: None,
            providers: Default::default(),
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn a_disabled_module_is_a_403_naming_the_flag() {
        let err = require(
            &project(&[("payments.mercadopago", false)]),
            Flag::PaymentsMercadopago,
        )
        .unwrap_err();
        assert_eq!(
            (err.status().as_u16(), err.code()),
            (403, "feature_disabled")
        );
        assert_eq!(err.problem("r")["flag"], "payments.mercadopago");
        assert!(
            require(&project(&[]), Flag::PaymentsMercadopago).is_ok(),
            "on by default"
        );
        assert!(require(&project(&[("webhooks", true)]), Flag::Webhooks).is_ok());
    }

    #[test]
    fn flag_names_round_trip() {
        for flag in Flag::ALL {
            assert_eq!(Flag::parse(flag.name()), Some(flag));
        }
        assert_eq!(Flag::parse("teleport"), None);
    }
}
