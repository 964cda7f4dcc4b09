//! `send_with_retry` against a scripted server on a local port. Assertions are on outcomes
//! (errors, bodies, requests the server saw, hook calls), never on durations.

use sluice_core::retry::Backoff;
use sluice_vendor_http::{send_with_retry, BeforeSend, SendError, Transient};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const QUICK: Backoff = Backoff {
    max_attempts: 3,
    base: Duration::from_millis(1),
    max: Duration::from_millis(5),
};

/// One scripted answer.
#[derive(Clone)]
enum Answer {
    Status {
        status: u16,
        headers: Vec<(&'static str, &'static str)>,
        body: &'static str,
        chunked: bool,
    },
    /// Accepts the request and never answers.
    Stall,
}

fn status(status: u16, body: &'static str) -> Answer {
    Answer::Status {
        status,
        headers: Vec::new(),
        body,
        chunked: false,
    }
}

fn throttled(status: u16) -> Answer {
    Answer::Status {
        status,
        headers: vec![("retry-after", "0")],
        body: "",
        chunked: false,
    }
}

struct Server {
    base: String,
    /// The head of every request received, in order.
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn seen(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// Serves `script` in order, one answer per connection; the last answer repeats.
async fn serve(script: Vec<Answer>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    tokio::spawn(async move {
        let mut next = 0;
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let answer = script[next.min(script.len() - 1)].clone();
            next += 1;
            let seen = seen.clone();
            tokio::spawn(answer_one(socket, answer, seen));
        }
    });
    Server { base, requests }
}

async fn answer_one(mut socket: TcpStream, answer: Answer, seen: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match socket.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    seen.lock().unwrap().push(String::from_utf8_lossy(&head).into_owned());
    let Answer::Status {
        status,
        headers,
        body,
        chunked,
    } = answer
    else {
        std::future::pending::<()>().await;
        return;
    };
    let mut out = format!("HTTP/1.1 {status} Scripted\r\nconnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if chunked {
        out.push_str(&format!(
            "transfer-encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        ));
    } else {
        out.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    }
    let _ = socket.write_all(out.as_bytes()).await;
    let _ = socket.shutdown().await;
}

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

type Outcome = Result<bytes::Bytes, SendError<String>>;

async fn get(server: &Server, backoff: Backoff, hook: Option<&BeforeSend<'_, String>>, cap: Option<u64>) -> Outcome {
    let http = client(Duration::from_secs(10));
    let url = format!("{}/stable/quote?symbol=AAPL", server.base);
    send_with_retry(|| http.get(&url).header("apikey", "secret-key"), backoff, hook, cap).await
}

/// A plain GET of `url` with no hook and no cap; only its error is of interest.
async fn get_failing(url: &str, timeout: Duration, backoff: Backoff) -> SendError<String> {
    let http = client(timeout);
    let outcome: Outcome = send_with_retry(|| http.get(url), backoff, None, None).await;
    match outcome {
        Ok(body) => panic!("unexpectedly served {body:?}"),
        Err(error) => error,
    }
}

#[tokio::test]
async fn throttling_is_waited_out_and_the_hook_runs_before_every_attempt() {
    let server = serve(vec![throttled(429), throttled(503), status(200, "[1,2]")]).await;
    let attempts = Mutex::new(Vec::new());
    let hook = |attempt: u32| -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + '_>> {
        attempts.lock().unwrap().push(attempt);
        Box::pin(async { Ok(()) })
    };
    let body = get(&server, QUICK, Some(&hook), None).await.unwrap();
    assert_eq!(&body[..], b"[1,2]");
    assert_eq!(*attempts.lock().unwrap(), [1, 2, 3]);
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    // Every attempt is the whole request again: path, query and the key's header.
    for head in &seen {
        assert!(head.starts_with("GET /stable/quote?symbol=AAPL "), "{head}");
        assert!(head.to_ascii_lowercase().contains("apikey: secret-key"), "{head}");
    }
}

#[tokio::test]
async fn persistent_failures_end_after_the_last_attempt() {
    let server = serve(vec![status(500, "boom")]).await;
    let err = get(&server, QUICK, None, None).await.unwrap_err();
    assert!(
        matches!(
            err,
            SendError::Exhausted {
                attempts: 3,
                last: Transient::Unavailable { status: 500 }
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.seen().len(), 3);

    let server = serve(vec![throttled(503)]).await;
    let err = get(&server, QUICK, None, None).await.unwrap_err();
    match err {
        SendError::Exhausted {
            attempts: 3,
            last: Transient::Throttled {
                status: 503,
                retry_after,
            },
        } => assert_eq!(retry_after, Some(Duration::ZERO)),
        other => panic!("{other:?}"),
    }

    let server = serve(vec![status(408, ""), status(200, "late")]).await;
    assert_eq!(&get(&server, QUICK, None, None).await.unwrap()[..], b"late");
}

#[tokio::test]
async fn other_client_errors_are_refused_at_once_with_their_body() {
    let server = serve(vec![
        status(404, "{\"message\":\"no such symbol\"}"),
        status(200, "never"),
    ])
    .await;
    let err = get(&server, QUICK, None, None).await.unwrap_err();
    match &err {
        SendError::Refused { status, body } => {
            assert_eq!(*status, 404);
            assert!(body.contains("no such symbol"), "{body}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.to_string(), "refused: HTTP 404 Not Found");
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused_by_length_or_by_counting() {
    let server = serve(vec![status(200, "0123456789abcdef")]).await;
    let err = get(&server, QUICK, None, Some(10)).await.unwrap_err();
    assert!(matches!(err, SendError::TooLarge { limit: 10 }), "{err:?}");
    assert_eq!(server.seen().len(), 1, "not retried");

    let streamed = Answer::Status {
        status: 200,
        headers: Vec::new(),
        body: "0123456789abcdef",
        chunked: true,
    };
    let server = serve(vec![streamed]).await;
    let err = get(&server, QUICK, None, Some(10)).await.unwrap_err();
    assert!(matches!(err, SendError::TooLarge { limit: 10 }), "{err:?}");
    assert_eq!(
        &get(&server, QUICK, None, Some(16)).await.unwrap()[..],
        b"0123456789abcdef"
    );
}

#[tokio::test]
async fn a_refusing_hook_stops_the_request_before_it_is_sent() {
    let server = serve(vec![status(200, "never")]).await;
    let hook = |_: u32| -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>> {
        Box::pin(async { Err("rate-limit table unreachable".to_owned()) })
    };
    let err = get(&server, QUICK, Some(&hook), None).await.unwrap_err();
    assert!(
        matches!(&err, SendError::BeforeSend(reason) if reason == "rate-limit table unreachable"),
        "{err:?}"
    );
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn unreachable_and_silent_servers_are_retried_then_reported() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = get_failing(&closed, Duration::from_secs(10), QUICK).await;
    let refused = matches!(
        err,
        SendError::Exhausted {
            attempts: 3,
            last: Transient::Transport(_)
        }
    );
    assert!(refused, "{err:?}");

    let server = serve(vec![Answer::Stall]).await;
    let two = Backoff {
        max_attempts: 2,
        ..QUICK
    };
    let err = get_failing(&server.base, Duration::from_millis(200), two).await;
    let timed_out = matches!(
        err,
        SendError::Exhausted {
            attempts: 2,
            last: Transient::Timeout
        }
    );
    assert!(timed_out, "{err:?}");
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn a_request_that_cannot_be_built_is_not_sent() {
    let err = get_failing("not a url", Duration::from_secs(10), QUICK).await;
    assert!(matches!(err, SendError::Request(_)), "{err:?}");
}
