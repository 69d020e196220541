//! Local sandboxes that speak the real wire formats of the systems Mostrador talks to, so the
//! whole product runs offline: Mercado Pago, the WhatsApp Cloud API, and a shop's webhook
//! receiver. The devstack starts them beside the emulators.

pub mod mercadopago;
pub mod receiver;
pub mod whatsapp;
