//! Server functions: the UI's calls to the server. Domain errors come back
//! as the inner `Result` so forms can show them next to their fields.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use shared::api::{ApiError, FaultDetail, NoticeReport};
use shared::fault::{Fault, FaultForm};
use shared::notice::MaintenanceLine;

/// A cable as the UI lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CableBrief {
    pub abbrev: String,
    pub notice_name: String,
    pub name_en: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultsPage {
    pub faults: Vec<Fault>,
    pub cables: Vec<CableBrief>,
}

#[cfg(feature = "ssr")]
fn backend() -> Result<crate::backend::SharedBackend, ServerFnError> {
    use_context::<crate::backend::SharedBackend>()
        .ok_or_else(|| ServerFnError::new("backend missing from context"))
}

/// The actor recorded for writes from the web UI. Until sign-in exists every
/// web write is attributed to the web UI itself.
#[cfg(feature = "ssr")]
const WEB_ACTOR: &str = "web";

#[server(prefix = "/api/fn", endpoint = "faults")]
pub async fn list_faults() -> Result<FaultsPage, ServerFnError> {
    let b = backend()?;
    let faults = b
        .faults(true)
        .await
        .map_err(|e| ServerFnError::new(e.message))?;
    let cables = b
        .cables()
        .iter()
        .map(|c| CableBrief {
            abbrev: c.abbrev.clone(),
            notice_name: c.notice_name(),
            name_en: c.name_en.clone(),
        })
        .collect();
    Ok(FaultsPage { faults, cables })
}

#[server(prefix = "/api/fn", endpoint = "fault")]
pub async fn get_fault(id: i64) -> Result<Result<FaultDetail, ApiError>, ServerFnError> {
    Ok(backend()?.fault(id).await)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveFaultRequest {
    /// `None` logs a new fault.
    pub id: Option<i64>,
    pub version: Option<i64>,
    pub form: FaultForm,
}

#[server(prefix = "/api/fn", endpoint = "save_fault", input = Json)]
pub async fn save_fault(req: SaveFaultRequest) -> Result<Result<Fault, ApiError>, ServerFnError> {
    let b = backend()?;
    Ok(match (req.id, req.version) {
        (Some(id), Some(version)) => b.update_fault(WEB_ACTOR, id, version, &req.form).await,
        (Some(_), None) => Err(ApiError::bad_request(
            "an edit needs the version it was made on",
        )),
        (None, _) => b.create_fault(WEB_ACTOR, &req.form).await,
    })
}

#[server(prefix = "/api/fn", endpoint = "preview_notice", input = Json)]
pub async fn preview_notice(text: String) -> Result<Result<NoticeReport, ApiError>, ServerFnError> {
    Ok(backend()?.preview_notice(&text).await)
}

#[server(prefix = "/api/fn", endpoint = "import_notice", input = Json)]
pub async fn import_notice(text: String) -> Result<Result<NoticeReport, ApiError>, ServerFnError> {
    Ok(backend()?.import_notice(WEB_ACTOR, &text).await)
}

#[server(prefix = "/api/fn", endpoint = "maintenance")]
pub async fn list_maintenance() -> Result<Vec<MaintenanceLine>, ServerFnError> {
    backend()?
        .maintenance()
        .await
        .map_err(|e| ServerFnError::new(e.message))
}
