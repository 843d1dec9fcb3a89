//! Time as the host sees it. (`std::time::SystemTime` is not available in the
//! sandbox.)

use crate::__private::notification_channel::crm::plugin::clock as wit;
use crate::Date;

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    wit::now_ms()
}

/// Today in the tenant's time zone, `YYYY-MM-DD`.
pub fn today() -> Date {
    wit::today()
}
