#!/usr/bin/env bash
# Starts/stops the local runner (sluice-local run) in the background.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
PID="$LOCAL/runner.pid"
mkdir -p "$LOCAL/logs"

running() { [ -f "$PID" ] && kill -0 "$(cat "$PID")" 2>/dev/null; }

# Stops the runner and waits until it has let go of its ports (it finishes the batch
# in hand first); a runner that will not stop within 30 s is killed.
stop_runner() {
  running || { rm -f "$PID"; return 0; }
  local pid; pid="$(cat "$PID")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$PID"
  echo "[runner] stopped" >&2
}

case "${1:-}" in
  start)
    runner="$2"; api_url="$3"
    stop_runner
    set -a; . "$LOCAL/services.env"; . "$LOCAL/stack.env"; API_URL="$api_url"; RUST_LOG_TIME=1; set +a
    nohup "$runner" run >>"$LOCAL/logs/runner.log" 2>&1 &
    pid=$!
    echo "$pid" > "$PID"
    for _ in $(seq 1 120); do
      kill -0 "$pid" 2>/dev/null || break
      curl -fsS "$api_url/health" >/dev/null 2>&1 && exit 0
      sleep 0.5
    done
    echo "the runner did not come up; see .local/logs/runner.log" >&2; tail -20 "$LOCAL/logs/runner.log" >&2; exit 1
    ;;
  stop)
    stop_runner
    ;;
  status)
    running && echo "runner: up (pid $(cat "$PID"))" || echo "runner: down"
    ;;
  summary)
    set -a; . "$LOCAL/stack.env"; set +a
    cat <<TXT

Sluice is running locally.
  web app         $API_URL/   (sign in as anyone: the local sign-in)
  PostgreSQL      $DATABASE_URL
  AWS (moto)      $AWS_ENDPOINT_URL
  HTTP API        $API_URL/v1/...   (token: make token AS=you TIER=basic TEAM=1)
  health          $API_URL/health
  uploads bucket  s3://$UPLOAD_BUCKET/uploads/{companies,kpis,dealflow}/
  ingest-validator  <- $UPLOADS_QUEUE_URL (S3 notifications)
  etl-transformer   <- $ETL_QUEUE_URL
  price-updater     <- $PRICE_JOBS_QUEUE_URL + schedules (make tick NAME=daily-quotes)
  fake FMP vendor   $FMP_BASE_URL
  events topic      $EVENTS_TOPIC_ARN (tap: $EVENTS_TAP_QUEUE_URL)
  sse-notifier      <- ${SSE_EVENTS_QUEUE_URL:-}; streams at $API_URL/v1/events/stream
  portfolio-analyst <- ${PORTFOLIO_EVENTS_QUEUE_URL:-} (DatasetLoaded: KPI alerts, deal scores)
  notifier          <- ${NOTIFIER_EVENTS_QUEUE_URL:-} + ${WEBHOOK_RETRY_QUEUE_URL:-} (e-mail in moto's SES, webhooks)
  settings        .local/stack.env     logs: make logs     stop: make down

Try it:
  set -a; . .local/stack.env; set +a
  .local/venv/bin/aws --endpoint-url \$AWS_ENDPOINT_URL s3 cp my-kpis.csv s3://\$UPLOAD_BUCKET/uploads/kpis/my-kpis.csv
TXT
    ;;
  *) echo "usage: $0 start RUNNER API_URL | stop | status | summary" >&2; exit 2 ;;
esac
