#![no_main]
//! Any bytes as the JSON body of every API route that takes one, through the
//! real router (`hotline::server::app`) over a real store on disk: the answer
//! is a 2xx or a 4xx, or 503 when shedding load, never another 5xx and never
//! a panic. The first byte picks the route; the rest is the body.
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Method, Request};
use hotline::config::Config;
use hotline::AppState;
use hotline_store::{Issuer, NewToken, Role, Store};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    operator: String,
    admin: String,
    ticket: String,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = Config::load(None).expect("the built-in configuration");
        let analyzer = hotline::engine::build_analyzer(&config).expect("the built-in analyzer");
        let store = Store::open(dir.path(), config.store.clone()).expect("a store");
        let state = AppState::new(Arc::new(analyzer), store, Arc::new(config)).expect("a state");
        let token = |role: Role| {
            let new = NewToken { name: "fuzz".into(), role, pii: true, district: None };
            state.tokens.create(new, Issuer::Local).expect("a token").1
        };
        let (operator, admin) = (token(Role::Operator), token(Role::Admin));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let router = hotline::server::app(state);
        // One ticket for the routes that take an id.
        let created = runtime.block_on(router.clone().oneshot(request(
            Method::POST,
            "/api/v1/tickets",
            &operator,
            r#"{"text":"小区楼道里有人飞线给电动车充电"}"#.as_bytes().to_vec(),
        )));
        let created = created.expect("an answer");
        assert_eq!(created.status(), 201);
        let body = runtime
            .block_on(axum::body::to_bytes(created.into_body(), 1 << 20))
            .expect("a body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        let ticket = body["id"].as_str().expect("an id").to_owned();
        Fixture { runtime, router, operator, admin, ticket, _dir: dir }
    })
}

fn request(method: Method, uri: &str, token: &str, body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("a request")
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let f = fixture();
    let id = &f.ticket;
    let (method, uri, token) = match pick % 5 {
        0 => (Method::POST, "/api/v1/tickets".to_owned(), &f.operator),
        1 => (Method::PUT, format!("/api/v1/tickets/{id}/topic"), &f.operator),
        2 => (Method::POST, format!("/api/v1/tickets/{id}/events"), &f.operator),
        3 => (Method::POST, "/api/v1/classify".to_owned(), &f.operator),
        _ => (Method::POST, "/api/v1/tokens".to_owned(), &f.admin),
    };
    let answer = f
        .runtime
        .block_on(f.router.clone().oneshot(request(method, &uri, token, body.to_vec())))
        .expect("the router always answers");
    let status = answer.status();
    assert!(
        !status.is_server_error() || status == 503,
        "{status} for {uri}"
    );
});
