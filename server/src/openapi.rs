//! The OpenAPI 3.1 document of `/api/v1`, generated from the handlers'
//! annotations (`#[utoipa::path]` in [`crate::api`] and [`crate::signin`])
//! and the wire types' derived schemas (`shared`'s `openapi` feature).
//!
//! What every route shares is not annotated route by route but taken from
//! the one place that decides it, the access policy ([`crate::policy`]):
//! whether a route needs a session or token, the 401 and 403 it can answer,
//! and the answers of a write (busy, storage full) and of a body too large.
//! So the document cannot say a route is public when the guard refuses it.
//! `docs/openapi.json` is this document as checked in; `cargo xtask openapi`
//! writes it and CI fails when it differs.

use shared::api::{ApiError, ErrorCode};
use shared::auth::{Principal, PrincipalKind, Role};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, SecurityRequirement};
use utoipa::openapi::security::{Http, SecurityScheme};
use utoipa::openapi::{Components, Content, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::policy::{self, Need};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "cablewatch",
        description = "Taiwan's subsea-cable faults, backup assets, island resilience and \
            repairs: the system behind the Ministry of Digital Affairs' 海纜障礙資訊一覽表. \
            Errors are answered as `ApiError` with the status its `error` code names. \
            Reads take `?as_of=` (a moment, or a date in Taipei) where they say so.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        crate::api::healthz,
        crate::api::readyz,
        serve,
        crate::signin::api_sign_in,
        crate::signin::api_sign_out,
        crate::signin::change_password,
        crate::api::list_faults,
        crate::api::create_fault,
        crate::api::get_fault,
        crate::api::update_fault,
        crate::api::faults_geojson,
        crate::api::cables,
        crate::api::stations,
        crate::api::cables_geojson,
        crate::api::stations_geojson,
        crate::api::import_notice,
        crate::api::preview_notice,
        crate::api::export_notice,
        crate::api::list_maintenance,
        crate::api::record_maintenance,
        crate::api::complete_maintenance,
        crate::api::list_assets,
        crate::api::create_asset,
        crate::api::get_asset,
        crate::api::update_asset,
        crate::api::import_assets,
        crate::api::assets_geojson,
        crate::api::assets_csv,
        crate::api::events,
        crate::api::list_alerts,
        crate::api::ack_alert,
        crate::api::watch_board,
        crate::api::chart,
        crate::api::briefing_svg,
        crate::api::briefing_png,
        crate::api::briefing_pdf,
        crate::api::repairs_board,
        crate::api::set_repair,
        crate::api::set_ship_state,
        crate::api::resilience,
        crate::api::what_if,
        crate::api::contingencies,
        crate::api::figures,
        crate::api::set_figure,
        crate::api::my_tokens,
        crate::api::create_token,
        crate::api::revoke_token,
        crate::api::my_subscriptions,
        crate::api::create_subscription,
        crate::api::remove_subscription,
        crate::api::my_notifications,
        crate::api::outbox,
        crate::api::kiosks,
        crate::api::create_kiosk,
        crate::api::revoke_kiosk,
        crate::api::users,
        crate::api::audit,
        crate::api::list_exercises,
        crate::api::create_exercise,
        crate::api::get_exercise,
        crate::api::exercise_report,
        crate::api::exercise_report_csv,
    ),
    components(schemas(ApiError, ErrorCode)),
    modifiers(&FromPolicy),
    tags(
        (name = "faults", description = "The fault registry"),
        (name = "notices", description = "The ministry's notice: import, preview, export"),
        (name = "maintenance", description = "Planned maintenance on cables"),
        (name = "assets", description = "Backup assets: satellite, microwave, hardened base stations, HAPS, ships"),
        (name = "watch", description = "Alerts, the status board and the live event stream"),
        (name = "resilience", description = "Island capacity against demand, what-if cuts, figures"),
        (name = "repairs", description = "Repair estimates and repair ships"),
        (name = "briefing", description = "Charts and the one-page briefing"),
        (name = "exercises", description = "Exercises on a layer over the live picture"),
        (name = "reference", description = "Cables and landing stations (public sources)"),
        (name = "notifications", description = "Subscriptions and their messages"),
        (name = "account", description = "Sign-in, password, API tokens"),
        (name = "access", description = "Users, kiosk screens, the audit trail (admins)"),
        (name = "operations", description = "Health, readiness, this document"),
    )
)]
struct ApiDoc;

// Its route is added beside the API's own in `web`: this module reads
// `api`'s annotations, so `api` does not import it.
/// `GET /api/v1/openapi.json`: this API's OpenAPI 3.1 document
/// ([`crate::openapi`]), rendered once.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi_json",
    tag = "operations",
    responses((status = 200, description = "This document (OpenAPI 3.1)", body = Object))
)]
pub async fn serve() -> axum::response::Response {
    use axum::response::IntoResponse;
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOC.get_or_init(json).clone();
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as pretty JSON with a final newline (as checked in).
pub fn json() -> String {
    match document().to_pretty_json() {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        // Serialising a tree of maps and strings cannot fail; say so if it did.
        Err(e) => format!("{{\"error\": \"the OpenAPI document: {e}\"}}\n"),
    }
}

/// The security schemes a signed route accepts.
const SESSION: &str = "session";
const BEARER: &str = "bearer";

/// Shared error answers, in `components/responses`.
/// (The 413 answer, which names the body limit, is written in `modify`.)
const SHARED: [(&str, ErrorCode, &str); 7] = [
    (
        "Unauthorized",
        ErrorCode::Unauthorized,
        "Not signed in: no session cookie or API token, or one that has ended (`unauthorized`)",
    ),
    (
        "Forbidden",
        ErrorCode::Forbidden,
        "A role that may not do this, or a write with the session cookie from another \
         origin (`forbidden`)",
    ),
    (
        "RateLimited",
        ErrorCode::RateLimited,
        "Too many attempts; `Retry-After` says when to try again (`rate_limited`)",
    ),
    (
        "Busy",
        ErrorCode::Busy,
        "The write waited its limit behind other writes and was not made (`busy`)",
    ),
    (
        "StorageFull",
        ErrorCode::StorageFull,
        "The database could not store the write; nothing of it was kept (`storage_full`)",
    ),
    (
        "Internal",
        ErrorCode::Internal,
        "Something failed on the server; the log says what (`internal`)",
    ),
    (
        "ExerciseRefused",
        ErrorCode::Conflict,
        "The request names an exercise that is not running, or this write cannot be made \
         inside an exercise (`conflict`); nothing was written",
    ),
];

/// Adds what the access policy decides to every operation.
struct FromPolicy;

impl Modify for FromPolicy {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Components::new);
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "The session of a sign-in (`POST /api/v1/session` or the sign-in page); \
                 a write sent with it must come from this origin (`Origin` or \
                 `Sec-Fetch-Site`)",
            ))),
        );
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (`POST /api/v1/me/tokens`): `Authorization: Bearer …`",
                    ))
                    .build(),
            ),
        );
        let too_large = format!(
            "The body is larger than the limit, {} MiB (`too_large`)",
            crate::error::BODY_LIMIT / (1024 * 1024)
        );
        let answers =
            SHARED
                .iter()
                .copied()
                .chain([("TooLarge", ErrorCode::TooLarge, too_large.as_str())]);
        for (name, code, description) in answers {
            components.responses.insert(
                name.to_string(),
                RefOr::T(error_response(description, code)),
            );
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            let ops = [
                ("GET", &mut item.get),
                ("POST", &mut item.post),
                ("PUT", &mut item.put),
                ("PATCH", &mut item.patch),
                ("DELETE", &mut item.delete),
            ];
            for (method, op) in ops {
                if let Some(op) = op.as_mut() {
                    apply(method, path, op);
                }
            }
        }
    }
}

/// Whether an API token (of any role) may be what a route needs: tokens
/// never manage the account they belong to.
pub fn tokens_may(need: Need) -> bool {
    match need {
        Need::Signed(cap) => Role::ALL.iter().any(|&role| {
            Principal {
                id: 0,
                name: String::new(),
                role,
                kind: PrincipalKind::Token,
            }
            .can(cap)
        }),
        Need::Public | Need::Feed | Need::Metrics => true,
    }
}

/// The exercise a request may name (see `crate::in_exercise`): the header
/// everywhere, `?exercise=` on reads.
fn exercise_parameters(method: &axum::http::Method, path: &str, op: &mut Operation) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ObjectBuilder, Required, Type};
    let read = *method == axum::http::Method::GET;
    let what = if read {
        "See this as the running exercise with this number shows it (its layer over \
         reality; a route that does not know exercises shows reality)"
    } else if policy::in_exercise_writes(method, path) {
        "Make this write inside the running exercise with this number: it goes to the \
         exercise's layer, never to reality"
    } else {
        "This write cannot be made inside an exercise: naming one is refused (409)"
    };
    let integer = || {
        ObjectBuilder::new().schema_type(Type::Integer).format(Some(
            utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int64),
        ))
    };
    let mut params = vec![ParameterBuilder::new()
        .name(shared::exercise::HEADER)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(what))
        .schema(Some(integer()))
        .build()];
    if read {
        params.push(
            ParameterBuilder::new()
                .name(shared::exercise::PARAM)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(what))
                .schema(Some(integer()))
                .build(),
        );
    }
    op.parameters.get_or_insert_with(Vec::new).extend(params);
}

fn error_response(description: &str, code: ErrorCode) -> Response {
    let schema: RefOr<utoipa::openapi::schema::Schema> =
        RefOr::Ref(Ref::from_schema_name("ApiError"));
    let example = serde_json::json!({ "error": code, "message": description });
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::builder()
                .schema(Some(schema))
                .example(Some(example))
                .build(),
        )
        .build()
}

/// The policy's answers for one operation. A route with no rule gets none:
/// the completeness test then fails on it.
fn apply(method: &str, path: &str, op: &mut Operation) {
    let Ok(m) = method.parse::<axum::http::Method>() else {
        return;
    };
    let Some(need) = policy::need(&m, path) else {
        return;
    };
    let mut add = |status: &str, name: &str| {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    };
    let who = match need {
        Need::Public => "Who: anyone.".to_string(),
        Need::Signed(cap) => {
            let roles: Vec<&str> = Role::ALL
                .iter()
                .filter(|r| r.can(cap))
                .map(|r| r.as_str())
                .collect();
            format!("Who: {} (`{cap:?}`).", roles.join(", "))
        }
        Need::Feed => "Who: signed-in readers, or anyone with `--public-feeds`.".to_string(),
        Need::Metrics => "Who: admins, or addresses in `--metrics-from`.".to_string(),
    };
    if !matches!(need, Need::Public) {
        let mut schemes = vec![SecurityRequirement::new(SESSION, Vec::<String>::new())];
        if tokens_may(need) {
            schemes.push(SecurityRequirement::new(BEARER, Vec::<String>::new()));
        }
        op.security = Some(schemes);
        add("401", "Unauthorized");
    }
    // A role (or an API token) without the capability is refused, and so
    // is a write sent with the session cookie from another origin (CSRF).
    if let Need::Signed(cap) = need {
        let refused = Role::ALL.iter().any(|r| !r.can(cap)) || !tokens_may(need);
        if refused || m != axum::http::Method::GET {
            add("403", "Forbidden");
        }
    }
    if op.request_body.is_some() {
        add("413", "TooLarge");
    }
    if !matches!(need, Need::Public) {
        // Naming an exercise that is not running, or one on a write that
        // cannot be made inside an exercise, is refused before the handler.
        if m != axum::http::Method::GET {
            add("409", "ExerciseRefused");
        }
    }
    if crate::lane::writes(&m, path) {
        add("503", "Busy");
        add("507", "StorageFull");
    }
    add("500", "Internal");
    if !matches!(need, Need::Public) {
        exercise_parameters(&m, path, op);
    }
    op.description = Some(match op.description.take() {
        Some(d) if !d.is_empty() => format!("{d}\n\n{who}"),
        _ => who,
    });
}
