//! Money in integer minor units, and exact conversion to and from Mercado Pago's decimal
//! amounts. No float arithmetic happens here: amounts are parsed and printed as decimal text.

use serde::{Deserialize, Serialize};

/// The largest amount accepted, in minor units (10^12: far above any real order, far below
/// any overflow).
pub const MAX_MINOR: u64 = 1_000_000_000_000;

/// Currencies Mercado Pago settles in, with their decimals as Mercado Pago uses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Currency {
    ARS,
    BRL,
    MXN,
    UYU,
    PEN,
    COP,
    CLP,
}

impl Currency {
    pub const ALL: [Currency; 7] = [
        Self::ARS,
        Self::BRL,
        Self::MXN,
        Self::UYU,
        Self::PEN,
        Self::COP,
        Self::CLP,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::ARS => "ARS",
            Self::BRL => "BRL",
            Self::MXN => "MXN",
            Self::UYU => "UYU",
            Self::PEN => "PEN",
            Self::COP => "COP",
            Self::CLP => "CLP",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Digits after the decimal point (CLP has none).
    pub fn decimals(self) -> u32 {
        match self {
            Self::CLP => 0,
            _ => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount is not a plain decimal number")]
    Malformed,
    #[error("amount has more decimals than the currency allows")]
    TooPrecise,
    #[error("amount is out of range")]
    OutOfRange,
}

/// `minor` as the decimal text Mercado Pago expects (`1234` ARS → `12.34`, `1234` CLP → `1234`).
pub fn to_decimal(minor: u64, currency: Currency) -> String {
    match currency.decimals() {
        0 => minor.to_string(),
        d => {
            let unit = 10u64.pow(d);
            format!(
                "{}.{:0width$}",
                minor / unit,
                minor % unit,
                width = d as usize
            )
        }
    }
}

/// Parses a decimal amount (`12.34`, `12.3`, `12`, `1000.0` for CLP) into minor units, exactly.
/// Extra trailing zeros are accepted; any non-zero digit beyond the currency's decimals is not.
pub fn from_decimal(text: &str, currency: Currency) -> Result<u64, AmountError> {
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if whole.is_empty()
        || whole.len() > 13
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (text.contains('.') && frac.is_empty())
    {
        return Err(AmountError::Malformed);
    }
    let d = currency.decimals() as usize;
    let (kept, rest) = frac.split_at(frac.len().min(d));
    if rest.bytes().any(|b| b != b'0') {
        return Err(AmountError::TooPrecise);
    }
    let whole: u64 = whole.parse().map_err(|_| AmountError::Malformed)?;
    let mut fraction: u64 = if kept.is_empty() {
        0
    } else {
        kept.parse().map_err(|_| AmountError::Malformed)?
    };
    for _ in kept.len()..d {
        fraction *= 10;
    }
    let minor = whole
        .checked_mul(10u64.pow(d as u32))
        .and_then(|w| w.checked_add(fraction))
        .ok_or(AmountError::OutOfRange)?;
    if minor > MAX_MINOR {
        return Err(AmountError::OutOfRange);
    }
    Ok(minor)
}

/// A JSON number as Mercado Pago sends it (`12.34`), read through its text.
pub fn from_json(value: &serde_json::Value, currency: Currency) -> Result<u64, AmountError> {
    match value {
        serde_json::Value::Number(n) => from_decimal(&n.to_string(), currency),
        serde_json::Value::String(s) => from_decimal(s, currency),
        serde_json::Value::Null => Ok(0),
        _ => Err(AmountError::Malformed),
    }
}

/// `minor` as a JSON number token for Mercado Pago request bodies (written verbatim).
pub fn to_json_number(
    minor: u64,
    currency: Currency,
) -> Result<Box<serde_json::value::RawValue>, serde_json::Error> {
    serde_json::value::RawValue::from_string(to_decimal(minor, currency))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_amounts() {
        assert_eq!(to_decimal(1234, Currency::ARS), "12.34");
        assert_eq!(to_decimal(5, Currency::BRL), "0.05");
        assert_eq!(to_decimal(1234, Currency::CLP), "1234");
        assert_eq!(from_decimal("12.34", Currency::ARS), Ok(1234));
        assert_eq!(from_decimal("12.3", Currency::ARS), Ok(1230));
        assert_eq!(from_decimal("12", Currency::BRL), Ok(1200));
        assert_eq!(from_decimal("1000.0", Currency::CLP), Ok(1000));
        assert_eq!(
            from_decimal("0.1", Currency::CLP),
            Err(AmountError::TooPrecise)
        );
        assert_eq!(
            from_decimal("1.005", Currency::ARS),
            Err(AmountError::TooPrecise)
        );
        for bad in ["", ".5", "1.", "-1", "1e3", "1,5", " 1"] {
            assert_eq!(
                from_decimal(bad, Currency::ARS),
                Err(AmountError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            from_decimal("99999999999999", Currency::ARS),
            Err(AmountError::Malformed)
        );
    }

    #[test]
    fn json_numbers_from_mercadopago_convert_exactly() {
        let v: serde_json::Value =
            serde_json::from_str("{\"a\": 0.1, \"b\": 19.99, \"c\": 1500}").unwrap();
        assert_eq!(from_json(&v["a"], Currency::ARS), Ok(10));
        assert_eq!(from_json(&v["b"], Currency::BRL), Ok(1999));
        assert_eq!(from_json(&v["c"], Currency::CLP), Ok(1500));
        assert_eq!(to_json_number(1999, Currency::BRL).unwrap().get(), "19.99");
    }

    proptest! {
        #[test]
        fn round_trip_through_text_and_json(minor in 0u64..=MAX_MINOR, i in 0usize..7) {
            let currency = Currency::ALL[i];
            let text = to_decimal(minor, currency);
            prop_assert_eq!(from_decimal(&text, currency), Ok(minor));
            // Through a JSON document, as Mercado Pago echoes it back.
            let doc = format!("{{\"amount\": {}}}", to_json_number(minor, currency).unwrap().get());
            let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
            prop_assert_eq!(from_json(&v["amount"], currency), Ok(minor));
        }
    }
}
