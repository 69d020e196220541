//! Contact details of a notification's recipient: [`Email`], [`Phone`] and the WhatsApp
//! click-to-chat link built from a phone ([`wa_link`]).
//!
//! Each type has exactly one constructor (`parse`), so a value of the type is always valid and
//! normalised; `serde` goes through the same parser. Their `Debug` output is masked because
//! logs must never contain personal data; `Display` prints the real value for the places that
//! need it (the SES call, the WhatsApp link).

mod email;
mod phone;
mod wa_link;

pub use email::{Email, EmailError};
pub use phone::{Phone, PhoneError};
pub use wa_link::{encode_uri_component, wa_link};
