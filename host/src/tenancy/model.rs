use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;

use crate::id_type;

id_type!(
    /// A tenant: one finance company using the platform.
    TenantId
);
id_type!(
    /// A user within a tenant.
    UserId
);
id_type!(
    /// An API token.
    TokenId
);

/// A tenant (one customer company).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    /// IANA time zone deciding "today" for the tenant (default `Europe/Moscow`).
    pub time_zone: String,
    pub created_at: DateTime<Utc>,
}

/// The main role of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages users, tokens and tenant configuration; may do everything.
    Admin,
    /// Head of sales/collections: reads and edits everything, reads the audit log.
    Head,
    /// Works their own clients, deals and tasks.
    Manager,
}

/// A department role held in addition to the main role (used by approval routes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Department {
    Legal,
    Security,
    Credit,
    Risk,
}

macro_rules! str_enum {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            pub fn as_str(&self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
        }
        impl ::std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($s => Ok(Self::$v),)*
                    other => Err(format!("unknown value `{other}`; expected one of: {}", [$($s),*].join(", "))),
                }
            }
        }
        impl ::std::fmt::Display for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        $crate::text_enum_sql!($t);
    };
}
pub(crate) use str_enum;

str_enum!(Role { Admin => "admin", Head => "head", Manager => "manager" });

/// A user of a tenant.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    #[schema(value_type = Vec<Department>)]
    pub departments: Json<Vec<Department>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

/// An API token as listed: never the secret, which is shown once at issue.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A newly issued token. `token` is shown this once and cannot be recovered.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    #[serde(flatten)]
    pub info: ApiToken,
    /// The bearer token. Store it now: only its hash is kept.
    pub token: String,
}
