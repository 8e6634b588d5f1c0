//! The SQS client's HTTP calls, sent through `reqwest`.
//!
//! The SDK's default client brings rustls with aws-lc (a C build) beside the native TLS the
//! engine already uses for Shopify. SQS requests are small and buffered, so this adapter
//! hands each signed request to `reqwest` and gives back the buffered answer: one TLS stack,
//! one connection pool per relay.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

#[derive(Debug, Clone)]
pub(super) struct ReqwestHttp {
    client: reqwest::Client,
    timeout: Option<Duration>,
}

impl ReqwestHttp {
    pub(super) fn new() -> reqwest::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder().build()?,
            timeout: None,
        })
    }

    /// Every request fails after `timeout` (a long poll's wait plus a margin).
    pub(super) fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

impl HttpConnector for ReqwestHttp {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        let timeout = self.timeout;
        HttpConnectorFuture::new(async move {
            let method = reqwest::Method::from_bytes(request.method().as_bytes())
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let mut builder = client.request(method, request.uri());
            for (name, value) in request.headers() {
                builder = builder.header(name, value);
            }
            if let Some(timeout) = timeout {
                builder = builder.timeout(timeout);
            }
            // SQS requests are small JSON documents, always in memory.
            let body = request
                .body()
                .bytes()
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            let response = builder.body(body).send().await.map_err(|e| {
                if e.is_timeout() {
                    ConnectorError::timeout(e.into())
                } else {
                    ConnectorError::io(e.into())
                }
            })?;
            let status = StatusCode::try_from(response.status().as_u16())
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                })
                .collect();
            let bytes = response.bytes().await.map_err(|e| {
                if e.is_timeout() {
                    ConnectorError::timeout(e.into())
                } else {
                    ConnectorError::io(e.into())
                }
            })?;
            let mut answer = HttpResponse::new(status, SdkBody::from(bytes.to_vec()));
            for (name, value) in headers {
                answer.headers_mut().append(name, value);
            }
            Ok(answer)
        })
    }
}

impl HttpClient for ReqwestHttp {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}
