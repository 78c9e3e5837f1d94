//! The router model: what is in use, reload, training, reroute and override rates.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use hotline_classifier::{Calibration, ModelInfo};
use serde::{Deserialize, Serialize};

use super::ApiResult;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The router model in use: its version (recorded on every ticket it
/// routes), what it was trained on, its figures, and the decision settings.
/// A district-limited token is not shown the training size or the held-out
/// figures: a model trained in the server counts the whole city's tickets.
pub(super) async fn model(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> impl IntoResponse {
    let mut view = model_view(&state);
    if caller.token.district.is_some() {
        view.info = view.info.map(ModelInfoView::without_city_counts);
    }
    Json(view)
}

/// Loads the model installed in the data directory now (after `hotline
/// train --from-store` or `hotline model rollback`), without a restart;
/// requests already running finish with the old one. SIGHUP does the same.
/// Not for a district-limited token ([`crate::auth::CITY_ADMINS`]): the
/// model routes every district's tickets.
pub(super) async fn reload_model(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<impl IntoResponse> {
    let reloaded = state.clone();
    tokio::task::spawn_blocking(move || reloaded.reload_analyzer())
        .await?
        .map_err(|e| {
            tracing::error!(error = %format!("{e:#}"), "model reload failed");
            ApiError::internal("the model could not be loaded; the previous one stays in use")
        })?;
    tracing::info!(token = %caller.token.id, "model reloaded by request");
    Ok(Json(model_view(&state)))
}

#[derive(Debug, Deserialize)]
pub(super) struct TrainParams {
    force: Option<String>,
}

/// One labelled set, scored by the model in use and by the new one.
#[derive(Debug, Serialize)]
pub(super) struct SetComparison {
    data: String,
    rows: usize,
    current_macro_f1: f64,
    new_macro_f1: f64,
    current_routed_precision: f64,
    new_routed_precision: f64,
    current_routed_recall: f64,
    new_routed_recall: f64,
}

#[derive(Debug, Serialize)]
pub(super) struct TrainingView {
    /// Installed and put in use: not worse than the current model on every
    /// set, or `force=true`.
    installed: bool,
    current_version: String,
    new_version: String,
    imported: usize,
    overridden: usize,
    trained_on: usize,
    held_out: usize,
    sets: Vec<SetComparison>,
}

/// `hotline train --from-store` inside the running server: learns from the
/// store it holds (imported topics and operators' overrides), compares with
/// the model in use on a held-out split, and installs and loads the new
/// model only when it is not worse (`force=true`: anyway). It runs on a
/// blocking thread, one at a time (a second is refused, 409), so the request
/// path keeps serving; tickets keep flowing in while it reads them. Not
/// for a district-limited token ([`crate::auth::CITY_ADMINS`]).
pub(super) async fn train_model(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<TrainParams>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let Query(p) = params?;
    let force = match p.force.as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => {
            return Err(ApiError::bad_param(
                "force",
                format!("'{v}' is not true or false"),
            ))
        }
    };
    let token = caller.token.id;
    let view = tokio::task::spawn_blocking(move || -> ApiResult<TrainingView> {
        let _one = match state.training.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                return Err(ApiError::conflict(
                    "a model is being trained already; try again when it is done",
                ))
            }
        };
        let failed = |e: anyhow::Error| {
            tracing::error!(error = %format!("{e:#}"), "training in the server failed");
            ApiError::internal("the training failed; the model in use stays")
        };
        let labels = crate::retrain::store_labels(&state.store).map_err(failed)?;
        let (analyzer, comparison) =
            crate::retrain::train_and_compare(&state.config, state.store.dir(), &labels, &[], &[])
                .map_err(failed)?;
        let installed = force || comparison.not_worse();
        if installed {
            crate::retrain::install(state.store.dir(), &analyzer).map_err(failed)?;
            state.reload_analyzer().map_err(failed)?;
        }
        tracing::info!(
            token = %token,
            version = %comparison.new_version,
            installed,
            "model trained in the server"
        );
        Ok(TrainingView {
            installed,
            current_version: comparison.current_version.clone(),
            new_version: comparison.new_version.clone(),
            imported: labels.imported,
            overridden: labels.overridden,
            trained_on: labels.train.len(),
            held_out: labels.held_out.len(),
            sets: comparison
                .sets
                .iter()
                .map(|(data, current, new)| SetComparison {
                    data: data.clone(),
                    rows: new.rows,
                    current_macro_f1: current.macro_f1,
                    new_macro_f1: new.macro_f1,
                    current_routed_precision: current.routed_precision,
                    new_routed_precision: new.routed_precision,
                    current_routed_recall: current.routed_recall,
                    new_routed_recall: new.routed_recall,
                })
                .collect(),
        })
    })
    .await??;
    Ok(Json(view))
}

#[derive(Debug, Deserialize)]
pub(super) struct RerouteParams {
    from: Option<String>,
    to: Option<String>,
    topic: Option<String>,
}

pub(super) fn lock_job(
    state: &AppState,
) -> std::sync::MutexGuard<'_, Option<crate::reroute::RerouteJob>> {
    state
        .reroute
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `hotline reroute` inside the running server: the model in use applied to
/// the stored decisions of older models, each change one writer request
/// beside the day's traffic (an operator's override made meanwhile is never
/// undone: the writer checks each ticket again). Starts a background run and
/// answers 202 at once; one run at a time (409); `GET` shows its progress.
/// Not for a district-limited token ([`crate::auth::CITY_ADMINS`]): it
/// changes the whole city's history.
pub(super) async fn start_reroute(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<RerouteParams>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let Query(p) = params?;
    let day = |name: &'static str, v: Option<String>| -> ApiResult<Option<chrono::NaiveDate>> {
        v.map(|v| {
            chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
                .map_err(|_| ApiError::bad_param(name, format!("'{v}' is not a date (YYYY-MM-DD)")))
        })
        .transpose()
    };
    let from = day("from", p.from)?;
    let to = day("to", p.to)?;
    if let Some(topic) = &p.topic {
        if state.analyzer().taxonomy().get(topic).is_none() {
            return Err(ApiError::bad_param(
                "topic",
                format!("'{topic}' is not a topic of this year"),
            ));
        }
    }
    let filter = crate::reroute::RerouteFilter {
        from,
        to,
        topic: p.topic,
    };
    let job = {
        let mut current = lock_job(&state);
        if current.as_ref().is_some_and(|j| j.running) {
            return Err(ApiError::conflict(
                "a reroute is running already; GET shows its progress",
            ));
        }
        let job = crate::reroute::RerouteJob {
            running: true,
            started_at: state.clock.now().format("%Y-%m-%dT%H:%M:%S").to_string(),
            ..Default::default()
        };
        *current = Some(job.clone());
        job
    };
    tracing::info!(token = %caller.token.id, "reroute started in the server");
    let worker = state.clone();
    tokio::task::spawn_blocking(move || {
        let outcome = crate::reroute::run(&worker, &filter, |n| {
            if let Some(job) = lock_job(&worker).as_mut() {
                job.checked = n;
            }
        });
        let mut current = lock_job(&worker);
        if let Some(job) = current.as_mut() {
            job.running = false;
            job.finished_at = Some(worker.clock.now().format("%Y-%m-%dT%H:%M:%S").to_string());
            match outcome {
                Ok(summary) => {
                    tracing::info!(
                        changed = summary.changed,
                        checked = summary.checked,
                        "reroute in the server finished"
                    );
                    job.checked = summary.checked;
                    job.summary = Some(summary);
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "reroute in the server failed");
                    job.error = Some("the reroute stopped on a store error; the changes made stay, and a new run goes on where it stopped".into());
                }
            }
        }
    });
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// The latest reroute run in this server: running, how far, what it changed.
/// Its counts are the whole city's: not for a district-limited token
/// ([`crate::auth::CITY_ADMINS`]).
pub(super) async fn reroute_status(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let job = lock_job(&state).clone();
    Ok(Json(RerouteStatus { job }))
}

/// One model's decisions and overrides, all topics and per topic.
#[derive(Debug, Serialize)]
pub(super) struct ModelOverrides {
    version: String,
    routed: u64,
    overridden: u64,
    rate: f64,
    topics: Vec<TopicOverrides>,
}

#[derive(Debug, Serialize)]
pub(super) struct TopicOverrides {
    topic: String,
    name: String,
    routed: u64,
    overridden: u64,
    rate: f64,
}

#[derive(Debug, Serialize)]
pub(super) struct OverridesView {
    /// The version in use, listed first when it has decisions.
    current: String,
    models: Vec<ModelOverrides>,
}

/// How often operators override the router, per model version and topic:
/// read from counted rows, so it costs the same at any number of tickets. A
/// district-limited token sees the decisions of its district only; any
/// token may ask for one district's (`?district=`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OverrideParams {
    district: Option<String>,
}

pub(super) async fn model_overrides(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<OverrideParams>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let Query(p) = params?;
    // One district's decisions: asked for (a short form reads as the
    // district it names), or the token's own; another district is refused.
    let only = caller.district_filter(super::params::district_param(&state, p.district))?;
    let store = state.store.clone();
    let rows = tokio::task::spawn_blocking(move || store.router_decisions()).await??;
    let report = crate::overrides::OverrideReport::from_rows(&rows, |district| {
        only.as_deref().is_none_or(|only| district == Some(only))
    });
    let (analyzer, _) = state.loaded();
    let current = analyzer.router().model().version().to_owned();
    let taxonomy = analyzer.taxonomy();
    let mut models: Vec<ModelOverrides> = report
        .by_model
        .iter()
        .map(|(version, topics)| {
            let total = report.total(version);
            ModelOverrides {
                version: version.clone(),
                routed: total.routed,
                overridden: total.overridden,
                rate: total.rate(),
                topics: topics
                    .iter()
                    .map(|(slug, c)| TopicOverrides {
                        topic: slug.clone(),
                        name: taxonomy
                            .get(slug)
                            .map_or_else(|| slug.clone(), |t| t.name.clone()),
                        routed: c.routed,
                        overridden: c.overridden,
                        rate: c.rate(),
                    })
                    .collect(),
            }
        })
        .collect();
    models.sort_by_key(|m| m.version != current);
    Ok(Json(OverridesView { current, models }))
}

pub(super) fn model_view(state: &AppState) -> ModelView {
    let (analyzer, source) = state.loaded();
    let router = analyzer.router();
    let config = router.config();
    ModelView {
        version: router.model().version().to_owned(),
        info: router.model().info().cloned().map(ModelInfoView::Full),
        source,
        decision: Decision {
            topic_threshold: config.topic_threshold,
            min_confidence: config.min_confidence,
            other_bias: config.other_bias,
            calibration: config.calibration.clone(),
        },
    }
}

/// `GET /model`: the model in use.
#[derive(Debug, Serialize)]
pub(super) struct ModelView {
    version: String,
    info: Option<ModelInfoView>,
    /// Where the model came from (see [`crate::engine::model_source`]).
    source: &'static str,
    decision: Decision,
}

/// What `GET /model` shows of the model's provenance.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(super) enum ModelInfoView {
    Full(ModelInfo),
    /// For a district-limited token: the model's identity and parameters,
    /// without `examples` and `evaluation`, which count every district's
    /// imported and overridden tickets.
    Limited {
        version: String,
        fingerprint: String,
        taxonomy_year: u16,
        params: hotline_classifier::TrainParams,
    },
}

impl ModelInfoView {
    fn without_city_counts(self) -> ModelInfoView {
        match self {
            ModelInfoView::Full(info) => ModelInfoView::Limited {
                version: info.version,
                fingerprint: info.fingerprint,
                taxonomy_year: info.taxonomy_year,
                params: info.params,
            },
            limited => limited,
        }
    }
}

/// The router's decision settings.
#[derive(Debug, Serialize)]
struct Decision {
    topic_threshold: f32,
    min_confidence: f32,
    other_bias: f32,
    calibration: Calibration,
}

/// `GET /model/reroute`: the latest run, if any.
#[derive(Debug, Serialize)]
struct RerouteStatus {
    job: Option<crate::reroute::RerouteJob>,
}
