//! Every log line the stack wrote during the suite, scanned for secrets and personal data:
//! API keys, webhook secrets, provider tokens and app secrets, and any e-mail address or phone
//! number the suite used (plus anything shaped like an e-mail address or an E.164 number).

use crate::world::{Shop, WA_APP_SECRET, WEBHOOK_SECRET_MP};

#[derive(Debug, Default)]
pub struct Scan {
    pub lines: usize,
    pub needles: usize,
    pub hits: Vec<String>,
    pub scrubbed_lines: u64,
}

fn looks_like_email(line: &str) -> Option<String> {
    let b = line.as_bytes();
    for (i, _) in line.match_indices('@') {
        let local = b[..i]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || b"._%+-".contains(c))
            .count();
        let domain: String = line[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
            .collect();
        let tld_ok = domain
            .rsplit('.')
            .next()
            .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
        if local > 0 && domain.contains('.') && tld_ok {
            return Some(line[i - local..i + 1 + domain.len()].to_owned());
        }
    }
    None
}

fn looks_like_phone(line: &str) -> Option<String> {
    for (i, _) in line.match_indices('+') {
        let digits: String = line[i + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if (8..=15).contains(&digits.len()) {
            return Some(format!("+{digits}"));
        }
    }
    None
}

/// Meta access tokens start with `EAAG`/`EAA…`; a bare substring would also match inside the
/// uppercase Crockford base32 of a ULID (`evt_01M92QRYN63HGQEAAG81…`), so only a token that
/// starts a word counts.
fn looks_like_meta_token(line: &str) -> Option<String> {
    line.match_indices("EAAG")
        .find(|(i, _)| {
            line[..*i]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_')
        })
        .map(|_| "EAAG…".to_owned())
}

pub fn scan(shops: &[Shop], used: &[String]) -> Scan {
    let lines = mostrador_tests::log_lines();
    let mut needles: Vec<String> = vec![
        "mk_live_".into(),
        "whsec_".into(),
        "APP_USR-".into(),
        "$argon2".into(),
        WA_APP_SECRET.into(),
        WEBHOOK_SECRET_MP.into(),
    ];
    for s in shops {
        needles.extend([s.mp_token.clone(), s.wa_token.clone(), s.domain.clone()]);
    }
    for u in used {
        needles.push(u.clone());
        needles.push(u.trim_start_matches('+').to_owned());
    }
    let mut out = Scan {
        lines: lines.len(),
        needles: needles.len(),
        ..Default::default()
    };
    for line in &lines {
        let mut found: Vec<String> = needles
            .iter()
            .filter(|n| line.contains(n.as_str()))
            .cloned()
            .collect();
        found.extend(looks_like_email(line));
        found.extend(looks_like_phone(line));
        found.extend(looks_like_meta_token(line));
        if !found.is_empty() {
            out.hits
                .push(format!("{found:?} in: {}", &line[..line.len().min(400)]));
        }
    }
    out.scrubbed_lines = mostrador::telemetry::scrubbed_lines();
    out
}
