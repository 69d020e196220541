//! Malformed and unroutable requests: always a 4xx problem+json, never a 5xx or a hang.

use mostrador_tests::{client, expect_problem, shared};

#[tokio::test]
async fn unknown_routes_get_a_problem_404_with_the_request_id() {
    let api = &shared().api_url;
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/v1/nothing"),
        ("POST", "/health/sqs/extra"),
        ("TRACE", "/v1/webhook-endpoints/"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = client()
            .request(method.clone(), format!("{api}{path}"))
            .send()
            .await
            .unwrap();
        let body = expect_problem(response, 404, "route_not_found").await;
        assert!(body["detail"].as_str().unwrap().contains(path), "{body}");
    }
}

/// A path the API serves, asked with a method it does not document: 405 with `Allow` (RFC 9110),
/// as schemathesis's `unsupported_method` check expects; API Gateway sends these to `$default`.
#[tokio::test]
async fn a_known_path_with_an_undocumented_method_is_a_405_naming_the_allowed_ones() {
    let api = &shared().api_url;
    for (method, path, allow) in [
        ("TRACE", "/docs", "GET"),
        ("DELETE", "/health", "GET"),
        ("PUT", "/v1/project", "GET"),
        ("TRACE", "/v1/webhook-endpoints/whe_x", "DELETE, GET, PATCH"),
        ("GET", "/admin/projects/prj_x/keys/key_x/rotate", "POST"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = client()
            .request(method, format!("{api}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["allow"], allow, "{path}");
        let body = expect_problem(response, 405, "method_not_allowed").await;
        assert!(body["detail"].as_str().unwrap().contains(path), "{body}");
    }
}

#[tokio::test]
async fn bad_json_invalid_utf8_and_odd_headers_are_answered_4xx() {
    let api = &shared().api_url;
    let http = client();
    let bodies: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x9f],
        "[".repeat(10_000).into_bytes(),
    ];
    for body in bodies {
        let response = http
            .post(format!("{api}/v1/anything"))
            .header("content-type", "application/json")
            .header(
                "x-api-key",
                reqwest::header::HeaderValue::from_bytes(&[0xc3, 0x28, b'k']).unwrap(),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error(), "{}", response.status());
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
}

#[tokio::test]
async fn bodies_over_the_gateway_limit_are_413() {
    let api = &shared().api_url;
    let huge = vec![b'a'; 10 * 1024 * 1024 + 1];
    let response = client()
        .post(format!("{api}/health"))
        .body(huge)
        .send()
        .await
        .unwrap();
    expect_problem(response, 413, "payload_too_large").await;
}

#[tokio::test]
async fn path_traversal_and_encoded_segments_do_not_escape_routing() {
    let api = &shared().api_url;
    let response = client()
        .get(format!("{api}/health/..%2F..%2Fetc%2Fpasswd"))
        .send()
        .await
        .unwrap();
    expect_problem(response, 404, "unknown_component").await;
}

#[tokio::test]
async fn reversed_time_ranges_are_422_on_every_list_route() {
    let stack = shared();
    let p = stack.project(None).await;
    for path in [
        "/v1/events?since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z",
        "/v1/webhook-deliveries?since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z",
        "/v1/notifications?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z",
    ] {
        let response = stack
            .call(reqwest::Method::GET, path, &p.key)
            .send()
            .await
            .unwrap();
        expect_problem(response, 422, "validation_failed").await;
    }
}
