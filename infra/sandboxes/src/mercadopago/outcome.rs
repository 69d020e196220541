//! Test-card holder names decide a card payment's outcome, exactly as in Mercado Pago's own
//! sandbox. A card token made by `POST /v1/card_tokens` remembers its `cardholder.name`; a token
//! string created elsewhere selects an outcome by containing one of the names (`tok-APRO-1`,
//! `FUND`). Real token ids are hex, which none of the names are, so they never collide.

/// The status a new payment takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub status: &'static str,
    pub status_detail: &'static str,
}

const TABLE: [(&str, Outcome); 8] = [
    (
        "APRO",
        Outcome {
            status: "approved",
            status_detail: "accredited",
        },
    ),
    (
        "OTHE",
        Outcome {
            status: "rejected",
            status_detail: "cc_rejected_other_reason",
        },
    ),
    (
        "CONT",
        Outcome {
            status: "in_process",
            status_detail: "pending_contingency",
        },
    ),
    (
        "FUND",
        Outcome {
            status: "rejected",
            status_detail: "cc_rejected_insufficient_amount",
        },
    ),
    (
        "SECU",
        Outcome {
            status: "rejected",
            status_detail: "cc_rejected_bad_filled_security_code",
        },
    ),
    (
        "EXPI",
        Outcome {
            status: "rejected",
            status_detail: "cc_rejected_bad_filled_date",
        },
    ),
    (
        "FORM",
        Outcome {
            status: "rejected",
            status_detail: "cc_rejected_bad_filled_other",
        },
    ),
    (
        "CALL",
        Outcome {
            status: "rejected",
            status_detail: "cc_rejected_call_for_authorize",
        },
    ),
];

pub const APPROVED: Outcome = TABLE[0].1;

/// The outcome of a holder name: its first word if it is one of the test names, else approved
/// (any other name behaves like a valid card).
pub fn for_holder(name: &str) -> Outcome {
    let first = name
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    TABLE
        .iter()
        .find(|(key, _)| *key == first)
        .map_or(APPROVED, |(_, outcome)| *outcome)
}

/// The outcome a foreign token string names, if it names one.
pub fn in_token(token: &str) -> Option<Outcome> {
    let upper = token.to_ascii_uppercase();
    TABLE
        .iter()
        .find(|(key, _)| upper.contains(key))
        .map(|(_, outcome)| *outcome)
}

/// The holder name for a control-API shortcut (`approve`, `reject`, `pending`), or the name
/// itself.
pub fn holder_for_shortcut(word: &str) -> &str {
    match word {
        "approve" | "approved" => "APRO",
        "reject" | "rejected" => "OTHE",
        "pending" | "in_process" => "CONT",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_names_pick_outcomes() {
        assert_eq!(
            for_holder("FUND").status_detail,
            "cc_rejected_insufficient_amount"
        );
        assert_eq!(for_holder("cont lastname").status, "in_process");
        assert_eq!(for_holder("Jane Doe"), APPROVED);
        assert_eq!(in_token("tok_secu_1").map(|o| o.status), Some("rejected"));
        assert_eq!(in_token("ff8080814c11e237014c1ff593b57b4d"), None);
    }
}
