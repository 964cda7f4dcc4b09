//! AWS SDK clients, built once per instance. `AWS_ENDPOINT_URL` (the moto server
//! locally) is honoured by the SDK itself; S3 then needs path-style addressing.

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

/// The SDK configuration of this process: credentials, region and endpoint from the
/// environment (Lambda's, or `.local/services.env` locally).
pub async fn sdk_config() -> SdkConfig {
    loader().load().await
}

/// The one way an SDK configuration is started, so every client, the tests' included,
/// uses the same HTTP client: rustls with ring, the TLS stack of the whole workspace.
pub fn loader() -> ConfigLoader {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(https)
}

pub fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = config.endpoint_url().is_some();
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

pub fn sqs(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(config)
}

pub fn sns(config: &SdkConfig) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(config)
}

pub fn secrets(config: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(config)
}
