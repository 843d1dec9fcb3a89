//! What each role may do. The matrix is documented in `docs/api.md#roles`.

use crate::api::error::{ApiError, ApiResult};

use super::model::{Department, Role, TenantId, UserId};

/// The authenticated caller of a request: every store call is scoped by its tenant.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub role: Role,
    pub departments: Vec<Department>,
    pub name: String,
    /// The tenant's IANA time zone: it decides what "today" is for this caller.
    pub time_zone: String,
    pub request_id: Option<String>,
}

/// Things a role may or may not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Create users, change roles, archive users; issue or revoke other users' tokens.
    ManageUsers,
    /// Change tenant settings, pipelines, stages and our legal entities.
    Configure,
    /// Create and edit CRM records (managers: only their own, see [`Caller::ensure_owns`]).
    WriteCrm,
    /// Read the audit log.
    ReadAudit,
    /// Cancel background jobs and change their schedules.
    ManageJobs,
}

impl Role {
    pub fn allows(self, action: Action) -> bool {
        match (self, action) {
            (Role::Admin, _) => true,
            (Role::Head, Action::WriteCrm | Action::ReadAudit) => true,
            (Role::Head, Action::ManageUsers | Action::Configure | Action::ManageJobs) => false,
            (Role::Manager, Action::WriteCrm) => true,
            (Role::Manager, _) => false,
        }
    }
}

impl Caller {
    pub fn ensure(&self, action: Action) -> ApiResult<()> {
        if self.role.allows(action) {
            Ok(())
        } else {
            let what = match action {
                Action::ManageUsers => "managing users and other users' tokens",
                Action::Configure => "changing tenant configuration (pipelines, stages, our legal entities, document templates)",
                Action::WriteCrm => "editing CRM records",
                Action::ReadAudit => "reading the audit log",
                Action::ManageJobs => "cancelling background jobs or changing their schedules",
            };
            Err(ApiError::Forbidden(format!(
                "Your role `{}` does not allow {what}; ask an admin.",
                self.role
            )))
        }
    }

    /// Managers may change only records they own (responsible, assignee, author or
    /// uploader, or a record with no owner yet); heads and admins may change any.
    pub fn ensure_owns(&self, owners: &[Option<UserId>], what: &str) -> ApiResult<()> {
        self.ensure(Action::WriteCrm)?;
        if self.role != Role::Manager {
            return Ok(());
        }
        let owned = owners.iter().all(|o| o.is_none()) || owners.contains(&Some(self.user_id));
        if owned {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "This {what} is someone else's (responsible, assignee or author); ask them or a head to change it."
            )))
        }
    }

    /// Today in the tenant's time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        today_in(&self.time_zone)
    }

    pub fn is_lead(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Head)
    }
}

/// Today in an IANA time zone (Europe/Moscow when the name is unknown).
pub fn today_in(time_zone: &str) -> chrono::NaiveDate {
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Europe::Moscow);
    chrono::Utc::now().with_timezone(&tz).date_naive()
}
