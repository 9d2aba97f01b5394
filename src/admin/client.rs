//! A small client of the operator API, used by the CLI's admin commands.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens at the admin address (the daemon is not running).
    #[error("cannot reach the operator API at {0}: is `domain-os serve` running?")]
    Unreachable(String),
    #[error("{status}: {message}")]
    Api { status: StatusCode, code: String, message: String, body: Value },
    #[error("operator API: {0}")]
    Http(String),
}

pub struct AdminClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl AdminClient {
    pub fn new(base: String, token: String) -> Self {
        let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(3)).build().unwrap_or_default();
        AdminClient { base, token, http }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, ClientError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            request = request.json(b);
        }
        self.send(request).await
    }

    /// Sends raw text (zone file uploads).
    pub async fn upload(&self, path: &str, body: Vec<u8>) -> Result<Value, ClientError> {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "text/dns")
            .body(body);
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, ClientError> {
        let response = request
            .send()
            .await
            .map_err(|e| if e.is_connect() { ClientError::Unreachable(self.base.clone()) } else { ClientError::Http(e.to_string()) })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| ClientError::Http(e.to_string()))?;
        let body: Value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        if status.is_success() {
            return Ok(body);
        }
        let code = body["error"]["code"].as_str().unwrap_or("error").to_string();
        let message = body["error"]["message"].as_str().map(str::to_string).unwrap_or_else(|| body.to_string());
        Err(ClientError::Api { status, code, message, body })
    }
}
