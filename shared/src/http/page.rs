//! The page parameters every list route reads, with one set of rules: `limit` is 1 to 100
//! (default 50; not a number is `invalid`, outside the range `out_of_range`), and `cursor` is
//! the last id of the previous page (anything else is `invalid`). Problems are added to the
//! caller's list, so a request with several bad parameters hears about all of them.

use super::ApiRequest;
use crate::error::{ApiError, FieldError};
use crate::ids::{Id, IdKind};

pub const DEFAULT_LIMIT: i32 = 50;
pub const MAX_LIMIT: i32 = 100;

/// `limit`, or the default.
pub fn limit(req: &ApiRequest, errors: &mut Vec<FieldError>) -> Result<i32, ApiError> {
    let Some(raw) = req.query("limit")? else {
        return Ok(DEFAULT_LIMIT);
    };
    match raw.parse::<i64>() {
        Ok(n) if (1..=i64::from(MAX_LIMIT)).contains(&n) => {
            Ok(i32::try_from(n).unwrap_or(DEFAULT_LIMIT))
        }
        Ok(_) => {
            errors.push(FieldError::new(
                "limit",
                "out_of_range",
                format!("must be 1 to {MAX_LIMIT}"),
            ));
            Ok(DEFAULT_LIMIT)
        }
        Err(_) => {
            errors.push(FieldError::new(
                "limit",
                "invalid",
                format!("must be an integer, 1 to {MAX_LIMIT}"),
            ));
            Ok(DEFAULT_LIMIT)
        }
    }
}

/// `cursor`: an id of the listed kind, as `next_cursor` gave it.
pub fn cursor<K: IdKind>(
    req: &ApiRequest,
    errors: &mut Vec<FieldError>,
) -> Result<Option<Id<K>>, ApiError> {
    let Some(raw) = req.query("cursor")? else {
        return Ok(None);
    };
    match raw.parse() {
        Ok(id) => Ok(Some(id)),
        Err(_) => {
            errors.push(FieldError::new(
                "cursor",
                "invalid",
                "is not a cursor from a previous page",
            ));
            Ok(None)
        }
    }
}

/// `limit` and `cursor` together; a 422 listing both when either is wrong.
pub fn params<K: IdKind>(req: &ApiRequest) -> Result<(i32, Option<Id<K>>), ApiError> {
    let mut errors = Vec::new();
    let limit = limit(req, &mut errors)?;
    let cursor = cursor::<K>(req, &mut errors)?;
    if errors.is_empty() {
        Ok((limit, cursor))
    } else {
        Err(ApiError::validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;
    use std::collections::HashMap;

    fn request(query: &[(&str, &str)]) -> ApiRequest {
        let q: HashMap<String, String> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ApiRequest::from_lambda(lambda_http::Request::default().with_query_string_parameters(q))
    }

    fn codes(query: &[(&str, &str)]) -> Vec<(String, String)> {
        match params::<crate::ids::Payment>(&request(query)) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .field_errors()
                .iter()
                .map(|f| (f.field.clone(), f.code.clone()))
                .collect(),
        }
    }

    #[test]
    fn defaults_and_bounds_are_the_same_for_every_list() {
        let (limit, cursor) = params::<crate::ids::Payment>(&request(&[]))
            .ok()
            .unwrap_or_default();
        assert_eq!((limit, cursor), (DEFAULT_LIMIT, None));
        let id = crate::ids::PaymentId::new();
        let (limit, cursor) = params::<crate::ids::Payment>(&request(&[
            ("limit", "100"),
            ("cursor", &id.to_string()),
        ]))
        .ok()
        .unwrap_or_default();
        assert_eq!((limit, cursor), (100, Some(id)));
    }

    #[test]
    fn every_bad_parameter_is_named_with_a_stable_code() {
        assert_eq!(
            codes(&[("limit", "0")]),
            [("limit".into(), "out_of_range".into())]
        );
        assert_eq!(
            codes(&[("limit", "101")]),
            [("limit".into(), "out_of_range".into())]
        );
        assert_eq!(
            codes(&[("limit", "ten")]),
            [("limit".into(), "invalid".into())]
        );
        // A cursor of another kind (a notification id for payments) is not a cursor here.
        let other = crate::ids::NotificationId::new().to_string();
        assert_eq!(
            codes(&[("limit", "-1"), ("cursor", &other)]),
            [
                ("limit".into(), "out_of_range".into()),
                ("cursor".into(), "invalid".into())
            ]
        );
    }
}
