//! The port the server functions call (server side only). The server crate
//! implements it on its registry, so the UI never sees SQL and REST handlers
//! and server functions share one service.

use std::sync::Arc;

use shared::api::{ApiError, FaultDetail, NoticeReport};
use shared::fault::{Fault, FaultForm};
use shared::notice::MaintenanceLine;
use shared::reference::Cable;

#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    async fn faults(&self, all: bool) -> Result<Vec<Fault>, ApiError>;
    fn cables(&self) -> Vec<Cable>;
    async fn fault(&self, id: i64) -> Result<FaultDetail, ApiError>;
    async fn create_fault(&self, actor: &str, form: &FaultForm) -> Result<Fault, ApiError>;
    async fn update_fault(
        &self,
        actor: &str,
        id: i64,
        version: i64,
        form: &FaultForm,
    ) -> Result<Fault, ApiError>;
    async fn preview_notice(&self, text: &str) -> Result<NoticeReport, ApiError>;
    async fn import_notice(&self, actor: &str, text: &str) -> Result<NoticeReport, ApiError>;
    async fn maintenance(&self) -> Result<Vec<MaintenanceLine>, ApiError>;
}

pub type SharedBackend = Arc<dyn Backend>;
