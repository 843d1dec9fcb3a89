use crate::audit::Actor;
use crate::db::Conn;
use crate::tenancy::TenantId;
pub async fn seed_default(_c: &mut Conn<'_>, _t: TenantId, _a: &Actor) -> sqlx::Result<()> { Ok(()) }
