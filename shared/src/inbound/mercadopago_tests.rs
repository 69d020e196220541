use super::*;
use proptest::prelude::*;

const REQUEST_ID: &str = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e";
const MS_TS: &str = "1742505638683";
const MS_SIG: &str = "5e0a7ed2ea5ece575e9d1a9bb80f7ce6ca43d6d30e8be93413bae108b94ad7cd";
const S_SIG: &str = "a85cce0f61742409b757e34e57c6368d3b9e6057b39550158d77dc7ea037806c";

fn secret() -> InboundSecret {
    InboundSecret::new("your_secret_key_here").unwrap()
}

fn at_secs(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

#[test]
fn reference_vectors() {
    let full = manifest(Some("123456"), Some(REQUEST_ID), Some(MS_TS));
    assert_eq!(
        full,
        format!("id:123456;request-id:{REQUEST_ID};ts:{MS_TS};")
    );
    assert_eq!(sign(&secret(), &full), MS_SIG);
    let ts_only = manifest(None, None, Some("1704908010"));
    assert_eq!(ts_only, "ts:1704908010;");
    assert_eq!(sign(&secret(), &ts_only), S_SIG);
}

#[test]
fn reference_vectors_verify_with_both_ts_units() {
    let header = format!("ts={MS_TS},v1={MS_SIG}");
    let n = Notification {
        data_id: Some("123456"),
        request_id: Some(REQUEST_ID),
        signature: Some(&header),
    };
    assert_eq!(
        verify(&secret(), &n, at_secs(1_742_505_638), DEFAULT_TOLERANCE),
        Ok(())
    );
    let header = format!(" v1 = {S_SIG} , ts = 1704908010 ");
    let n = Notification {
        data_id: None,
        request_id: None,
        signature: Some(&header),
    };
    assert_eq!(
        verify(&secret(), &n, at_secs(1_704_908_010), DEFAULT_TOLERANCE),
        Ok(())
    );
}

#[test]
fn freshness_is_checked_after_the_signature() {
    let header = format!("ts=1704908010,v1={S_SIG}");
    let n = Notification {
        data_id: None,
        request_id: None,
        signature: Some(&header),
    };
    let tol = Duration::minutes(10);
    assert_eq!(
        verify(&secret(), &n, at_secs(1_704_908_010 + 600), tol),
        Ok(())
    );
    assert_eq!(
        verify(&secret(), &n, at_secs(1_704_908_010 + 601), tol),
        Err(SignatureError::TimestampTooOld)
    );
    assert_eq!(
        verify(&secret(), &n, at_secs(1_704_908_010 - 601), tol),
        Err(SignatureError::TimestampTooNew)
    );
    let forged = "ts=1704908010,v1=00";
    let n = Notification {
        signature: Some(forged),
        ..n
    };
    assert_eq!(
        verify(&secret(), &n, at_secs(0), tol),
        Err(SignatureError::Mismatch),
        "a forgery is a mismatch, never 'stale'"
    );
}

#[test]
fn tampering_is_a_mismatch() {
    let header = format!("ts={MS_TS},v1={MS_SIG}");
    let now = at_secs(1_742_505_638);
    let ok = Notification {
        data_id: Some("123456"),
        request_id: Some(REQUEST_ID),
        signature: Some(&header),
    };
    for n in [
        Notification {
            data_id: Some("123457"),
            ..ok
        },
        Notification {
            data_id: None,
            ..ok
        },
        Notification {
            request_id: Some("other"),
            ..ok
        },
    ] {
        assert_eq!(
            verify(&secret(), &n, now, DEFAULT_TOLERANCE),
            Err(SignatureError::Mismatch)
        );
    }
    let other = InboundSecret::new("another").unwrap();
    assert_eq!(
        verify(&other, &ok, now, DEFAULT_TOLERANCE),
        Err(SignatureError::Mismatch)
    );
    let upper = format!("ts={MS_TS},v1={}", MS_SIG.to_uppercase());
    let n = Notification {
        signature: Some(&upper),
        ..ok
    };
    assert_eq!(
        verify(&secret(), &n, now, DEFAULT_TOLERANCE),
        Ok(()),
        "hex case is irrelevant"
    );
}

#[test]
fn data_ids_verify_verbatim_or_lowercased() {
    assert_eq!(
        manifest(Some("ORD01ABC"), None, Some("1")),
        "id:ORD01ABC;ts:1;",
        "signed verbatim, as Mercado Pago and its SDKs do"
    );
    let now = at_secs(1_704_908_010);
    // Verbatim (what the SDKs sign since June 2026) and lowercased (the docs' rule) both verify.
    for signed_as in ["ORD01ABC", "ord01abc"] {
        let header = signature_header(&secret(), Some(signed_as), Some(REQUEST_ID), "1704908010");
        let n = Notification {
            data_id: Some("ORD01ABC"),
            request_id: Some(REQUEST_ID),
            signature: Some(&header),
        };
        assert_eq!(
            verify(&secret(), &n, now, DEFAULT_TOLERANCE),
            Ok(()),
            "{signed_as}"
        );
    }
    // Any other spelling is a forgery, and ids with separators are never folded.
    let header = signature_header(&secret(), Some("Ord01abc"), Some(REQUEST_ID), "1704908010");
    let n = Notification {
        data_id: Some("ORD01ABC"),
        request_id: Some(REQUEST_ID),
        signature: Some(&header),
    };
    assert_eq!(
        verify(&secret(), &n, now, DEFAULT_TOLERANCE),
        Err(SignatureError::Mismatch)
    );
    let header = signature_header(&secret(), Some("a-b"), None, "1704908010");
    let n = Notification {
        data_id: Some("A-B"),
        request_id: None,
        signature: Some(&header),
    };
    assert_eq!(
        verify(&secret(), &n, now, DEFAULT_TOLERANCE),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn freshness_window_is_the_same_in_seconds_and_milliseconds() {
    // The same instant, 2024-01-10T17:33:30Z, in both units Mercado Pago is documented to use.
    let signed = at_secs(1_704_908_010);
    let tol = Duration::minutes(5);
    for ts in ["1704908010", "1704908010000"] {
        let header = signature_header(&secret(), Some("1"), Some(REQUEST_ID), ts);
        let n = Notification {
            data_id: Some("1"),
            request_id: Some(REQUEST_ID),
            signature: Some(&header),
        };
        let at = |d: Duration| verify(&secret(), &n, signed + d, tol);
        assert_eq!(at(Duration::ZERO), Ok(()), "{ts}");
        assert_eq!(at(tol), Ok(()), "{ts}: the edge is inside");
        assert_eq!(at(-tol), Ok(()), "{ts}: clock skew either way");
        assert_eq!(
            at(tol + Duration::milliseconds(1)),
            Err(SignatureError::TimestampTooOld),
            "{ts}"
        );
        assert_eq!(
            at(-tol - Duration::milliseconds(1)),
            Err(SignatureError::TimestampTooNew),
            "{ts}"
        );
    }
    // Milliseconds keep their precision: 499 ms past the window is stale, 1 ms inside is not.
    let header = signature_header(&secret(), None, None, "1704908010499");
    let n = Notification {
        data_id: None,
        request_id: None,
        signature: Some(&header),
    };
    let edge = signed + Duration::milliseconds(499) + tol;
    assert_eq!(verify(&secret(), &n, edge, tol), Ok(()));
    assert_eq!(
        verify(&secret(), &n, edge + Duration::milliseconds(1), tol),
        Err(SignatureError::TimestampTooOld)
    );
}

#[test]
fn a_unit_is_never_guessed_from_the_value() {
    // Read as seconds, today's milliseconds would be ~55,000 years away; read as milliseconds,
    // today's seconds would be January 1970. Length alone decides, so both are "now".
    let now = at_secs(1_764_900_000);
    assert_eq!(parse_ts("1764900000"), Ok(now));
    assert_eq!(parse_ts("1764900000000"), Ok(now));
    // Microseconds and 11/12-digit values have no unit Mercado Pago uses: refused, even signed.
    for ts in ["1764900000000000", "17649000000", "176490000000"] {
        let header = signature_header(&secret(), None, None, ts);
        let n = Notification {
            data_id: None,
            request_id: None,
            signature: Some(&header),
        };
        assert_eq!(
            verify(&secret(), &n, now, DEFAULT_TOLERANCE),
            Err(SignatureError::InvalidTimestamp),
            "{ts}"
        );
    }
}

#[test]
fn header_errors() {
    let cases = [
        ("", SignatureError::MissingTimestamp),
        ("v1=ab", SignatureError::MissingTimestamp),
        ("ts=1704908010", SignatureError::MissingV1),
        ("ts=1704908010,v1=", SignatureError::MissingV1),
        ("ts=1,ts=2,v1=ab", SignatureError::MalformedHeader),
        ("ts:1,v1:ab", SignatureError::MalformedHeader),
    ];
    for (input, err) in cases {
        assert_eq!(parse_signature_header(input), Err(err), "{input:?}");
    }
    assert!(parse_signature_header("v2=zz,ts=1,v1=ab,").is_ok());
    let n = Notification {
        data_id: None,
        request_id: None,
        signature: None,
    };
    assert_eq!(
        verify(&secret(), &n, at_secs(0), DEFAULT_TOLERANCE),
        Err(SignatureError::MissingHeader)
    );
    let bad_hex = Notification {
        signature: Some("ts=1704908010,v1=xyz"),
        ..n
    };
    assert_eq!(
        verify(&secret(), &bad_hex, at_secs(0), DEFAULT_TOLERANCE),
        Err(SignatureError::MalformedHeader)
    );
}

#[test]
fn ts_units() {
    assert_eq!(parse_ts("1704908010"), Ok(at_secs(1_704_908_010)));
    assert_eq!(
        parse_ts("1742505638683"),
        Ok(at_secs(1_742_505_638) + Duration::milliseconds(683))
    );
    for bad in [
        "",
        "17049080",
        "17049080101",
        "+704908010",
        "-704908010",
        "1704908010.5",
    ] {
        assert_eq!(
            parse_ts(bad),
            Err(SignatureError::InvalidTimestamp),
            "{bad:?}"
        );
    }
}

proptest! {
    #[test]
    fn signed_headers_round_trip(
        id in proptest::option::of("[0-9a-z]{1,20}"),
        request_id in proptest::option::of("[0-9a-f-]{1,36}"),
        secs in 1_000_000_000i64..9_999_999_999,
        millis in any::<bool>(),
    ) {
        let ts = if millis { format!("{secs}000") } else { secs.to_string() };
        let header = signature_header(&secret(), id.as_deref(), request_id.as_deref(), &ts);
        let n = Notification {
            data_id: id.as_deref(),
            request_id: request_id.as_deref(),
            signature: Some(&header),
        };
        prop_assert_eq!(verify(&secret(), &n, at_secs(secs), DEFAULT_TOLERANCE), Ok(()));
    }

    #[test]
    fn header_parser_never_panics(s in "\\PC{0,200}") {
        let _ = parse_signature_header(&s);
        let _ = parse_ts(&s);
    }
}
