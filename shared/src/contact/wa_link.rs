//! WhatsApp click-to-chat links (`link` mode): the shop opens the link and sends by hand.

use std::fmt::Write as _;

use super::Phone;

/// `https://wa.me/<digits>?text=<text>`, the text encoded as JavaScript's `encodeURIComponent`
/// does; with an empty text, just `https://wa.me/<digits>`.
///
/// Form encoding (space as `+`) would show literal plus signs in the chat, hence the
/// hand-written encoder.
pub fn wa_link(phone: &Phone, text: &str) -> String {
    let mut link = format!("https://wa.me/{}", phone.digits());
    if !text.is_empty() {
        link.push_str("?text=");
        link.push_str(&encode_uri_component(text));
    }
    link
}

/// Percent-encodes every UTF-8 byte except `A-Z a-z 0-9 - _ . ! ~ * ' ( )`, exactly like
/// JavaScript's `encodeURIComponent` (upper-case hex).
pub fn encode_uri_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn percent_decode(encoded: &str) -> Vec<u8> {
        let bytes = encoded.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn encodes_like_encode_uri_component() {
        // Expected values from `encodeURIComponent` in a browser console.
        assert_eq!(
            encode_uri_component("Hola Ana!\nTu pedido #12 & más: 50% + envío = $1.200 (ok) ~'*"),
            "Hola%20Ana!%0ATu%20pedido%20%2312%20%26%20m%C3%A1s%3A%2050%25%20%2B%20env%C3%ADo%20%3D%20%241.200%20(ok)%20~'*"
        );
        assert_eq!(encode_uri_component("a/b?c=d"), "a%2Fb%3Fc%3Dd");
        assert_eq!(encode_uri_component("👍"), "%F0%9F%91%8D");
    }

    #[test]
    fn builds_the_link_from_digits() {
        let phone = Phone::parse("+54 9 11 5555-0000").unwrap();
        assert_eq!(
            wa_link(&phone, "Hola Ana & Luis"),
            "https://wa.me/5491155550000?text=Hola%20Ana%20%26%20Luis"
        );
        assert_eq!(wa_link(&phone, ""), "https://wa.me/5491155550000");
    }

    proptest! {
        #[test]
        fn decoding_gives_back_the_text(text in "\\PC*|[ \n&+%=?#]*") {
            let phone = Phone::parse("+5491155550000").unwrap();
            let link = wa_link(&phone, &text);
            let query = link.split_once("?text=").map_or("", |(_, q)| q);
            prop_assert_eq!(percent_decode(query), text.as_bytes().to_vec());
            prop_assert!(query.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()%".contains(&b)));
        }
    }
}
