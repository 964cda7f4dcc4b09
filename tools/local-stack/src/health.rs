//! A tiny HTTP front on API_URL. This issue's functions have no HTTP routes yet;
//! `GET /health` says what runs, so `make up` can prove the runner is alive.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub async fn serve(listener: TcpListener, status: serde_json::Value) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            continue;
        };
        let body = status.to_string();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let n = socket.read(&mut buf).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let (code, body) = if request.starts_with("GET /health ") {
                ("200 OK", body)
            } else {
                (
                    "404 Not Found",
                    r#"{"type":"about:blank","title":"Not Found","status":404}"#.to_owned(),
                )
            };
            let content_type = if code.starts_with("200") {
                "application/json"
            } else {
                "application/problem+json"
            };
            let response = format!(
                "HTTP/1.1 {code}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        });
    }
}
