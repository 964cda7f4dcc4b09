//! Embeddings on the fake model server, in the two real wire formats:
//!
//! - OpenAI-compatible `POST /v1/embeddings` (`{"model", "input": [..]}` ->
//!   `{"data": [{"embedding", "index"}], "usage"}`), with OpenAI's error body;
//! - Bedrock `InvokeModel` for Amazon Titan Text Embeddings v2
//!   (`POST /model/{modelId}/invoke`, `{"inputText", "dimensions", "normalize"}` ->
//!   `{"embedding", "inputTextTokenCount"}`).
//!
//! The vectors are deterministic: each lower-cased word is hashed into one of the
//! dimensions (a bag of words), then the vector is scaled to length 1. Texts that share
//! words are close, so retrieval tests through the fake are meaningful.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// The dimension when a request names none.
pub const DEFAULT_DIMENSIONS: usize = 256;

/// The fake's embedding of `text` in `dims` dimensions (unit length; zero for no words).
pub fn fake_embedding(text: &str, dims: usize) -> Vec<f32> {
    let mut v = vec![0f32; dims.max(1)];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
    {
        // FNV-1a: stable across runs and platforms.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in word.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let len = v.len() as u64;
        v[(h % len) as usize] += 1.0;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

fn openai_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"message": message, "type": "invalid_request_error"}})),
    )
        .into_response()
}

pub(crate) async fn openai_embeddings(body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return openai_error(StatusCode::BAD_REQUEST, "body is not JSON");
    };
    let inputs: Vec<String> = match request.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => match items.iter().map(|i| i.as_str().map(str::to_owned)).collect() {
            Some(v) => v,
            None => return openai_error(StatusCode::BAD_REQUEST, "input must be strings"),
        },
        _ => return openai_error(StatusCode::BAD_REQUEST, "input is required"),
    };
    let Some(model) = request.get("model").and_then(Value::as_str) else {
        return openai_error(StatusCode::BAD_REQUEST, "model is required");
    };
    let dims = request
        .get("dimensions")
        .and_then(Value::as_u64)
        .map_or(DEFAULT_DIMENSIONS, |d| d as usize);
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| json!({"object": "embedding", "index": i, "embedding": fake_embedding(text, dims)}))
        .collect();
    let tokens: usize = inputs.iter().map(|t| t.chars().count().div_ceil(4)).sum();
    Json(json!({
        "object": "list", "model": model, "data": data,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }))
    .into_response()
}

pub(crate) async fn bedrock_invoke(Path(model_id): Path<String>, body: Bytes) -> Response {
    let bedrock_error = |message: &str| {
        (
            StatusCode::BAD_REQUEST,
            [("x-amzn-ErrorType", "ValidationException")],
            Json(json!({"message": message})),
        )
            .into_response()
    };
    if !model_id.starts_with("amazon.titan-embed") {
        return bedrock_error("the fake serves Titan embedding models only");
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return bedrock_error("Malformed input request");
    };
    let Some(text) = request.get("inputText").and_then(Value::as_str) else {
        return bedrock_error("inputText is required");
    };
    let dims = request.get("dimensions").and_then(Value::as_u64).unwrap_or(1024) as usize;
    if ![256, 512, 1024].contains(&dims) {
        return bedrock_error("dimensions must be 256, 512 or 1024");
    }
    Json(json!({
        "embedding": fake_embedding(text, dims),
        "inputTextTokenCount": text.chars().count().div_ceil(4),
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_words_are_close() {
        let a = fake_embedding("apple revenue grew", 64);
        let b = fake_embedding("Revenue of Apple", 64);
        let c = fake_embedding("tesla factory", 64);
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
        assert!(dot(&a, &b) > dot(&a, &c));
        assert!((dot(&a, &a) - 1.0).abs() < 1e-5);
    }
}
