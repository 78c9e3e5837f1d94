//! The API's one route list: each route's method, path, who may call it and its handler, read by the router, the permission check and the API document's test.

use axum::routing::{on, MethodFilter, MethodRouter};

use super::{admin, meta, model, search, stats, tickets};
use crate::app::AppState;
use crate::auth::Access::{self, AnyRole, Public};
use crate::auth::{ADMINS, CITY_ADMINS, OPERATORS, READERS, SUPERVISORS};
use crate::dispatch;

/// One route of the API: `method path`, who may call it, and its handler.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    /// The route as the router declares it (`{id}` for parameters).
    pub path: &'static str,
    pub access: Access,
    /// The handler for `method` (`on(filter, handler)`: a table entry
    /// cannot hold the handlers themselves, whose types differ).
    handler: fn(MethodFilter) -> MethodRouter<AppState>,
}

impl Route {
    /// The route's method and handler, for the router.
    pub(super) fn method_router(&self) -> MethodRouter<AppState> {
        let filter = match self.method {
            "GET" => MethodFilter::GET,
            "POST" => MethodFilter::POST,
            "PUT" => MethodFilter::PUT,
            "DELETE" => MethodFilter::DELETE,
            other => unreachable!("{other} {}: a method ROUTES does not use", self.path),
        };
        (self.handler)(filter)
    }
}

const fn route(
    method: &'static str,
    path: &'static str,
    access: Access,
    handler: fn(MethodFilter) -> MethodRouter<AppState>,
) -> Route {
    Route {
        method,
        path,
        access,
        handler,
    }
}

/// Every route under /api/v1, who may call it and what answers it: the
/// router is built from this list, and [`crate::auth::require_token`] checks
/// each request against it (a route missing from it answers 403 to every
/// token: fail closed). `HEAD` follows `GET`.
pub const ROUTES: &[Route] = &[
    route("GET", "/api/v1/health", Public, |m| on(m, meta::health)),
    route("GET", "/api/v1/openapi.json", Public, |m| {
        on(m, meta::openapi)
    }),
    route("GET", "/api/v1/me", AnyRole, |m| on(m, admin::me)),
    route("GET", "/api/v1/topics", AnyRole, |m| on(m, meta::topics)),
    route("GET", "/api/v1/model", AnyRole, |m| on(m, model::model)),
    route("POST", "/api/v1/model/reload", CITY_ADMINS, |m| {
        on(m, model::reload_model)
    }),
    route("GET", "/api/v1/model/overrides", SUPERVISORS, |m| {
        on(m, model::model_overrides)
    }),
    route("POST", "/api/v1/model/train", CITY_ADMINS, |m| {
        on(m, model::train_model)
    }),
    route("POST", "/api/v1/model/reroute", CITY_ADMINS, |m| {
        on(m, model::start_reroute)
    }),
    route("GET", "/api/v1/model/reroute", CITY_ADMINS, |m| {
        on(m, model::reroute_status)
    }),
    route("POST", "/api/v1/classify", OPERATORS, |m| {
        on(m, tickets::classify)
    }),
    route("POST", "/api/v1/tickets", OPERATORS, |m| {
        on(m, tickets::submit)
    }),
    route("PUT", "/api/v1/tickets/{id}/topic", OPERATORS, |m| {
        on(m, tickets::set_topic)
    }),
    route("POST", "/api/v1/tickets/{id}/events", OPERATORS, |m| {
        on(m, tickets::add_event)
    }),
    route("GET", "/api/v1/tickets/{id}", READERS, |m| {
        on(m, tickets::show)
    }),
    route("GET", "/api/v1/search", READERS, |m| on(m, search::search)),
    route("GET", "/api/v1/stats", SUPERVISORS, |m| on(m, stats::stats)),
    route("GET", "/api/v1/queue", READERS, |m| on(m, dispatch::queue)),
    route("GET", "/api/v1/hotspots", READERS, |m| {
        on(m, dispatch::hotspots)
    }),
    route("GET", "/api/v1/export/stats", SUPERVISORS, |m| {
        on(m, stats::export_stats)
    }),
    route("GET", "/api/v1/export/search", SUPERVISORS, |m| {
        on(m, search::export_search)
    }),
    route("GET", "/api/v1/audit", ADMINS, |m| on(m, admin::audit)),
    route("GET", "/api/v1/tokens", ADMINS, |m| {
        on(m, admin::list_tokens)
    }),
    route("POST", "/api/v1/tokens", ADMINS, |m| {
        on(m, admin::create_token)
    }),
    route("DELETE", "/api/v1/tokens/{id}", ADMINS, |m| {
        on(m, admin::revoke_token)
    }),
];

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use serde::de::{DeserializeOwned, Visitor};
    use serde_json::Value;

    use super::*;

    /// Stops a probe once it has the field names.
    #[derive(Debug)]
    struct Stop;

    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("probe")
        }
    }

    impl std::error::Error for Stop {}

    impl serde::de::Error for Stop {
        fn custom<T: std::fmt::Display>(_: T) -> Stop {
            Stop
        }
    }

    /// A deserializer that only records the field names a derived struct asks for.
    struct Probe<'a>(&'a mut Vec<&'static str>);

    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = Stop;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0.extend_from_slice(fields);
            Err(Stop)
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    /// The names a handler's query or body struct accepts.
    fn fields<T: DeserializeOwned>() -> BTreeSet<String> {
        let mut names = Vec::new();
        let _ = T::deserialize(Probe(&mut names));
        assert!(
            !names.is_empty(),
            "{}: no fields",
            std::any::type_name::<T>()
        );
        names.into_iter().map(str::to_owned).collect()
    }

    fn without(mut names: BTreeSet<String>, name: &str) -> BTreeSet<String> {
        assert!(names.remove(name), "{name} is not a field");
        names
    }

    /// The query parameters each handler reads (none for the routes not listed).
    fn query_parameters() -> BTreeMap<(&'static str, &'static str), BTreeSet<String>> {
        use super::super::{admin, model, search, stats};
        BTreeMap::from([
            // `format` is refused there, with a pointer to the export.
            (
                ("GET", "/api/v1/search"),
                without(fields::<search::SearchParams>(), "format"),
            ),
            (
                ("GET", "/api/v1/stats"),
                without(fields::<stats::StatsParams>(), "format"),
            ),
            (
                ("GET", "/api/v1/export/search"),
                fields::<search::SearchParams>(),
            ),
            (
                ("GET", "/api/v1/export/stats"),
                fields::<stats::StatsParams>(),
            ),
            (
                ("GET", "/api/v1/queue"),
                fields::<crate::dispatch::QueueParams>(),
            ),
            (
                ("GET", "/api/v1/hotspots"),
                fields::<crate::dispatch::HotspotParams>(),
            ),
            (
                ("POST", "/api/v1/model/train"),
                fields::<model::TrainParams>(),
            ),
            (
                ("POST", "/api/v1/model/reroute"),
                fields::<model::RerouteParams>(),
            ),
            (("GET", "/api/v1/audit"), fields::<admin::AuditParams>()),
            (
                ("GET", "/api/v1/model/overrides"),
                fields::<model::OverrideParams>(),
            ),
        ])
    }

    /// The JSON body each handler reads: its fields, or None when the
    /// body is not a plain struct (an event is one of several shapes).
    fn bodies() -> BTreeMap<(&'static str, &'static str), Option<BTreeSet<String>>> {
        use super::super::{admin, tickets};
        BTreeMap::from([
            (
                ("POST", "/api/v1/tickets"),
                Some(fields::<crate::intake::TicketInput>()),
            ),
            (
                ("PUT", "/api/v1/tickets/{id}/topic"),
                Some(fields::<tickets::TopicChange>()),
            ),
            (("POST", "/api/v1/tickets/{id}/events"), None),
            (
                ("POST", "/api/v1/classify"),
                Some(fields::<tickets::ClassifyInput>()),
            ),
            (
                ("POST", "/api/v1/tokens"),
                Some(fields::<admin::TokenInput>()),
            ),
        ])
    }

    fn names_in(parameters: &Value, place: &str) -> BTreeSet<String> {
        parameters
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == place)
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect()
    }

    /// The API document (`openapi/*.json`, written by hand), against
    /// [`ROUTES`]: the same routes with the same methods, each route's path
    /// and query parameters and request body as its handler reads them, and
    /// no token asked of the public routes.
    #[test]
    fn the_api_document_matches_the_routes_path_by_path_and_method_by_method() {
        let doc = crate::openapi::assemble().unwrap_or_else(|e| panic!("{e}"));
        let mut documented = BTreeMap::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("a path item") {
                assert!(
                    ["get", "post", "put", "delete"].contains(&method.as_str()),
                    "{path}: '{method}' is not a method the API uses"
                );
                documented.insert((method.to_uppercase(), path.clone()), operation);
            }
        }
        let routed: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_owned(), r.path.to_owned()))
            .collect();
        assert_eq!(routed.len(), ROUTES.len(), "a route is listed twice");
        let listed: BTreeSet<_> = documented.keys().cloned().collect();
        assert_eq!(
            listed.difference(&routed).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "documented, but no such route"
        );
        assert_eq!(
            routed.difference(&listed).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "routed, but not documented"
        );
        let queries = query_parameters();
        let bodies = bodies();
        for key in queries.keys().chain(bodies.keys()) {
            assert!(
                ROUTES.iter().any(|r| (r.method, r.path) == *key),
                "{key:?}: not a route"
            );
        }
        let schemas = &doc["components"]["schemas"];
        for r in ROUTES {
            let route = format!("{} {}", r.method, r.path);
            let operation = documented[&(r.method.to_owned(), r.path.to_owned())];
            let parameters = &operation["parameters"];
            let in_path: BTreeSet<String> = r
                .path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .map(str::to_owned)
                .collect();
            assert_eq!(
                names_in(parameters, "path"),
                in_path,
                "{route}: path parameters"
            );
            let query = queries
                .get(&(r.method, r.path))
                .cloned()
                .unwrap_or_default();
            assert_eq!(
                names_in(parameters, "query"),
                query,
                "{route}: query parameters"
            );
            let body = &operation["requestBody"]["content"]["application/json"]["schema"];
            match bodies.get(&(r.method, r.path)) {
                None => assert!(body.is_null(), "{route}: documents a body it does not read"),
                Some(None) => assert!(!body.is_null(), "{route}: its body is not documented"),
                Some(Some(fields)) => {
                    let schema = match body["$ref"].as_str() {
                        Some(reference) => {
                            let name = reference
                                .strip_prefix("#/components/schemas/")
                                .expect("a schema of the document");
                            &schemas[name]
                        }
                        None => body,
                    };
                    let properties: BTreeSet<String> = schema["properties"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(name, _)| name.clone())
                        .collect();
                    assert_eq!(&properties, fields, "{route}: body fields");
                }
            }
            let public = operation["security"] == serde_json::json!([]);
            assert_eq!(
                public,
                r.access == Access::Public,
                "{route}: a token is asked for in the document iff the route asks for one"
            );
        }
    }

    /// The snippet's fragments are documented as the store serialises them.
    #[test]
    fn the_api_document_describes_snippet_fragments_as_sent() {
        let doc = crate::openapi::assemble().unwrap_or_else(|e| panic!("{e}"));
        let schemas = &doc["components"]["schemas"];
        let documented: BTreeSet<String> = schemas["SnippetFragment"]["properties"]
            .as_object()
            .expect("SnippetFragment")
            .keys()
            .cloned()
            .collect();
        let sent = serde_json::to_value(hotline_store::Fragment::marked("充电桩")).expect("JSON");
        let sent: BTreeSet<String> = sent
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        assert_eq!(documented, sent);
        assert_eq!(
            schemas["SearchHit"]["properties"]["snippet"]["items"]["$ref"],
            "#/components/schemas/SnippetFragment"
        );
    }
}
