//! The SAKURA Cloud account: `cloud.credentials` (the API key is accepted),
//! `cloud.permission` (its level lets the controller do its work) and `cloud.zone`.

use super::{Finding, Status, finding, ids};
use crate::doctor::facts::ApiFailure;
use crate::doctor::messages::{Message, SetupMessage};

/// `cloud.credentials`: 401/403 mean refused; anything else that failed means unreachable.
pub fn credentials(auth: &Result<sacloud::AuthStatus, ApiFailure>) -> Finding {
    match auth {
        Ok(a) => finding(
            ids::CLOUD_CREDENTIALS,
            Status::Ok,
            Message::Setup(SetupMessage::CredentialsOk {
                account: a.account.name.clone(),
                account_id: a.account.id.0,
            }),
        ),
        Err(f) if matches!(f.status, Some(401 | 403)) => finding(
            ids::CLOUD_CREDENTIALS,
            Status::Fail,
            Message::Setup(SetupMessage::CredentialsRefused {
                error: f.message.clone(),
            }),
        ),
        Err(f) => finding(
            ids::CLOUD_CREDENTIALS,
            Status::Fail,
            Message::Setup(SetupMessage::CloudUnreachable {
                error: f.message.clone(),
            }),
        ),
    }
}

/// `cloud.permission`, with the controller's own start rule: `view` and `arrange` stop it when
/// it manages load balancers; an unknown level is only a warning.
pub fn permission(level: &str, load_balancers: bool) -> Finding {
    let level = level.to_owned();
    if !load_balancers || level == "create" {
        return finding(
            ids::CLOUD_PERMISSION,
            Status::Ok,
            Message::Setup(SetupMessage::PermissionOk {
                permission: level,
                load_balancers,
            }),
        );
    }
    if matches!(level.as_str(), "view" | "arrange") {
        finding(
            ids::CLOUD_PERMISSION,
            Status::Fail,
            Message::Setup(SetupMessage::PermissionTooLow { permission: level }),
        )
    } else {
        finding(
            ids::CLOUD_PERMISSION,
            Status::Warn,
            Message::Setup(SetupMessage::PermissionUnknown { permission: level }),
        )
    }
}

/// `cloud.zone`.
pub fn zone_check(zone: &str, info: &Result<sacloud::api::zone::ZoneInfo, ApiFailure>) -> Finding {
    match info {
        Ok(z) if z.is_dummy => finding(
            ids::CLOUD_ZONE,
            Status::Warn,
            Message::Setup(SetupMessage::ZoneSandbox {
                zone: zone.to_owned(),
            }),
        ),
        Ok(z) => finding(
            ids::CLOUD_ZONE,
            Status::Ok,
            Message::Setup(SetupMessage::ZoneOk {
                zone: zone.to_owned(),
                description: z.description.clone(),
            }),
        ),
        Err(e) => finding(
            ids::CLOUD_ZONE,
            Status::Fail,
            Message::Setup(SetupMessage::ZoneUnknown {
                zone: zone.to_owned(),
                error: e.message.clone(),
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::*;
    use serde_json::json;

    #[test]
    fn credentials_verdicts() {
        let ok = credentials(&Ok(sacloud::AuthStatus::default()));
        assert_eq!(ids_and_status(&ok), (ids::CLOUD_CREDENTIALS, Status::Ok));
        for (status, refused) in [
            (Some(401), true),
            (Some(403), true),
            (Some(500), false),
            (None, false),
        ] {
            let f = credentials(&Err(ApiFailure {
                status,
                message: "x".into(),
            }));
            assert_eq!(f.status, Status::Fail);
            assert_eq!(
                matches!(
                    f.message,
                    Message::Setup(SetupMessage::CredentialsRefused { .. })
                ),
                refused,
                "{status:?}"
            );
        }
    }

    #[test]
    fn permission_follows_the_controllers_start_rule() {
        assert_eq!(permission("create", true).status, Status::Ok);
        assert_eq!(permission("view", true).status, Status::Fail);
        assert_eq!(permission("arrange", true).status, Status::Fail);
        assert_eq!(permission("owner-ish", true).status, Status::Warn);
        assert_eq!(permission("view", false).status, Status::Ok, "LBs off");
    }

    #[test]
    fn zone_verdicts() {
        let info: sacloud::api::zone::ZoneInfo = from(json!({"ID": 1, "Name": "is1a"}));
        assert_eq!(zone_check("is1a", &Ok(info.clone())).status, Status::Ok);
        let dummy = sacloud::api::zone::ZoneInfo {
            is_dummy: true,
            ..info
        };
        assert_eq!(zone_check("tk1v", &Ok(dummy)).status, Status::Warn);
        let err = zone_check(
            "is1a",
            &Err(ApiFailure {
                status: Some(404),
                message: "nope".into(),
            }),
        );
        assert_eq!(err.status, Status::Fail);
    }
}
