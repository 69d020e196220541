//! The provider sandboxes (Mercado Pago, WhatsApp, a shop's webhook receiver), each behind a
//! switch on its public port so an outage can be played (`outage.rs`).

use super::{bind, StackError, StackOptions};
use crate::outage::Switch;
use std::collections::BTreeMap;

pub(super) struct Sandboxes {
    pub mercadopago: mostrador_sandboxes::mercadopago::Handle,
    pub whatsapp: mostrador_sandboxes::whatsapp::Handle,
    pub receiver: mostrador_sandboxes::receiver::Handle,
    /// The public port of each sandbox, by name (see `outage.rs`).
    pub switches: BTreeMap<&'static str, Switch>,
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
    pub async fn start(options: &StackOptions) -> Result<Self, StackError> {
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
