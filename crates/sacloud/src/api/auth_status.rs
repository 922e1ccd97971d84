//! `GET auth-status`: who the credentials belong to and what they may do.

use reqwest::Method;
use serde::Deserialize;

use crate::client::{Client, Request};
use crate::error::Error;
use crate::wire::{Id, null_as_default};

/// The account the API key belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Account {
    /// Account ID.
    #[serde(rename = "ID", default)]
    pub id: Id,
    /// Account name.
    #[serde(rename = "Name", default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Account code.
    #[serde(rename = "Code", default, deserialize_with = "null_as_default")]
    pub code: String,
    /// Account class, e.g. `account`.
    #[serde(rename = "Class", default, deserialize_with = "null_as_default")]
    pub class: String,
}

/// The member (user) behind the key.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Member {
    /// Member code.
    #[serde(rename = "Code", default, deserialize_with = "null_as_default")]
    pub code: String,
    /// Member class.
    #[serde(rename = "Class", default, deserialize_with = "null_as_default")]
    pub class: String,
}

/// The answer of `GET auth-status` (fields at the top level, not enveloped).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct AuthStatus {
    /// The account.
    #[serde(rename = "Account", default)]
    pub account: Account,
    /// The member.
    #[serde(rename = "Member", default)]
    pub member: Option<Member>,
    /// `account` for account keys.
    #[serde(rename = "AuthClass", default, deserialize_with = "null_as_default")]
    pub auth_class: String,
    /// `apikey` when authenticated with an API key.
    #[serde(rename = "AuthMethod", default, deserialize_with = "null_as_default")]
    pub auth_method: String,
    /// Whether the credentials are an API key.
    #[serde(rename = "IsAPIKey", default)]
    pub is_api_key: bool,
    /// Permission level: `create` (can create and delete), `arrange` (can change), `view`
    /// (read-only), ... A controller that manages load balancers needs `create`.
    #[serde(rename = "Permission", default, deserialize_with = "null_as_default")]
    pub permission: String,
    /// Permission for external services.
    #[serde(
        rename = "ExternalPermission",
        default,
        deserialize_with = "null_as_default"
    )]
    pub external_permission: String,
    /// `none` unless the account is restricted (for unpaid bills, for example).
    #[serde(
        rename = "OperationPenalty",
        default,
        deserialize_with = "null_as_default"
    )]
    pub operation_penalty: String,
}

impl AuthStatus {
    /// Whether the key may create and delete resources (needed for load balancers).
    pub fn can_create(&self) -> bool {
        self.permission == "create"
    }
}

impl Client {
    /// `GET auth-status`: checks the credentials. A 401 here means the token or secret is wrong.
    pub async fn auth_status(&self) -> Result<AuthStatus, Error> {
        let body = self
            .call(&Request::new(
                Method::GET,
                "auth-status",
                "auth-status".to_owned(),
            ))
            .await?;
        serde_json::from_value(serde_json::Value::Object(body)).map_err(|e| Error::Decode {
            method: "GET",
            path: "auth-status".to_owned(),
            message: e.to_string(),
        })
    }
}
